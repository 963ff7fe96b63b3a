"""The built-in queries of every other mesh and ingress, run against a real Prometheus holding
that mesh's own series (promtool-backfilled, :mod:`tests.metrics.meshes`).

Covers, for contour, gloo, kuma, knative, appmesh (and appmesh:v1beta2), osm, traefik, apisix and
skipper: Flagger's ``request-success-rate`` and ``request-duration`` (in milliseconds) measure the
canary's traffic exactly and nothing else (each mesh has a decoy series a loose selector would
add), and the primary-side twins measure the primary's, except APISIX, whose one route carries
both sides; the Knative revisions come from the Service (the canary's is the query's ``route``).
"""

from __future__ import annotations

import pytest
from tests.metrics.meshes import EXPECTED

from serinus.metrics import observers
from serinus.metrics.providers.base import ProviderSettings
from serinus.metrics.providers.prometheus import PrometheusProvider
from serinus.metrics.templating import QueryModel

PROVIDERS = [*sorted(EXPECTED), "appmesh:v1beta2"]


def model(provider: str) -> QueryModel:
    namespace = provider.partition(":")[0]
    knative = provider == "knative"
    return QueryModel(
        name="podinfo",
        namespace=namespace,
        target="podinfo",
        service="podinfo",
        ingress="podinfo",
        route="podinfo-00002" if knative else "podinfo",
        interval="1m",
        primary_revision="podinfo-00001" if knative else None,
    )


@pytest.fixture
def prom(prometheus, http) -> PrometheusProvider:
    return PrometheusProvider(
        ProviderSettings(
            kind="prometheus", http=http, address=prometheus.address, clock=prometheus.clock
        )
    )


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_canary_is_measured_from_the_meshs_own_series(prom, provider):
    rate, duration, _, _ = EXPECTED[provider.partition(":")[0]]
    success = await prom.query(observers.success_rate_query(provider, model(provider)))
    latency = await prom.query(observers.duration_query(provider, model(provider)))
    assert success == pytest.approx(rate)
    assert latency * observers.duration_scale(provider) == pytest.approx(duration)


@pytest.mark.parametrize("provider", [p for p in PROVIDERS if not p.startswith("apisix")])
async def test_the_primary_twins_measure_the_primary(prom, provider):
    _, _, rate, duration = EXPECTED[provider.partition(":")[0]]
    twin = model(provider)
    success = await prom.query(observers.success_rate_query(provider, twin, side="primary"))
    latency = await prom.query(observers.duration_query(provider, twin, side="primary"))
    assert success == pytest.approx(rate)
    assert latency * observers.duration_scale(provider) == pytest.approx(duration)
