"""Gloo Edge: the ``RouteTable <apex>`` (``gateway.solo.io/v1``) over two ``Upstream`` objects.

Flagger's gloo router no longer relies on Gloo's discovery: it writes an Upstream
(``gloo.solo.io/v1``) for each side, ``<namespace>-<apex>-primaryupstream-<port>`` and
``<namespace>-<apex>-canaryupstream-<port>``, each a ``kube`` upstream of the ``-primary`` or
``-canary`` Service (its name, namespace, the service port and the Service's selector). The
Gloo-specific Canary field ``spec.upstreamRef`` names an Upstream whose connection settings
(``sslConfig``, ``circuitBreakers``, ``connectionConfig``, ``loadBalancerConfig``, ``useHttp2``,
the window sizes, ``httpProxyHostname``) are copied into both.

The RouteTable, which a user's Gloo VirtualService delegates to, has one route with
``inheritablePathMatchers`` and a ``multi`` action of the two upstreams, primary first; as in
Flagger's JSON a weight of 0 is left out. A/B testing (``analysis.match``): the route gets one
matcher per match request, its headers (exact as a value; regex, prefix and suffix as a regular
expression, which Flagger writes only for regex) and its method; Gloo ORs the matchers and ANDs
what is in one. Unlike Flagger, a second route then sends every other request to the primary:
without it, Gloo answers 404 to everything the A/B conditions do not match (``serinus validate``
notes the difference).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.capabilities import STRING_KINDS, Capabilities, Matching, always
from serinus.errors import RouterError
from serinus.kube import Kube
from serinus.ports import Routes
from serinus.routers import http_matches, quantities
from serinus.routers.base import MeshRouter
from serinus.routers.names import ServiceNames, where
from serinus.routers.objects import ALL_TO_PRIMARY, Blueprint, Desired, ManagedObject
from serinus.routers.services import Services

ROUTE_TABLE_API = "gateway.solo.io/v1"
UPSTREAM_API = "gloo.solo.io/v1"
PROVIDER = "gloo"
CAPABILITIES = Capabilities(
    matching=Matching("Gloo", fields={"headers": STRING_KINDS, "method": frozenset({"exact"})})
)
"""Weights, and A/B on headers and the method; no mirroring, no session affinity (Flagger's
gloo router does neither)."""

COPIED = (
    "sslConfig",
    "circuitBreakers",
    "connectionConfig",
    "loadBalancerConfig",
    "useHttp2",
    "initialStreamWindowSize",
    "initialConnectionWindowSize",
    "httpProxyHostname",
)
"""The fields of ``spec.upstreamRef``'s Upstream that the generated Upstreams take over, under
the names of Gloo's Upstream schema. Flagger's list also has ``labels`` (no such spec field in
Gloo's schema) and ``httpProxyHostName`` (misspelt, so Gloo's pruning means it is never copied)."""


def upstream_name(canary: Canary, role: str) -> str:
    """``<namespace>-<apex>-<role>upstream-<port>``, Flagger's name."""
    apex = ServiceNames.of(canary).apex
    return f"{canary.namespace}-{apex}-{role}upstream-{canary.spec.service.port}"


class UpstreamBlueprint(Blueprint):
    """The Upstream of ``<apex>-primary`` or ``<apex>-canary``."""

    api_version = UPSTREAM_API
    kind = "Upstream"

    def __init__(self, kube: Kube, role: str) -> None:
        self.kube = kube
        self.role = role

    def name(self, canary: Canary) -> str:
        return upstream_name(canary, self.role)

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        names = ServiceNames.of(canary)
        service_name = names.primary if self.role == "primary" else names.canary
        service = await self.kube.get("v1", "Service", service_name, canary.namespace)
        if service is None:
            raise RouterError(
                PROVIDER, f"{where('Service', canary, service_name)}: not found (initialize first)"
            )
        spec = await self._configured(canary)
        spec["kube"] = {
            "serviceName": service_name,
            "serviceNamespace": canary.namespace,
            "servicePort": canary.spec.service.port,
            "selector": dict((service.get("spec") or {}).get("selector") or {}),
        }
        return Desired(body={"spec": spec})

    async def _configured(self, canary: Canary) -> Manifest:
        """The copied fields of ``spec.upstreamRef``'s Upstream (empty without one)."""
        ref = canary.spec.upstream_ref
        if ref is None:
            return {}
        namespace = ref.namespace or canary.namespace
        found = await self.kube.get(UPSTREAM_API, "Upstream", ref.name, namespace)
        if found is None:
            raise RouterError(
                PROVIDER,
                f"spec.upstreamRef: Upstream {namespace}/{ref.name} not found (its settings are "
                "copied into the generated Upstreams)",
            )
        spec = found.get("spec") or {}
        return {key: spec[key] for key in COPIED if spec.get(key) not in (None, "", 0, False)}


