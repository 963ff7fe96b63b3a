"""The built-in query table, rendered: exactly Flagger's PromQL for every provider.

Covers: ``request-success-rate`` and ``request-duration`` of istio, linkerd, nginx, appmesh,
contour, gloo, kuma, knative, osm, traefik, apisix, skipper and the generic HTTP metrics
(kubernetes, gatewayapi), rendered for one Canary whose target, service, ingress and route differ
so every value is seen in its place; the unit conversion of each duration to milliseconds; every
provider the Canary CRD accepts has built-in queries.
"""

from __future__ import annotations

import pytest

from serinus.apis.canary import PROVIDERS
from serinus.metrics import observers
from serinus.metrics.templating import QueryModel

MODEL = QueryModel(
    name="podinfo",
    namespace="prod",
    target="podinfo",
    service="podinfo-svc",
    ingress="podinfo-ing",
    route="podinfo-route",
    interval="2m",
)

HTTP_POD = 'kubernetes_namespace="prod",kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"'
CONTOUR = 'envoy_cluster_name=~"prod_podinfo-svc-canary_[0-9a-zA-Z-]+"'
GLOO = 'envoy_cluster_name=~"prod-podinfo-canaryupstream-[0-9a-zA-Z-]+_[0-9a-zA-Z-]+"'
KUMA = 'service=~"podinfo-canary_prod_svc_[0-9a-zA-Z-]+"'
KNATIVE = 'envoy_cluster_name=~"prod/podinfo-route"'
TRAEFIK = 'service=~"prod-podinfo-canary-[0-9a-zA-Z-]+@kubernetescrd"'
APISIX = 'route=~"prod_podinfo-route-podinfo-canary_.+"'
SKIPPER = 'route=~"kube(ew)?_prod__podinfo_ing_canary__.*__podinfo_svc_canary(_[0-9]+)?"'
ISTIO = (
    'reporter="destination",destination_workload_namespace="prod",destination_workload=~"podinfo"'
)
OSM = 'destination_namespace="prod",destination_kind="Deployment",destination_name="podinfo"'
NGINX = 'namespace="prod",ingress="podinfo-ing",canary!=""'


def ratio(ok: str, every: str) -> str:
    return f"sum(rate({ok}[2m])) / sum(rate({every}[2m])) * 100"


def p99(buckets: str) -> str:
    return f"histogram_quantile(0.99, sum(rate({buckets}[2m])) by (le))"


def mean(total: str, count: str) -> str:
    return f"sum(rate({total}[2m])) / sum(rate({count}[2m])) * 1000"


def envoy(cluster: str) -> tuple[str, str]:
    return (
        ratio(
            f'envoy_cluster_upstream_rq{{{cluster},envoy_response_code!~"5.*"}}',
            f"envoy_cluster_upstream_rq{{{cluster}}}",
        ),
        p99(f"envoy_cluster_upstream_rq_time_bucket{{{cluster}}}"),
    )


EXPECTED = {
    "istio": (
        ratio(
            f'istio_requests_total{{{ISTIO},response_code!~"5.*"}}',
            f"istio_requests_total{{{ISTIO}}}",
        ),
        p99(f"istio_request_duration_milliseconds_bucket{{{ISTIO}}}"),
    ),
    "linkerd": (
        ratio(
            'response_total{namespace="prod",deployment=~"podinfo",classification!="failure",'
            'direction="inbound"}',
            'response_total{namespace="prod",deployment=~"podinfo",direction="inbound"}',
        ),
        p99(
            'response_latency_ms_bucket{namespace="prod",deployment=~"podinfo",direction="inbound"}'
        ),
    ),
    "nginx": (
        ratio(
            f'nginx_ingress_controller_requests{{{NGINX},status!~"5.*"}}',
            f"nginx_ingress_controller_requests{{{NGINX}}}",
        ),
        mean(
            f"nginx_ingress_controller_response_duration_seconds_sum{{{NGINX}}}",
            f"nginx_ingress_controller_response_duration_seconds_count{{{NGINX}}}",
        ),
    ),
    "appmesh": envoy(HTTP_POD),
    "appmesh:v1beta2": envoy(HTTP_POD),
    "contour": envoy(CONTOUR),
    "gloo": envoy(GLOO),
    "kuma": envoy(KUMA),
    "knative": envoy(KNATIVE),
    "osm": (
        ratio(f'osm_request_total{{{OSM},response_code!~"5.*"}}', f"osm_request_total{{{OSM}}}"),
        p99(f"osm_request_duration_ms_bucket{{{OSM}}}"),
    ),
    "traefik": (
        ratio(
            f'traefik_service_request_duration_seconds_bucket{{{TRAEFIK},code!~"5..",le="+Inf"}}',
            f'traefik_service_request_duration_seconds_bucket{{{TRAEFIK},le="+Inf"}}',
        ),
        p99(f"traefik_service_request_duration_seconds_bucket{{{TRAEFIK}}}"),
    ),
    "apisix": (
        ratio(f'apisix_http_status{{{APISIX},code!~"5.."}}', f"apisix_http_status{{{APISIX}}}"),
        p99(f'apisix_http_latency_bucket{{type=~"request",{APISIX}}}'),
    ),
    "skipper": (
        ratio(
            f'skipper_response_duration_seconds_bucket{{{SKIPPER},code!~"5..",le="+Inf"}}',
            f'skipper_response_duration_seconds_bucket{{{SKIPPER},le="+Inf"}}',
        ),
        mean(
            f"skipper_serve_route_duration_seconds_sum{{{SKIPPER}}}",
            f"skipper_serve_route_duration_seconds_count{{{SKIPPER}}}",
        ),
    ),
    "kubernetes": (
        ratio(
            f'http_request_duration_seconds_count{{{HTTP_POD},status!~"5.*"}}',
            f"http_request_duration_seconds_count{{{HTTP_POD}}}",
        ),
        p99(f"http_request_duration_seconds_bucket{{{HTTP_POD}}}"),
    ),
}
EXPECTED["gatewayapi:v1"] = EXPECTED["kubernetes"]
EXPECTED["gatewayapi:v1beta1"] = EXPECTED["kubernetes"]
EXPECTED["smi:v1alpha2"] = EXPECTED["istio"]


@pytest.mark.parametrize("provider", sorted(EXPECTED))
def test_success_rate_is_flaggers_promql(provider):
    assert observers.success_rate_query(provider, MODEL) == EXPECTED[provider][0]


@pytest.mark.parametrize("provider", sorted(EXPECTED))
def test_duration_is_flaggers_promql(provider):
    assert observers.duration_query(provider, MODEL) == EXPECTED[provider][1]


@pytest.mark.parametrize(
    ("provider", "scale"),
    [
        ("linkerd", 1.0),
        ("istio", 1.0),
        ("osm", 1.0),
        ("nginx", 1.0),  # the mean query multiplies by 1000 itself
        ("skipper", 1.0),
        ("kubernetes", 1000.0),  # seconds
        ("traefik", 1000.0),
    ],
)
def test_durations_are_converted_to_milliseconds(provider, scale):
    assert observers.duration_scale(provider) == scale


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_provider_of_the_crd_has_built_in_queries(provider):
    assert observers.success_rate_query(provider, MODEL).endswith("* 100")
