"""Istio: the ``VirtualService <apex>`` and the ``DestinationRules <apex>-primary``/``-canary``.

The VirtualService (``networking.istio.io/v1beta1``) answers for ``spec.service.hosts`` plus the
apex name (unless a host is the apex or ``*``), on ``spec.service.gateways`` or, when none is
given, the ``mesh`` gateway. Its HTTP route carries the route options of ``spec.service``
(``match``, ``rewrite``, ``timeout``, ``retries``, ``corsPolicy``, ``headers``) and two weighted
destinations on the service port, primary first. A delegate VirtualService
(``spec.service.delegation``) has neither hosts nor gateways.

* A/B testing: a first route with the A/B conditions (given the route's uri condition) holds the
  weights, a second sends everything else to the primary.
* Mirroring: the weighted route mirrors to ``<apex>-canary``, ``mirrorPercentage`` from
  ``analysis.mirrorWeight`` when set.
* ``appProtocol: tcp``: a TCP route with the two weighted destinations and no HTTP route (no
  matching, no mirroring: :func:`capabilities` says so for such a Canary).

* Session affinity (:mod:`serinus.routers.affinity`): while the canary has traffic, a first
  route sends requests with the run's canary cookie to the canary (and, with a
  ``primaryCookieName``, a second route those with the primary cookie to the primary); the
  weighted route, last, sets the cookies on its destinations' responses. Once the canary has no
  traffic, a first route answers the run's cookie expired. The weights are read from the last
  route.

Each DestinationRule names its Service as host and carries ``spec.service.trafficPolicy``.
"""

from __future__ import annotations

import dataclasses

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.capabilities import Capabilities, Matching
from serinus.errors import RouterError
from serinus.kube import Kube
from serinus.ports import Routes
from serinus.routers import affinity, http_matches, metadata
from serinus.routers.base import MeshRouter
from serinus.routers.names import ServiceNames
from serinus.routers.objects import Blueprint, Desired, ManagedObject
from serinus.routers.services import Services

API_VERSION = "networking.istio.io/v1beta1"
CAPABILITIES = Capabilities(matching=Matching("Istio"), mirroring=True, session_affinity=True)
"""Weights, A/B on anything an HTTPMatchRequest holds, mirroring (by ``mirrorWeight`` percent),
session affinity."""
TCP = Capabilities(limitation="routes spec.service.appProtocol tcp by weight only")
"""A TCP route: weights only."""


class VirtualServiceBlueprint(Blueprint):
    api_version = API_VERSION
    kind = "VirtualService"

    def __init__(self, *, provider: str) -> None:
        self.provider = provider

    def name(self, canary: Canary) -> str:
        return ServiceNames.of(canary).apex

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        spec = virtual_service_spec(canary, routes)
        return Desired.with_metadata({"spec": spec}, canary.spec.service.apex)

    def routes(self, canary: Canary, manifest: Manifest) -> Routes:
        names = ServiceNames.of(canary)
        spec = manifest.get("spec") or {}
        candidates = [*(spec.get("http") or []), *(spec.get("tcp") or [])]
        if affinity.applies(canary) and spec.get("http"):
            candidates = [spec["http"][-1]]  # the weighted route comes after the sticky ones
        for route in candidates:
            weights = {
                (d.get("destination") or {}).get("host"): d.get("weight", 0)
                for d in route.get("route") or []
            }
            if names.canary not in weights:
                continue
            primary, canary_weight = (
                int(weights.get(names.primary) or 0),
                int(weights[names.canary]),
            )
            if primary + canary_weight == 0:
                break
            mirrored = (route.get("mirror") or {}).get("host") == names.canary
            return Routes(primary, canary_weight, mirrored=mirrored)
        raise RouterError(
            self.provider,
            f"VirtualService {canary.namespace}/{self.name(canary)}: does not contain routes for "
            f"{names.primary} and {names.canary}",
        )


class DestinationRuleBlueprint(Blueprint):
    """``<apex>-primary`` or ``<apex>-canary``: the Service's traffic policy; no routes."""

    api_version = API_VERSION
    kind = "DestinationRule"

    def __init__(self, side: str) -> None:
        self.side = side

    def name(self, canary: Canary) -> str:
        names = ServiceNames.of(canary)
        return names.primary if self.side == "primary" else names.canary

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        spec: Manifest = {"host": self.name(canary)}
        if canary.spec.service.traffic_policy:
            spec["trafficPolicy"] = dict(canary.spec.service.traffic_policy)
        return Desired(body={"spec": spec}, annotations=dict(metadata.FLUX_ANNOTATIONS))


