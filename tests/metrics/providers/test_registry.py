"""The table of MetricTemplate provider types.

Covers: each type of Flagger's CRD builds its own backend; any unknown type is an error that names
it (nothing falls back to Prometheus).
"""

from __future__ import annotations

import pytest

from serinus.apis.metric_template import TEMPLATE_PROVIDERS
from serinus.errors import UnknownProviderError
from serinus.kube import Kube, KubeSettings
from serinus.metrics.providers import registry
from serinus.metrics.providers.base import ProviderSettings

SECRETS = {
    "datadog": {"datadog_api_key": "a", "datadog_application_key": "b"},
    "newrelic": {"newrelic_account_id": "1", "newrelic_query_key": "k"},
    "influxdb": {"token": "t", "org": "o"},
    "cloudwatch": {"aws_access_key_id": "a", "aws_secret_access_key": "b"},
    "stackdriver": {"project": "p"},
    "dynatrace": {"dynatrace_token": "t"},
    "splunk": {"sf_token_key": "t"},
}


@pytest.mark.parametrize("kind", sorted(registry.PROVIDERS))
def test_supported_types_build_their_backend(http, kind):
    settings = ProviderSettings(
        kind=kind,
        http=http,
        address="http://127.0.0.1:1",
        secret=SECRETS.get(kind),
        region="eu-west-1",
        kube=Kube(KubeSettings(server="http://127.0.0.1:1")),
    )
    assert registry.create(settings).kind == kind


@pytest.mark.parametrize("kind", [*registry.NOT_SUPPORTED, "prometheus2", ""])
def test_other_types_are_not_supported(http, kind):
    with pytest.raises(UnknownProviderError) as caught:
        registry.create(ProviderSettings(kind=kind, http=http, address="http://127.0.0.1:1"))
    assert str(caught.value) == f"metric provider {kind} is not supported"


def test_every_type_of_flaggers_list_has_a_backend():
    assert registry.NOT_SUPPORTED == ()
    assert set(registry.PROVIDERS) == set(TEMPLATE_PROVIDERS)
