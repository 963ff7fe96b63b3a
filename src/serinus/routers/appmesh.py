"""AWS App Mesh (``appmesh.k8s.aws/v1beta2``): virtual nodes, routers and services.

What Flagger's ``appmesh:v1beta2`` router writes, for the apex ``podinfo`` in ``prod``:

* ``VirtualNode podinfo-primary`` and ``podinfo-canary``: a listener on the container port (the
  Service's ``targetPort`` when it is a number, else its port; protocol ``grpc`` when the port
  name says grpc, else ``http``; the per-request timeout from ``spec.service.timeout``), DNS
  discovery at ``<node>.prod.svc.cluster.local.``, a pod selector on the target's label
  (``app: podinfo-primary`` / ``app: podinfo``), the backends of ``spec.service.backends`` (an
  ``arn:aws...`` as a virtual service ARN, else a reference by name), and an access log to
  stdout when the Canary is annotated ``appmesh.flagger.app/accesslog: enabled``;
* ``VirtualRouter podinfo`` with one HTTP route ``podinfo`` on ``spec.service.match[0].uri.prefix``
  (else ``/``), weighing the two nodes (canary first), with the timeout and retry policy of the
  Canary, and ``VirtualService podinfo`` pointing at it (annotated for the App Mesh gateway when
  ``spec.service.hosts`` are given);
* ``VirtualRouter podinfo-canary``, all to the canary node, and ``VirtualService podinfo-canary``,
  so the canary can be reached on its own.

A/B testing (``analysis.match``): the apex router's routes are ``podinfo-a`` (priority 10, the
headers of every match request, exact, prefix, suffix or regex, holding the weights) and
``podinfo-b`` (priority 20, all to the primary). App Mesh fills in ``awsName`` and ``meshRef``
itself; updates keep them. The VirtualServices are written once and left as they are, as in
Flagger. Provider ``appmesh`` (Flagger's router for the retired v1beta1 API) is served by the
same v1beta2 objects, and ``serinus validate`` notes it.
"""

from __future__ import annotations

import copy
import re

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.capabilities import STRING_KINDS, Capabilities, Matching, always
from serinus.kube import Kube
from serinus.ports import Routes
from serinus.routers import quantities, retry_on, workload
from serinus.routers.base import MeshRouter
from serinus.routers.names import ServiceNames, where
from serinus.routers.objects import ALL_TO_PRIMARY, Blueprint, Desired, ManagedObject
from serinus.routers.services import Services

API_VERSION = "appmesh.k8s.aws/v1beta2"
ACCESS_LOG_ANNOTATION = "appmesh.flagger.app/accesslog"
KEPT = ("awsName", "meshRef")
"""Fields of a spec that App Mesh's webhook fills in; an update keeps them."""
CAPABILITIES = Capabilities(matching=Matching("App Mesh", fields={"headers": STRING_KINDS}))
"""Weights, and A/B on headers; no mirroring, no session affinity."""
MAX_HEADERS = 10
"""The header conditions one App Mesh route match takes (its schema's ``maxItems``)."""
RETRY_EVENTS = frozenset({"server-error", "gateway-error", "client-error", "stream-error"})
"""The ``httpRetryEvents`` App Mesh's v1beta2 VirtualRouter schema takes (aws/aws-app-mesh-
controller-for-k8s, config/crd/bases/appmesh.k8s.aws_virtualrouters.yaml, v1.13)."""

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


class AppMeshBlueprint(Blueprint):
    """What every App Mesh object shares: its API version, a name after its role (``apex``,
    ``primary`` or ``canary``), and an update keeping KEPT."""

    api_version = API_VERSION

    def __init__(self, role: str) -> None:
        self.role = role

    def name(self, canary: Canary) -> str:
        names = ServiceNames.of(canary)
        return {"apex": names.apex, "primary": names.primary, "canary": names.canary}[self.role]

    def merge(self, canary: Canary, existing: Manifest, desired: Desired) -> Manifest:
        updated = super().merge(canary, existing, desired)
        old = existing.get("spec") or {}
        spec = updated.setdefault("spec", {})
        for key in KEPT:
            if key in old:
                spec[key] = old[key]
        return updated


