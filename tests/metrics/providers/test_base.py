"""What every backend shares: settings checks and how HTTP answers become errors.

Covers: a credential asked for when the template names no Secret; the error text taken from the
body shapes backends use (Prometheus, InfluxDB, Datadog, plain text, empty) and cut to 256
characters; whitespace collapsed as Flagger sends queries; each exchange with a backend (a real
local server) timed with the backend's type, through both request paths (Prometheus' ``get``,
the others' ``send``): an answer held 50 ms is timed at least that long, a rejected query is timed
and raises as before, a throttled request is timed per attempt.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiohttp import web
from tests.metrics.providers.test_datadog import datadog, series
from tests.metrics.providers.test_prometheus import provider, vector_answer

from serinus.errors import InvalidCanaryError, QueryError
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


async def test_each_prometheus_query_is_timed_with_the_provider_type(serve, http):
    async def held(_):
        await asyncio.sleep(0.05)
        return vector_answer(({}, "99.9"))

    times: list[tuple[str, float]] = []
    server = await serve(held)
    prometheus = provider(server.address, http, timed=lambda *seen: times.append(seen))
    assert await prometheus.query("sum(up)") == 99.9
    assert [kind for kind, _ in times] == ["prometheus"]
    assert times[0][1] >= 0.05  # the answer was held that long: a lower bound, never an upper one


async def test_a_rejected_query_is_timed_and_raises_as_before(serve, http):
    times: list[tuple[str, float]] = []
    answer = {"status": "error", "errorType": "bad_data", "error": "parse error"}
    server = await serve(lambda _: web.json_response(answer, status=400))
    prometheus = provider(server.address, http, timed=lambda *seen: times.append(seen))
    with pytest.raises(QueryError, match=r"rejected the query \(HTTP 400\): bad_data: parse error"):
        await prometheus.query("sum(")
    assert [kind for kind, _ in times] == ["prometheus"]


async def test_each_attempt_of_a_throttled_query_is_timed(serve, http, clock_at):
    answers = iter([web.json_response({}, status=429, headers={"Retry-After": "0"})])
    server = await serve(lambda _: next(answers, None) or series([[1.8e12, 3.0]]))
    times: list[tuple[str, float]] = []
    client = datadog(http, clock_at, server.address, timed=lambda *seen: times.append(seen))
    assert await client.query("avg:latency{*}") == 3.0
    assert len(server.requests) == 2
    assert [kind for kind, _ in times] == ["datadog", "datadog"]
