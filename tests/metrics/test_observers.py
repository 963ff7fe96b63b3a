"""Which built-in queries measure a Canary, and the forms built from them.

Covers: Flagger's choice of provider (the Canary's, the operator's, the Linkerd override, the
``:service`` suffix of Service targets); unknown providers are errors, never Istio; the primary-side
twins (rendered, and their values on real data for Linkerd, Istio, NGINX and the generic HTTP
metrics); providers whose metrics cannot tell the primary apart; the count form (total and failed
requests of each side) and the latency histogram form, rendered and measured; Linkerd's queries
select a StatefulSet target's pods by the ``statefulset`` label Linkerd gives them.
"""

from __future__ import annotations

import pytest

from serinus.errors import InvalidCanaryError, UnknownProviderError
from serinus.metrics import observers
from serinus.metrics.providers.base import ProviderSettings
from serinus.metrics.providers.prometheus import PrometheusProvider
from serinus.metrics.templating import QueryModel


def model(namespace: str, **fields) -> QueryModel:
    values = {
        "name": "podinfo",
        "namespace": namespace,
        "target": "podinfo",
        "service": "podinfo",
        "ingress": "podinfo",
        "route": "podinfo",
        "interval": "1m",
    }
    return QueryModel(**(values | fields))


@pytest.fixture
def prom(prometheus, http) -> PrometheusProvider:
    return PrometheusProvider(
        ProviderSettings(
            kind="prometheus", http=http, address=prometheus.address, clock=prometheus.clock
        )
    )


@pytest.mark.parametrize(
    ("spec", "default", "expected"),
    [
        ({}, "istio", "istio"),
        ({"provider": "nginx"}, "istio", "nginx"),
        ({"provider": "nginx"}, "linkerd", "linkerd"),  # Flagger's Linkerd override
        ({"provider": "gatewayapi:v1"}, "kubernetes", "gatewayapi:v1"),
        ({"targetRef": {"kind": "Service", "name": "podinfo"}}, "istio", "istio:service"),
    ],
)
def test_provider_follows_flaggers_rules(make_canary, spec, default, expected):
    canary = make_canary("prod", [], **spec)
    assert observers.metrics_provider(canary, default) == expected


@pytest.mark.parametrize(
    ("provider", "observer"),
    [
        ("kubernetes", "http"),
        ("gatewayapi", "http"),
        ("gatewayapi:v1beta1", "http"),
        ("appmesh:v1beta2", "appmesh"),
        ("smi:v1alpha3", "istio"),
        ("istio:service", "istio"),
    ],
)
def test_provider_aliases(provider, observer):
    assert observers.observer_name(provider) == observer


@pytest.mark.parametrize("provider", ["consul", "linkerd:service", "kubernetes:service", ""])
def test_unknown_provider_is_an_error_not_istio(provider):
    with pytest.raises(UnknownProviderError) as caught:
        observers.success_rate_query(provider, model("prod"))
    assert str(caught.value) == f"built-in metrics for provider {provider} is not supported"


@pytest.mark.parametrize(
    ("provider", "selector"),
    [
        (
            "linkerd",
            'response_total{namespace="prod",deployment=~"podinfo-primary",direction="inbound"}',
        ),
        (
            "nginx",
            'nginx_ingress_controller_requests{namespace="prod",ingress="podinfo",canary=""}',
        ),
        (
            "contour",
            'envoy_cluster_upstream_rq{envoy_cluster_name=~"prod_podinfo-primary_[0-9a-zA-Z-]+"}',
        ),
        (
            "gloo",
            'envoy_cluster_upstream_rq{envoy_cluster_name=~"prod-podinfo-primaryupstream-'
            '[0-9a-zA-Z-]+_[0-9a-zA-Z-]+"}',
        ),
        ("kuma", 'envoy_cluster_upstream_rq{service=~"podinfo-primary_prod_svc_[0-9a-zA-Z-]+"}'),
        (
            "traefik",
            "traefik_service_request_duration_seconds_bucket"
            '{service=~"prod-podinfo-primary-[0-9a-zA-Z-]+@kubernetescrd",le="+Inf"}',
        ),
        (
            "skipper",
            "skipper_response_duration_seconds_bucket"
            '{route=~"kube(ew)?_prod__podinfo__.*__podinfo_primary(_[0-9]+)?",le="+Inf"}',
        ),
        (
            "kubernetes",
            'http_request_duration_seconds_count{kubernetes_namespace="prod",'
            'kubernetes_pod_name=~"podinfo-primary-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}',
        ),
    ],
)
def test_primary_twin_selects_the_primary(provider, selector):
    query = observers.success_rate_query(provider, model("prod"), side="primary")
    assert query.endswith(f"sum(rate({selector}[1m])) * 100")


