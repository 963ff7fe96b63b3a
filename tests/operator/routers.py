"""What the router releases of :mod:`tests.operator.test_routers` need per provider: the objects
Flagger's router creates, how to read the weights out of them, and what else the Canary needs.

One :class:`Case` per provider. Its ``owned`` objects are the ones Flagger creates for a Canary
``podinfo`` (names as Flagger gives them), each of which must carry a controller reference to the
Canary, except Kuma's cluster-scoped TrafficRoute, which names it in an annotation. ``weights``
reads (primary, canary) from the object the router moves, independently of serinus's own code.
``extras`` are the objects a user creates first (the Ingress a Skipper Canary refers to, the
ApisixRoute of an APISIX one).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

Manifest = dict[str, Any]
Ref = tuple[str, str, str]
"""apiVersion, kind, name."""

SERVICES: tuple[Ref, ...] = tuple(
    ("v1", "Service", name) for name in ("podinfo", "podinfo-primary", "podinfo-canary")
)


def _by_name(
    entries: list[Manifest], name_of: Callable[[Manifest], str], weight: str
) -> tuple[int, int]:
    """(primary, canary) from entries naming the primary and the canary (a missing weight is 0)."""
    found: dict[str, int] = {}
    for entry in entries:
        found[name_of(entry)] = int(entry.get(weight) or 0)
    primary = next((v for k, v in found.items() if "primary" in k), 0)
    canary = next((v for k, v in found.items() if "canary" in k), 0)
    return primary, canary


def contour(obj: Manifest) -> tuple[int, int]:
    return _by_name(obj["spec"]["routes"][0]["services"], lambda s: s["name"], "weight")


def gloo(obj: Manifest) -> tuple[int, int]:
    destinations = obj["spec"]["routes"][0]["routeAction"]["multi"]["destinations"]
    return _by_name(destinations, lambda d: d["destination"]["upstream"]["name"], "weight")


def traefik(obj: Manifest) -> tuple[int, int]:
    return _by_name(obj["spec"]["weighted"]["services"], lambda s: s["name"], "weight")


def apisix(obj: Manifest) -> tuple[int, int]:
    return _by_name(obj["spec"]["http"][0]["backends"], lambda b: b["serviceName"], "weight")


def skipper(obj: Manifest) -> tuple[int, int]:
    weights = json.loads(obj["metadata"]["annotations"]["zalando.org/backend-weights"])
    return int(weights["podinfo-primary"]), int(weights["podinfo-canary"])


def kuma(obj: Manifest) -> tuple[int, int]:
    split = obj["spec"]["conf"]["split"]
    return _by_name(split, lambda s: s["destination"]["kuma.io/service"], "weight")


def appmesh(obj: Manifest) -> tuple[int, int]:
    targets = obj["spec"]["routes"][0]["httpRoute"]["action"]["weightedTargets"]
    return _by_name(targets, lambda t: t["virtualNodeRef"]["name"], "weight")


def smi(obj: Manifest) -> tuple[int, int]:
    return _by_name(obj["spec"]["backends"], lambda b: b["service"], "weight")


def knative(obj: Manifest) -> tuple[int, int]:
    primary = canary = 0
    for target in obj["spec"].get("traffic") or []:
        if target.get("latestRevision"):
            canary = int(target["percent"])
        else:
            primary = int(target["percent"])
    return primary, canary


def _skipper_ingress(namespace: str) -> Manifest:
    backend = {"service": {"name": "podinfo", "port": {"number": 9898}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "podinfo", "namespace": namespace},
        "spec": {
            "ingressClassName": "skipper",
            "rules": [
                {
                    "host": "app.example.com",
                    "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                }
            ],
        },
    }


def _apisix_route(namespace: str) -> Manifest:
    return {
        "apiVersion": "apisix.apache.org/v2",
        "kind": "ApisixRoute",
        "metadata": {"name": "podinfo", "namespace": namespace},
        "spec": {
            "http": [
                {
                    "name": "method",
                    "match": {"hosts": ["app.example.com"], "paths": ["/*"]},
                    "backends": [{"serviceName": "podinfo", "servicePort": 9898}],
                }
            ]
        },
    }


@dataclasses.dataclass(frozen=True)
class Case:
    """One provider's release."""

    provider: str
    moved: Ref
    """The object whose weights the router moves."""
    weights: Callable[[Manifest], tuple[int, int]]
    owned: tuple[Ref, ...]
    """Objects the router creates, owned by the Canary (Services included)."""
    spec: Manifest = dataclasses.field(default_factory=dict)
    """Canary spec fields beside provider, targetRef, service and analysis."""
    extras: Callable[[str], list[Manifest]] = lambda namespace: []
    ab: Callable[[Manifest], list[Manifest]] | None = None
    """For a router that does A/B testing: the A/B conditions as the object holds them."""
    cluster_scoped: bool = False
    knative: bool = False

    @property
    def namespace(self) -> str:
        return "router-" + self.provider.replace(":", "-")


