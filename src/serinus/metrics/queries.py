"""The built-in queries of every mesh and ingress, as ONE table.

Flagger keeps thirteen near-identical observer files; they differ only in the series they read. Here
each provider is one row: the request counter (with a slot for the outcome matcher), how a request
counts as ok or failed, and where latency lives. :mod:`serinus.metrics.observers` builds every query
from a row, so the canary query, its primary-side twin and the count and histogram forms of the
statistical judges can never drift apart.

A row's selectors are templates (:mod:`serinus.metrics.templating`) over Flagger's values
(``namespace``, ``target``, ``service``, ``ingress``, ``route``, ``interval``) plus these, set per
side (canary or primary) by :func:`serinus.metrics.observers.side_values`:

- ``workload``: the target (canary side) or ``<target>-primary``;
- ``workload_label``: the label Linkerd names the workload with: ``deployment`` (Flagger's), or
  ``statefulset`` for a StatefulSet target;
- ``role``: ``canary`` or ``primary``, where a mesh names its objects ``<svc>-canary``/``-primary``;
- ``nginx_canary``: ``canary!=""`` or ``canary=""`` (NGINX labels canary traffic by upstream);
- ``revision``: the Knative revision of the side;
- ``skipper_route``: the Skipper route-id regex of the side;
- ``outcome``: ``,<ok or failed matcher>``, or empty for every request.

Rendered on the canary side with ``outcome`` set to ``ok``, each row yields exactly Flagger's PromQL
(``pkg/metrics/observers/*.go``, whitespace collapsed); tests assert the rendered strings.
"""

from __future__ import annotations

import dataclasses
from typing import Literal


@dataclasses.dataclass(frozen=True)
class Latency:
    """Where a provider's latency lives and in which unit.

    ``quantile``: P99 of the ``bucket`` histogram (Flagger's choice for most meshes).
    ``mean``: ``sum`` rate over ``count`` rate, times 1000 in the query (NGINX and Skipper).
    ``le_ms``: milliseconds per unit of the bucket bounds (1000 for seconds); the built-in
    duration is multiplied by it when the query itself does not convert.
    """

    kind: Literal["quantile", "mean"]
    bucket: str
    le_ms: float = 1.0
    sum: str = ""
    count: str = ""


@dataclasses.dataclass(frozen=True)
class MeshQueries:
    """The series one provider's built-in metrics read."""

    requests: str
    """The request counter's selector, with ``{{ outcome }}`` where the outcome matcher goes."""
    ok: str
    """The matcher of requests that did not fail (non-5xx)."""
    failed: str
    """The matcher of failed requests (5xx)."""
    latency: Latency
    primary: bool = True
    """Whether the metrics tell the primary's traffic apart from the canary's."""

    @property
    def duration_scale(self) -> float:
        """What the built-in duration query's value is multiplied by to give milliseconds."""
        return 1.0 if self.latency.kind == "mean" else self.latency.le_ms


_OUTCOME = "{{ outcome }}"
_HTTP_POD = '"{{ workload }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"'


def _envoy(cluster: str) -> MeshQueries:
    """The Envoy-based providers differ only in how they select the cluster."""
    return MeshQueries(
        requests="envoy_cluster_upstream_rq{" + cluster + _OUTCOME + "}",
        ok='envoy_response_code!~"5.*"',
        failed='envoy_response_code=~"5.*"',
        latency=Latency("quantile", "envoy_cluster_upstream_rq_time_bucket{" + cluster + "}"),
    )


_ISTIO = (
    'reporter="destination",destination_workload_namespace="{{ namespace }}",'
    'destination_workload=~"{{ workload }}"'
)
_LINKERD = 'namespace="{{ namespace }}",{{ workload_label }}=~"{{ workload }}"'
_NGINX = 'namespace="{{ namespace }}",ingress="{{ ingress }}",{{ nginx_canary }}'
_NGINX_LATENCY = "nginx_ingress_controller_response_duration_seconds"
_OSM = (
    'destination_namespace="{{ namespace }}",destination_kind="Deployment",'
    'destination_name="{{ workload }}"'
)
_TRAEFIK = 'service=~"{{ namespace }}-{{ target }}-{{ role }}-[0-9a-zA-Z-]+@kubernetescrd"'
_TRAEFIK_BUCKET = "traefik_service_request_duration_seconds_bucket"
_APISIX = 'route=~"{{ namespace }}_{{ route }}-{{ target }}-canary_.+"'
_SKIPPER = 'route=~"{{ skipper_route }}"'
_SKIPPER_LATENCY = "skipper_serve_route_duration_seconds"
_HTTP = 'kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~' + _HTTP_POD