def test_apisix_metrics_cannot_tell_the_primary_apart():
    with pytest.raises(UnknownProviderError, match="primary-side metrics for provider apisix"):
        observers.count_queries("apisix", model("prod"))


def test_knative_primary_needs_the_primary_revision():
    with pytest.raises(InvalidCanaryError, match=r"\{\{ revision \}\}, which has no value"):
        observers.duration_query("knative", model("prod"), side="primary")
    twin = observers.duration_query(
        "knative", model("prod", primary_revision="podinfo-00001"), side="primary"
    )
    assert 'envoy_cluster_name=~"prod/podinfo-00001"' in twin


@pytest.mark.parametrize(
    ("provider", "namespace", "success_rate", "duration_ms"),
    [
        ("linkerd", "linkerd", 99.0, 29.9),
        ("istio", "istio", 98.0, 49.75),
        ("nginx", "nginx", 100.0, 100.0),
        ("kubernetes", "http", 100.0, 99.5),
    ],
)
async def test_primary_twins_measure_the_primary(
    prom, provider, namespace, success_rate, duration_ms
):
    twin = model(namespace)
    rate = await prom.query(observers.success_rate_query(provider, twin, side="primary"))
    duration = await prom.query(observers.duration_query(provider, twin, side="primary"))
    assert rate == pytest.approx(success_rate)
    assert duration * observers.duration_scale(provider) == pytest.approx(duration_ms)


def test_count_queries_render_increase_of_each_side():
    counts = observers.count_queries("linkerd", model("prod"), window="15m")
    assert counts.canary_total == (
        'sum(increase(response_total{namespace="prod",deployment=~"podinfo",direction="inbound"}'
        "[15m]))"
    )
    assert counts.canary_failed == (
        'sum(increase(response_total{namespace="prod",deployment=~"podinfo",'
        'classification="failure",direction="inbound"}[15m])) or vector(0)'
    )
    assert 'deployment=~"podinfo-primary"' in counts.primary_total
    assert 'classification="failure"' in counts.primary_failed


@pytest.mark.parametrize(
    ("provider", "namespace", "expected"),
    [
        ("linkerd", "linkerd", (600, 60, 6000, 60)),
        ("istio", "istio", (600, 60, 3000, 60)),  # the reporter="source" series are left out
        ("nginx", "nginx", (600, 120, 600, 0)),  # no 5xx series at all: zero, not "no data"
        ("kubernetes", "http", (1200, 60, 600, 0)),
    ],
)
async def test_counts_on_real_data(prom, provider, namespace, expected):
    counts = observers.count_queries(provider, model(namespace))
    measured = [
        await prom.query(query)
        for query in (
            counts.canary_total,
            counts.canary_failed,
            counts.primary_total,
            counts.primary_failed,
        )
    ]
    assert measured == pytest.approx(list(expected))


def test_histogram_queries_render_buckets_by_le():
    histograms = observers.histogram_queries("kubernetes", model("prod"), window="10m")
    assert histograms.canary == (
        'sum by (le) (increase(http_request_duration_seconds_bucket{kubernetes_namespace="prod",'
        'kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[10m]))'
    )
    assert "podinfo-primary-[0-9a-zA-Z]+" in histograms.primary
    assert histograms.le_ms == 1000.0


async def test_histograms_on_real_data(prom):
    histograms = observers.histogram_queries("linkerd", model("linkerd"))
    canary = {s.labels["le"]: s.value for s in await prom.vector(histograms.canary)}
    primary = {s.labels["le"]: s.value for s in await prom.vector(histograms.primary)}
    assert canary == pytest.approx(
        {"10": 0, "20": 0, "30": 0, "50": 0, "100": 0, "200": 600, "500": 600, "+Inf": 600}
    )
    assert primary["20"] == 0
    assert primary["30"] == pytest.approx(6000)
    assert histograms.le_ms == 1.0


async def test_nginx_histogram_form_exists_although_its_duration_is_a_mean(prom):
    histograms = observers.histogram_queries("nginx", model("nginx"))
    canary = {s.labels["le"]: s.value for s in await prom.vector(histograms.canary)}
    assert canary["0.1"] == 0
    assert canary["0.25"] == pytest.approx(600)
    assert histograms.le_ms == 1000.0


def test_linkerd_selects_a_statefulsets_pods_by_their_statefulset_label():
    counts = observers.count_queries(
        "linkerd", model("prod", target_kind="StatefulSet"), window="1m"
    )
    assert 'namespace="prod",statefulset=~"podinfo",direction="inbound"' in counts.canary_total
    assert 'statefulset=~"podinfo-primary"' in counts.primary_total
    query = observers.success_rate_query("linkerd", model("prod", target_kind="StatefulSet"))
    assert "deployment=~" not in query
    assert 'statefulset=~"podinfo",classification!="failure"' in query