def _contour_ab(obj: Manifest) -> list[Manifest]:
    return [route["conditions"] for route in obj["spec"]["routes"]]


def _gloo_ab(obj: Manifest) -> list[Manifest]:
    return [route.get("matchers") for route in obj["spec"]["routes"]]


def _appmesh_ab(obj: Manifest) -> list[Manifest]:
    return [route["httpRoute"]["match"] for route in obj["spec"]["routes"]]


APPMESH = "appmesh.k8s.aws/v1beta2"
CASES = (
    Case(
        "contour",
        ("projectcontour.io/v1", "HTTPProxy", "podinfo"),
        contour,
        (*SERVICES, ("projectcontour.io/v1", "HTTPProxy", "podinfo")),
        ab=_contour_ab,
    ),
    Case(
        "gloo",
        ("gateway.solo.io/v1", "RouteTable", "podinfo"),
        gloo,
        (
            *SERVICES,
            ("gateway.solo.io/v1", "RouteTable", "podinfo"),
            ("gloo.solo.io/v1", "Upstream", "router-gloo-podinfo-primaryupstream-9898"),
            ("gloo.solo.io/v1", "Upstream", "router-gloo-podinfo-canaryupstream-9898"),
        ),
        ab=_gloo_ab,
    ),
    Case(
        "traefik",
        ("traefik.io/v1alpha1", "TraefikService", "podinfo"),
        traefik,
        (*SERVICES, ("traefik.io/v1alpha1", "TraefikService", "podinfo")),
    ),
    Case(
        "apisix",
        ("apisix.apache.org/v2", "ApisixRoute", "podinfo-podinfo-canary"),
        apisix,
        (*SERVICES, ("apisix.apache.org/v2", "ApisixRoute", "podinfo-podinfo-canary")),
        spec={
            "routeRef": {
                "apiVersion": "apisix.apache.org/v2",
                "kind": "ApisixRoute",
                "name": "podinfo",
            }
        },
        extras=lambda namespace: [_apisix_route(namespace)],
    ),
    Case(
        "skipper",
        ("networking.k8s.io/v1", "Ingress", "podinfo-canary"),
        skipper,
        (*SERVICES, ("networking.k8s.io/v1", "Ingress", "podinfo-canary")),
        spec={
            "ingressRef": {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "name": "podinfo",
            }
        },
        extras=lambda namespace: [_skipper_ingress(namespace)],
    ),
    Case(
        "kuma",
        ("kuma.io/v1alpha1", "TrafficRoute", "podinfo"),
        kuma,
        SERVICES,
        cluster_scoped=True,
    ),
    Case(
        "appmesh:v1beta2",
        (APPMESH, "VirtualRouter", "podinfo"),
        appmesh,
        (
            *SERVICES,
            (APPMESH, "VirtualNode", "podinfo-primary"),
            (APPMESH, "VirtualNode", "podinfo-canary"),
            (APPMESH, "VirtualRouter", "podinfo"),
            (APPMESH, "VirtualRouter", "podinfo-canary"),
            (APPMESH, "VirtualService", "podinfo"),
            (APPMESH, "VirtualService", "podinfo-canary"),
        ),
        ab=_appmesh_ab,
    ),
    Case(
        "osm",
        ("split.smi-spec.io/v1alpha2", "TrafficSplit", "podinfo"),
        smi,
        (*SERVICES, ("split.smi-spec.io/v1alpha2", "TrafficSplit", "podinfo")),
    ),
    Case(
        "knative",
        ("serving.knative.dev/v1", "Service", "podinfo"),
        knative,
        (),
        knative=True,
    ),
)
"""Every router this issue adds (and OSM's SMI v1alpha2), one release each."""
