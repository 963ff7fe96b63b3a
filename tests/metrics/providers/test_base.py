"""What every backend shares: settings checks and how HTTP answers become errors.

Covers: a credential asked for when the template names no Secret; the error text taken from the
body shapes backends use (Prometheus, InfluxDB, Datadog, plain text, empty) and cut to 256
characters; whitespace collapsed as Flagger sends queries.
"""

from __future__ import annotations

import httpx
import pytest

from serinus.errors import InvalidCanaryError
from serinus.metrics.providers import base
from serinus.metrics.providers.base import ProviderSettings


def test_credential_without_a_secret_ref_says_so(http):
    settings = ProviderSettings(kind="datadog", http=http, source="MetricTemplate prod/dd")
    with pytest.raises(InvalidCanaryError) as caught:
        settings.secret_value("datadog_api_key")
    assert str(caught.value) == (
        "MetricTemplate prod/dd: datadog needs the key datadog_api_key:"
        " spec.provider.secretRef is not set"
    )


@pytest.mark.parametrize(
    ("response", "text"),
    [
        (
            httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": "x"}),
            "bad_data: x",
        ),
        (
            httpx.Response(400, json={"code": "invalid", "message": "no bucket"}),
            "invalid: no bucket",
        ),
        (httpx.Response(403, json={"errors": ["Forbidden", "again"]}), "Forbidden: again"),
        (httpx.Response(502, text="  Bad Gateway\n"), "Bad Gateway"),
        (httpx.Response(500, text=""), "(empty body)"),
        (httpx.Response(500, text="x" * 1000), "x" * 256),
    ],
)
def test_error_text_from_each_body_shape(response, text):
    assert base.error_text(response) == text


def test_whitespace_is_collapsed_to_single_spaces():
    assert base.collapse_whitespace("\n\tsum(\n\t\trate(x[1m])\n\t)  * 100\n") == (
        "sum( rate(x[1m]) ) * 100"
    )