OBSERVERS: dict[str, MeshQueries] = {
    "istio": MeshQueries(
        requests="istio_requests_total{" + _ISTIO + _OUTCOME + "}",
        ok='response_code!~"5.*"',
        failed='response_code=~"5.*"',
        latency=Latency("quantile", "istio_request_duration_milliseconds_bucket{" + _ISTIO + "}"),
    ),
    "linkerd": MeshQueries(
        requests="response_total{" + _LINKERD + _OUTCOME + ',direction="inbound"}',
        ok='classification!="failure"',
        failed='classification="failure"',
        latency=Latency(
            "quantile", "response_latency_ms_bucket{" + _LINKERD + ',direction="inbound"}'
        ),
    ),
    "nginx": MeshQueries(
        requests="nginx_ingress_controller_requests{" + _NGINX + _OUTCOME + "}",
        ok='status!~"5.*"',
        failed='status=~"5.*"',
        latency=Latency(
            "mean",
            bucket=_NGINX_LATENCY + "_bucket{" + _NGINX + "}",
            le_ms=1000.0,
            sum=_NGINX_LATENCY + "_sum{" + _NGINX + "}",
            count=_NGINX_LATENCY + "_count{" + _NGINX + "}",
        ),
    ),
    "appmesh": _envoy('kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~' + _HTTP_POD),
    "contour": _envoy(
        'envoy_cluster_name=~"{{ namespace }}_{{ service }}-{{ role }}_[0-9a-zA-Z-]+"'
    ),
    "gloo": _envoy(
        'envoy_cluster_name=~"{{ namespace }}-{{ target }}-{{ role }}upstream-'
        '[0-9a-zA-Z-]+_[0-9a-zA-Z-]+"'
    ),
    "kuma": _envoy('service=~"{{ target }}-{{ role }}_{{ namespace }}_svc_[0-9a-zA-Z-]+"'),
    "knative": _envoy('envoy_cluster_name=~"{{ namespace }}/{{ revision }}"'),
    "osm": MeshQueries(
        requests="osm_request_total{" + _OSM + _OUTCOME + "}",
        ok='response_code!~"5.*"',
        failed='response_code=~"5.*"',
        latency=Latency("quantile", "osm_request_duration_ms_bucket{" + _OSM + "}"),
    ),
    "traefik": MeshQueries(
        requests=_TRAEFIK_BUCKET + "{" + _TRAEFIK + _OUTCOME + ',le="+Inf"}',
        ok='code!~"5.."',
        failed='code=~"5.."',
        latency=Latency("quantile", _TRAEFIK_BUCKET + "{" + _TRAEFIK + "}", le_ms=1000.0),
    ),
    "apisix": MeshQueries(
        # One ApisixRoute carries both backends, so its series mix primary and canary traffic.
        requests="apisix_http_status{" + _APISIX + _OUTCOME + "}",
        ok='code!~"5.."',
        failed='code=~"5.."',
        latency=Latency("quantile", 'apisix_http_latency_bucket{type=~"request",' + _APISIX + "}"),
        primary=False,
    ),
    "skipper": MeshQueries(
        requests="skipper_response_duration_seconds_bucket{" + _SKIPPER + _OUTCOME + ',le="+Inf"}',
        ok='code!~"5.."',
        failed='code=~"5.."',
        latency=Latency(
            "mean",
            bucket=_SKIPPER_LATENCY + "_bucket{" + _SKIPPER + "}",
            le_ms=1000.0,
            sum=_SKIPPER_LATENCY + "_sum{" + _SKIPPER + "}",
            count=_SKIPPER_LATENCY + "_count{" + _SKIPPER + "}",
        ),
    ),
    "http": MeshQueries(
        requests="http_request_duration_seconds_count{" + _HTTP + _OUTCOME + "}",
        ok='status!~"5.*"',
        failed='status=~"5.*"',
        latency=Latency("quantile", "http_request_duration_seconds_bucket{" + _HTTP + "}", 1000.0),
    ),
}
"""Every observer by name; :func:`serinus.metrics.observers.observer_name` maps providers here."""