class VirtualNodeBlueprint(AppMeshBlueprint):
    """``VirtualNode <apex>-primary`` or ``<apex>-canary``."""

    kind = "VirtualNode"

    def __init__(self, kube: Kube, role: str, *, selector_labels: tuple[str, ...]) -> None:
        super().__init__(role)
        self.kube = kube
        self.selector_labels = selector_labels

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        target = await workload.read(
            self.kube, canary, provider="appmesh", selector_labels=self.selector_labels
        )
        value = target.primary_value if self.role == "primary" else target.value
        listener: Manifest = {"portMapping": {"port": _port(canary), "protocol": _protocol(canary)}}
        timeout = _per_request(canary)
        if timeout is not None:
            listener["timeout"] = {"http": {"perRequest": timeout}}
        spec: Manifest = {
            "listeners": [listener],
            "serviceDiscovery": {
                "dns": {"hostname": f"{self.name(canary)}.{canary.namespace}.svc.cluster.local."}
            },
            "podSelector": {"matchLabels": {target.label: value}},
        }
        backends = [_backend(name) for name in canary.spec.service.backends or []]
        if backends:
            spec["backends"] = backends
        if (canary.metadata.annotations or {}).get(ACCESS_LOG_ANNOTATION) == "enabled":
            spec["logging"] = {"accessLog": {"file": {"path": "/dev/stdout"}}}
        return Desired.with_metadata({"spec": spec}, canary.spec.service.apex)


class VirtualRouterBlueprint(AppMeshBlueprint):
    """``VirtualRouter <apex>`` (the weights) or ``<apex>-canary`` (all to the canary)."""

    kind = "VirtualRouter"

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        if self.role == "canary":
            routes = Routes(0, 100)
        listener = {"portMapping": {"port": _port(canary), "protocol": _protocol(canary)}}
        spec = {"listeners": [listener], "routes": self._routes(canary, routes)}
        return Desired(body={"spec": spec})

    def routes(self, canary: Canary, manifest: Manifest) -> Routes:
        found = (manifest.get("spec") or {}).get("routes") or []
        action = ((found[0].get("httpRoute") or {}).get("action") or {}) if found else {}
        by_name: dict[object, object] = {}
        for item in action.get("weightedTargets") or []:
            by_name[(item.get("virtualNodeRef") or {}).get("name")] = item.get("weight") or 0
        what = where(self.kind, canary, self.name(canary))
        return quantities.routes(by_name, ServiceNames.of(canary), what=what, provider="appmesh")

    def _routes(self, canary: Canary, routes: Routes) -> list[Manifest]:
        names = ServiceNames.of(canary)
        analysis = canary.spec.effective_analysis
        matches = list(analysis.match or []) if analysis is not None and self.role == "apex" else []
        if not matches:
            return [_http_route(canary, self.name(canary), routes)]
        headers = [
            {"name": name, "match": dict(condition)}
            for match in matches
            for name, condition in sorted((match.get("headers") or {}).items())
        ]
        first = _http_route(canary, f"{names.apex}-a", routes, priority=10, headers=headers)
        rest = _http_route(canary, f"{names.apex}-b", ALL_TO_PRIMARY, priority=20, only=True)
        return [first, rest]


class VirtualServiceBlueprint(AppMeshBlueprint):
    """``VirtualService <apex>`` or ``<apex>-canary``, provided by the router of that name."""

    kind = "VirtualService"

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        router = {"virtualRouterRef": {"name": self.name(canary)}}
        body = {"spec": {"provider": {"virtualRouter": router}}}
        return Desired(body=body, annotations=self._gateway(canary))

    def merge(self, canary: Canary, existing: Manifest, desired: Desired) -> Manifest:
        """Written once: Flagger never updates a VirtualService it created."""
        return copy.deepcopy(existing)

    def _gateway(self, canary: Canary) -> dict[str, str]:
        """The App Mesh gateway's annotations on the apex, for ``spec.service.hosts``."""
        service = canary.spec.service
        if self.role != "apex" or not service.hosts:
            return {}
        found = {
            "gateway.appmesh.k8s.aws/expose": "true",
            "gateway.appmesh.k8s.aws/domain": "".join(f"{host}," for host in service.hosts),
        }
        if service.timeout:
            found["gateway.appmesh.k8s.aws/timeout"] = service.timeout
        if service.retries is not None and (service.retries.attempts or 0) > 0:
            found["gateway.appmesh.k8s.aws/retries"] = str(service.retries.attempts)
        return found


def problems(canary: Canary) -> list[str]:
    """What App Mesh's VirtualRouter schema would refuse: ``retryOn`` events it does not know,
    more header conditions than one route takes."""
    found = retry_on.unknown(canary, RETRY_EVENTS, mesh="App Mesh")
    analysis = canary.spec.effective_analysis
    matches = (analysis.match or []) if analysis is not None else []
    headers = sum(
        len(match["headers"]) for match in matches if isinstance(match.get("headers"), dict)
    )
    if headers > MAX_HEADERS:
        found.append(
            f"spec.analysis.match: App Mesh takes at most {MAX_HEADERS} header conditions in its "
            "A/B route (the headers of every match request go into that one route), found "
            f"{headers}"
        )
    return found


