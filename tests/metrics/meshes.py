"""The series of every other mesh and ingress Flagger measures, as each exports them, for the
session's backfilled Prometheus (:mod:`tests.metrics.conftest`).

One namespace per mesh, named after it. In every one the canary answers 9 of 10 requests per
second well and 1 with a 5xx (90 %), the primary 19 and 1 (95 %); the canary's latency lies in
one bucket and the primary's in a lower one. Labels are the ones each project exports, with the
object names Flagger's routers give (``<ns>_<svc>_<port>`` clusters for Contour,
``<ns>-<apex>-<role>upstream-<port>_<ns>`` for Gloo, ``<svc>_<ns>_svc_<port>`` services for
Kuma, ``<ns>/<revision>`` for Knative, ``<ns>-<svc>-<port>@kubernetescrd`` for Traefik, the copied
route ``<ns>_<routeRef>-<apex>-canary_<http>`` for APISIX, Skipper's route ids), plus a decoy
series per mesh that a query with a loose selector would pick up. :data:`EXPECTED` holds what
the built-in queries must measure.
"""

from __future__ import annotations

from tests.support.prometheus import OpenMetrics

ENVOY_MS = ["1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500"]
"""Envoy's latency bucket bounds in ms (the first ten)."""
TRAEFIK_S = ["0.1", "0.3", "1.2", "5"]
APISIX_MS = ["1", "2", "5", "10", "20", "50", "100", "200", "500", "1000"]
OSM_MS = ["1", "2", "5", "10", "20", "50", "100", "200", "500", "1000"]
SKIPPER_S = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1"]

SIDES = (("canary", 9, 1), ("primary", 19, 1))
"""Each side's good and failed requests per second."""

EXPECTED: dict[str, tuple[float, float, float | None, float | None]] = {
    # provider: canary success %, canary duration ms, primary success %, primary duration ms
    "contour": (90.0, 497.5, 95.0, 49.75),
    "gloo": (90.0, 497.5, 95.0, 49.75),
    "kuma": (90.0, 497.5, 95.0, 49.75),
    "knative": (90.0, 497.5, 95.0, 49.75),
    "appmesh": (90.0, 497.5, 95.0, 49.75),
    "osm": (90.0, 995.0, 95.0, 99.5),
    "traefik": (90.0, 1191.0, 95.0, 298.0),
    "apisix": (90.0, 995.0, None, None),
    "skipper": (90.0, 300.0, 95.0, 40.0),
}


def add(data: OpenMetrics) -> None:
    """Every mesh's series, each in the namespace named after it."""
    _envoy(data)
    _osm(data)
    _traefik(data)
    _apisix(data)
    _skipper(data)


def _envoy(data: OpenMetrics) -> None:
    """Contour, Gloo, Kuma, Knative and App Mesh: Envoy's upstream stats, told apart by labels."""
    pods = {"canary": "podinfo-7d9c8f5b4-x2k9q", "primary": "podinfo-primary-6b8d9c7f5-q7w2z"}
    revisions = {"canary": "podinfo-00002", "primary": "podinfo-00001"}
    for role, ok, failed in SIDES:
        svc = "podinfo" if role == "canary" else "podinfo-primary"
        slot = 7 if role == "canary" else 4  # (250, 500] ms and (25, 50] ms
        clusters = [
            {"envoy_cluster_name": f"contour_podinfo-{role}_9898"},
            {"envoy_cluster_name": f"gloo-podinfo-{role}upstream-9898_gloo"},
            {
                "envoy_cluster_name": f"podinfo-{role}_kuma_svc_9898",
                "service": f"podinfo-{role}_kuma_svc_9898",
            },
            {"envoy_cluster_name": f"knative/{revisions[role]}"},
            {
                "kubernetes_namespace": "appmesh",
                "kubernetes_pod_name": pods[role],
                "envoy_cluster_name": f"cds_ingress_appmesh_{svc}_http_9898",
            },
        ]
        for labels in clusters:
            for code, rate in (("200", ok), ("503", failed)):
                data.counter(
                    "envoy_cluster_upstream_rq", {**labels, "envoy_response_code": code}, rate
                )
            data.histogram("envoy_cluster_upstream_rq_time", labels, ok + failed, ENVOY_MS, slot)
    # decoys: a cluster whose name only starts like the canary's, a pod of Deployment podinfo-admin
    for labels in (
        {"envoy_cluster_name": "contour_podinfo-canary-admin_9898"},
        {"kubernetes_namespace": "appmesh", "kubernetes_pod_name": "podinfo-admin-5f7d8c9b6-abcde"},
    ):
        data.counter("envoy_cluster_upstream_rq", {**labels, "envoy_response_code": "500"}, 50)