class RouteTableBlueprint(Blueprint):
    """``RouteTable <apex>``: the weighted route over the two Upstreams (plus A/B matchers)."""

    api_version = ROUTE_TABLE_API
    kind = "RouteTable"

    def name(self, canary: Canary) -> str:
        return ServiceNames.of(canary).apex

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        return Desired.with_metadata(
            {"spec": route_table_spec(canary, routes)}, canary.spec.service.apex
        )

    def routes(self, canary: Canary, manifest: Manifest) -> Routes:
        found = (manifest.get("spec") or {}).get("routes") or []
        action = (found[0].get("routeAction") or {}) if found else {}
        by_name: dict[object, object] = {}
        for item in (action.get("multi") or {}).get("destinations") or []:
            upstream = ((item.get("destination") or {}).get("upstream")) or {}
            by_name[upstream.get("name")] = item.get("weight") or 0
        upstreams = ServiceNames(
            apex="",
            primary=upstream_name(canary, "primary"),
            canary=upstream_name(canary, "canary"),
        )
        what = where(self.kind, canary, self.name(canary))
        return quantities.routes(by_name, upstreams, what=what, provider=PROVIDER)


def route_table_spec(canary: Canary, routes: Routes) -> Manifest:
    """The RouteTable spec for the Canary with the given weights."""
    analysis = canary.spec.effective_analysis
    matches = list(analysis.match or []) if analysis is not None else []
    weighted = _route(canary, routes)
    if not matches:
        return {"routes": [weighted]}
    matchers = [_matcher(match, index) for index, match in enumerate(matches)]
    return {"routes": [{"matchers": matchers, **weighted}, _route(canary, ALL_TO_PRIMARY)]}


def notes(canary: Canary) -> list[str]:
    """The A/B fallback route Flagger does not write."""
    analysis = canary.spec.effective_analysis
    if analysis is None or not analysis.match:
        return []
    return [
        "spec.analysis.match: serinus adds a second route sending requests that match no A/B "
        "condition to the primary; Flagger's RouteTable has none, so Gloo answers them 404"
    ]


def _route(canary: Canary, routes: Routes) -> Manifest:
    destinations = []
    for role, weight in (("primary", routes.primary), ("canary", routes.canary)):
        ref = {"name": upstream_name(canary, role), "namespace": canary.namespace}
        destination: Manifest = {"destination": {"upstream": ref}}
        if weight:
            destination["weight"] = weight
        destinations.append(destination)
    return {
        "inheritablePathMatchers": True,
        "routeAction": {"multi": {"destinations": destinations}},
    }


def _matcher(match: Mapping[str, Any], index: int) -> Manifest:
    """One match request as a Gloo matcher: its headers and method."""
    field = f"spec.analysis.match[{index}]"
    found: Manifest = {}
    headers = []
    for name, condition in sorted((match.get("headers") or {}).items()):
        kind, text = http_matches.string_match(condition, field=f"{field}.headers.{name}")
        if kind == "exact":
            headers.append({"name": name, "value": text})
        else:
            headers.append(
                {"name": name, "value": http_matches.as_regex(kind, text), "regex": True}
            )
    if headers:
        found["headers"] = headers
    if "method" in match:
        _, method = http_matches.string_match(match["method"], field=f"{field}.method")
        found["methods"] = [method]
    return found


class GlooTraffic:
    """The two Upstreams, then the RouteTable that weighs them."""

    def __init__(self, kube: Kube) -> None:
        self.route_table = ManagedObject(kube, RouteTableBlueprint(), provider=PROVIDER)
        self.upstreams = [
            ManagedObject(kube, UpstreamBlueprint(kube, role), provider=PROVIDER)
            for role in ("primary", "canary")
        ]

    async def reconcile(self, canary: Canary) -> None:
        for upstream in self.upstreams:
            await upstream.reconcile(canary)
        await self.route_table.reconcile(canary)

    async def set_routes(
        self, canary: Canary, routes: Routes, *, current: Routes | None = None
    ) -> None:
        await self.route_table.set_routes(canary, routes, current=current)

    async def get_routes(self, canary: Canary) -> Routes:
        return await self.route_table.get_routes(canary)

    async def finalize(self, canary: Canary) -> None:
        await self.route_table.finalize(canary)
        for upstream in self.upstreams:
            await upstream.finalize(canary)


def router(kube: Kube, services: Services) -> MeshRouter:
    """The gloo provider's router."""
    return MeshRouter(services, GlooTraffic(kube), provider=PROVIDER, capabilities=capabilities)


capabilities = always(CAPABILITIES)