def notes(canary: Canary, provider: str) -> list[str]:
    """Provider ``appmesh`` is written as v1beta2, which Flagger keeps for ``appmesh:v1beta2``."""
    if provider != "appmesh":
        return []
    return [
        "spec.provider: appmesh is served with App Mesh's v1beta2 objects (appmesh.k8s.aws/"
        "v1beta2, as for appmesh:v1beta2); Flagger writes the v1beta1 API of the retired "
        "controller for it"
    ]


def _http_route(
    canary: Canary,
    name: str,
    routes: Routes,
    *,
    priority: int | None = None,
    headers: list[Manifest] | None = None,
    only: bool = False,
) -> Manifest:
    names = ServiceNames.of(canary)
    match: Manifest = {"prefix": _prefix(canary)}
    if headers:
        match["headers"] = headers
    targets = [
        {"virtualNodeRef": {"name": names.canary}, "weight": routes.canary},
        {"virtualNodeRef": {"name": names.primary}, "weight": routes.primary},
    ]
    http: Manifest = {
        "match": match,
        "action": {"weightedTargets": targets[1:] if only else targets},
    }
    timeout = _per_request(canary)
    if timeout is not None:
        http["timeout"] = {"perRequest": timeout}
    retry = _retry_policy(canary)
    if retry is not None:
        http["retryPolicy"] = retry
    route: Manifest = {"name": name, "httpRoute": http}
    if priority is not None:
        route["priority"] = priority
    return route


def _retry_policy(canary: Canary) -> Manifest | None:
    retries = canary.spec.service.retries
    if retries is None:
        return None
    timeout = _milliseconds(retries.per_try_timeout or "")
    events = (retries.retry_on or "gateway-error").split(",")
    return {
        "perRetryTimeout": {"unit": "ms", "value": 250 if timeout is None else timeout},
        "maxRetries": retries.attempts if retries.attempts and retries.attempts > 0 else 1,
        "httpRetryEvents": events,
    }


def _per_request(canary: Canary) -> Manifest | None:
    value = _milliseconds(canary.spec.service.timeout or "")
    return None if value is None else {"unit": "ms", "value": value}


def _milliseconds(text: str) -> int | None:
    """A Go duration (``15s``, ``1m30s``, ``250ms``) in milliseconds; None when not one."""
    parts = _DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return int(sum(float(number) * _UNIT_MS[unit] for number, unit in parts))


def _backend(name: str) -> Manifest:
    if name.startswith("arn:aws"):
        return {"virtualService": {"virtualServiceARN": name}}
    return {"virtualService": {"virtualServiceRef": {"name": name}}}


def _port(canary: Canary) -> int:
    service = canary.spec.service
    target = service.target_port
    return target if isinstance(target, int) and target > 0 else service.port


def _protocol(canary: Canary) -> str:
    return "grpc" if "grpc" in (canary.spec.service.port_name or "") else "http"


def _prefix(canary: Canary) -> str:
    matches = canary.spec.service.match or []
    uri = (matches[0].get("uri") or {}) if matches else {}
    prefix = uri.get("prefix") if isinstance(uri, dict) else None
    return prefix if isinstance(prefix, str) and prefix else "/"


class AppMeshTraffic:
    """The virtual nodes, then the routers and the services that name them."""

    def __init__(self, kube: Kube, *, provider: str, selector_labels: tuple[str, ...]) -> None:
        def managed(blueprint: Blueprint) -> ManagedObject:
            return ManagedObject(kube, blueprint, provider=provider)

        nodes = [
            VirtualNodeBlueprint(kube, role, selector_labels=selector_labels)
            for role in ("primary", "canary")
        ]
        self.apex = managed(VirtualRouterBlueprint("apex"))
        self.objects = [
            *(managed(node) for node in nodes),
            self.apex,
            managed(VirtualServiceBlueprint("apex")),
            managed(VirtualRouterBlueprint("canary")),
            managed(VirtualServiceBlueprint("canary")),
        ]

    async def reconcile(self, canary: Canary) -> None:
        for managed in self.objects:
            await managed.reconcile(canary)

    async def set_routes(
        self, canary: Canary, routes: Routes, *, current: Routes | None = None
    ) -> None:
        await self.apex.set_routes(canary, routes, current=current)

    async def get_routes(self, canary: Canary) -> Routes:
        return await self.apex.get_routes(canary)

    async def finalize(self, canary: Canary) -> None:
        for managed in reversed(self.objects):
            await managed.finalize(canary)


def router(kube: Kube, services: Services, *, provider: str = "appmesh:v1beta2") -> MeshRouter:
    """The router of the appmesh providers."""
    traffic = AppMeshTraffic(kube, provider=provider, selector_labels=services.selector_labels)
    return MeshRouter(services, traffic, provider=provider, capabilities=capabilities)


capabilities = always(CAPABILITIES)