def _osm(data: OpenMetrics) -> None:
    for role, ok, failed in SIDES:
        name = "podinfo" if role == "canary" else "podinfo-primary"
        labels = {
            "source_namespace": "osm",
            "source_kind": "Deployment",
            "source_name": "load-tester",
            "destination_namespace": "osm",
            "destination_kind": "Deployment",
            "destination_name": name,
        }
        for code, rate in (("200", ok), ("500", failed)):
            data.counter("osm_request_total", {**labels, "response_code": code}, rate)
        slot = 9 if role == "canary" else 6  # (500, 1000] ms and (50, 100] ms
        data.histogram("osm_request_duration_ms", labels, ok + failed, OSM_MS, slot)


def _traefik(data: OpenMetrics) -> None:
    name = "traefik_service_request_duration_seconds_bucket"
    for role, ok, failed in SIDES:
        service = f"traefik-podinfo-{role}-9898@kubernetescrd"
        slot = 2 if role == "canary" else 1  # (0.3, 1.2] s and (0.1, 0.3] s
        for code, rate in (("200", ok), ("502", failed)):
            labels = {"service": service, "code": code, "method": "GET", "protocol": "http"}
            for index, bound in enumerate([*TRAEFIK_S, "+Inf"]):
                data.counter(name, {**labels, "le": bound}, rate if index >= slot else 0.0)
    decoy = {"service": "traefik-podinfo-9898@kubernetescrd", "code": "500", "method": "GET"}
    data.counter(name, {**decoy, "protocol": "http", "le": "+Inf"}, 50)


def _apisix(data: OpenMetrics) -> None:
    """One copied route carries both backends: its series mix primary and canary traffic."""
    route = "apisix_podinfo-podinfo-canary_method"
    for code, rate in (("200", 9), ("500", 1)):
        labels = {"route": route, "code": code, "matched_uri": "/*", "node": "10.0.0.1"}
        data.counter("apisix_http_status", labels, rate)
    for kind, slot in (("request", 9), ("upstream", 2)):  # the upstream's own latency is lower
        data.histogram("apisix_http_latency", {"type": kind, "route": route}, 10, APISIX_MS, slot)
    data.counter("apisix_http_status", {"route": "apisix_podinfo_method", "code": "500"}, 50)


def _skipper(data: OpenMetrics) -> None:
    routes = {
        "canary": "kube_skipper__podinfo_canary__app_example_com____podinfo_canary",
        "primary": "kube_skipper__podinfo__app_example_com____podinfo_primary",
    }
    for role, ok, failed in SIDES:
        route = routes[role]
        seconds = 0.3 if role == "canary" else 0.04
        slot = 6 if role == "canary" else 3
        for code, rate in (("200", ok), ("500", failed)):
            labels = {"route": route, "code": code, "method": "GET"}
            for index, bound in enumerate([*SKIPPER_S, "+Inf"]):
                rated = rate if index >= slot else 0.0
                data.counter(
                    "skipper_response_duration_seconds_bucket", {**labels, "le": bound}, rated
                )
        data.counter("skipper_serve_route_duration_seconds_count", {"route": route}, ok + failed)
        data.counter(
            "skipper_serve_route_duration_seconds_sum", {"route": route}, (ok + failed) * seconds
        )