def virtual_service_spec(canary: Canary, routes: Routes) -> Manifest:
    """The VirtualService spec for the Canary with the given weights (and mirror)."""
    service = canary.spec.service
    analysis = canary.spec.effective_analysis
    spec: Manifest = {}
    if not service.delegation:
        hosts = list(service.hosts or [])
        if not any(host in (canary.spec.service_name, "*") for host in hosts):
            hosts.append(canary.spec.service_name)
        spec["hosts"] = hosts
        spec["gateways"] = list(service.gateways or ["mesh"])
    names = ServiceNames.of(canary)
    weighted = [
        _destination(names.primary, service.port, routes.primary),
        _destination(names.canary, service.port, routes.canary),
    ]
    if _tcp(canary):
        spec["tcp"] = [{"route": weighted}]
        return spec
    first = {**_route_options(canary), "route": weighted}
    if routes.mirrored:
        first["mirror"] = {"host": names.canary, "port": {"number": service.port}}
        if analysis is not None and analysis.mirror_weight:
            first["mirrorPercentage"] = {"value": float(analysis.mirror_weight)}
    cookies = affinity.cookies(canary, routes)
    if cookies is not None:
        service_match = [dict(m) for m in service.match or []]
        api = _CookieRoutes(names, service.port, service_match)
        spec["http"] = affinity.sticky_routes(cookies, first, api, names)
        return spec
    if analysis is None or not analysis.match:
        spec["http"] = [first]
        return spec
    first["match"] = http_matches.merge_istio(
        [dict(m) for m in analysis.match], [dict(m) for m in service.match or []]
    )
    rest = {**_route_options(canary), "route": [_destination(names.primary, service.port, 100)]}
    spec["http"] = [first, rest]
    return spec


@dataclasses.dataclass(frozen=True)
class _CookieRoutes:
    """How a VirtualService spells the session-affinity routes (:class:`affinity.CookieRoutes`)."""

    names: ServiceNames
    port: int
    service_match: list[Manifest]
    """The route's own conditions (``spec.service.match``), whose uri every cookie route keeps."""

    def on_cookie(self, route: Manifest, cookie: str) -> Manifest:
        match = {"headers": {affinity.COOKIE_HEADER: {"regex": affinity.match_regex(cookie)}}}
        return {**route, "match": http_matches.merge_istio([match], self.service_match)}

    def pinned(self, route: Manifest, *, canary: int) -> Manifest:
        primary = _destination(self.names.primary, self.port, 100 - canary)
        return {**route, "route": [primary, _destination(self.names.canary, self.port, canary)]}

    def answering(self, route: Manifest, set_cookie: str) -> Manifest:
        return {**route, "headers": {**(route.get("headers") or {}), **_set_cookie(set_cookie)}}

    def set_cookie(self, route: Manifest, backend: str, set_cookie: str) -> None:
        for destination in route["route"]:
            if destination["destination"]["host"] == backend:
                destination["headers"] = _set_cookie(set_cookie)


def _set_cookie(value: str) -> Manifest:
    return {"response": {"add": {affinity.SET_COOKIE_HEADER: value}}}


def _route_options(canary: Canary) -> Manifest:
    service = canary.spec.service
    options: Manifest = {}
    if service.match:
        options["match"] = [dict(m) for m in service.match]
    if service.rewrite is not None:
        rewrite = {"uri": service.rewrite.uri, "authority": service.rewrite.authority}
        rewrite = {key: value for key, value in rewrite.items() if value}
        if rewrite:
            options["rewrite"] = rewrite
    if service.timeout:
        options["timeout"] = service.timeout
    if service.retries is not None:
        options["retries"] = service.retries.dump()
    if service.cors_policy:
        options["corsPolicy"] = dict(service.cors_policy)
    if service.headers:
        options["headers"] = dict(service.headers)
    return options


def _destination(host: str, port: int, weight: int) -> Manifest:
    return {"destination": {"host": host, "port": {"number": port}}, "weight": weight}


def _tcp(canary: Canary) -> bool:
    return (canary.spec.service.app_protocol or "").lower() == "tcp"


class IstioTraffic:
    """The VirtualService, with the two DestinationRules reconciled and finalized alongside."""

    def __init__(self, kube: Kube, *, provider: str) -> None:
        self.virtual_service = ManagedObject(
            kube, VirtualServiceBlueprint(provider=provider), provider=provider
        )
        self.rules = [
            ManagedObject(kube, DestinationRuleBlueprint(side), provider=provider)
            for side in ("canary", "primary")
        ]

    async def reconcile(self, canary: Canary) -> None:
        for rule in self.rules:
            await rule.reconcile(canary)
        await self.virtual_service.reconcile(canary)

    async def set_routes(
        self, canary: Canary, routes: Routes, *, current: Routes | None = None
    ) -> None:
        await self.virtual_service.set_routes(canary, routes, current=current)

    async def get_routes(self, canary: Canary) -> Routes:
        return await self.virtual_service.get_routes(canary)

    async def finalize(self, canary: Canary) -> None:
        await self.virtual_service.finalize(canary)
        for rule in self.rules:
            await rule.finalize(canary)


def router(kube: Kube, services: Services, *, provider: str = "istio") -> MeshRouter:
    """The istio provider's router."""
    return MeshRouter(
        services,
        IstioTraffic(kube, provider=provider),
        provider=provider,
        capabilities=capabilities,
    )


def capabilities(canary: Canary) -> Capabilities:
    """Everything Istio routes for HTTP; weights only for a TCP service."""
    return TCP if _tcp(canary) else CAPABILITIES
