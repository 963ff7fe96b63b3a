"""Apache APISIX: a canary copy of the ``ApisixRoute`` named by ``spec.routeRef``.

The user's ApisixRoute (``apisix.apache.org/v2``) sends one of its HTTP routes to the apex
Service. Flagger's apisix router copies that route, alone, into a second ApisixRoute named
``<routeRef>-<apex>-canary`` with the source's labels and annotations, gives it priority 10000
(so the ingress controller prefers it to the source), points its backend at ``<apex>-primary``
and adds ``<apex>-canary`` with the same port, resolve granularity and subset; both carry their
weight. The source is never changed, so deleting the copy gives the traffic back to it.

The route must have exactly one backend (Flagger's limit), and ``spec.routeRef`` must name an
ApisixRoute; without one the Canary is invalid for this provider. APISIX's route cannot match,
mirror or pin sessions in Flagger's router, so the provider splits by weight only. The built-in
metrics select the copy's route (``<namespace>_<routeRef>-<apex>-canary_<n>``), whose series mix
both sides: the primary cannot be measured apart (see :mod:`serinus.metrics.queries`).
"""

from __future__ import annotations

import copy

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.capabilities import Capabilities, always
from serinus.errors import InvalidCanaryError, RouterError
from serinus.kube import Kube
from serinus.ports import Routes
from serinus.routers import metadata, quantities
from serinus.routers.base import MeshRouter, one_object
from serinus.routers.names import ServiceNames, where
from serinus.routers.objects import Blueprint, Desired
from serinus.routers.services import Services

API_VERSION = "apisix.apache.org/v2"
PROVIDER = "apisix"
PRIORITY = 10000
CAPABILITIES = Capabilities()
"""Weights only."""


def route_name(canary: Canary) -> str:
    """``spec.routeRef.name``; InvalidCanaryError without one."""
    ref = canary.spec.route_ref
    if ref is None or not ref.name:
        raise InvalidCanaryError(
            "spec.routeRef: expected the ApisixRoute that sends to the apex Service (provider "
            "apisix), found none"
        )
    return ref.name


def problems(canary: Canary) -> list[str]:
    """What the Canary lacks for this provider."""
    try:
        route_name(canary)
    except InvalidCanaryError as error:
        return [str(error)]
    return []


class CanaryRouteBlueprint(Blueprint):
    """``<routeRef>-<apex>-canary``: the source's route to the apex, weighed."""

    api_version = API_VERSION
    kind = "ApisixRoute"

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def name(self, canary: Canary) -> str:
        return f"{route_name(canary)}-{ServiceNames.of(canary).apex}-canary"

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        source = await self._source(canary)
        names = ServiceNames.of(canary)
        spec = copy.deepcopy(source.get("spec") or {})
        http = _route_to(spec, names.apex)
        source_what = where(self.kind, canary, route_name(canary))
        if http is None:
            raise RouterError(
                PROVIDER, f"{source_what}: no http route sends to the apex Service {names.apex}"
            )
        backends = http.get("backends") or []
        if len(backends) != 1:
            raise RouterError(
                PROVIDER,
                f"{source_what}: http route {http.get('name')} has {len(backends)} backends; "
                "only one is supported",
            )
        primary = {**backends[0], "serviceName": names.primary, "weight": routes.primary}
        second = {"serviceName": names.canary, "servicePort": primary.get("servicePort")}
        for key in ("resolveGranularity", "subset"):
            if primary.get(key):
                second[key] = primary[key]
        second["weight"] = routes.canary
        http["priority"] = PRIORITY
        http["backends"] = [primary, second]
        meta = source.get("metadata") or {}
        annotations = {
            key: value
            for key, value in (meta.get("annotations") or {}).items()
            if key != metadata.KUBECTL_LAST_APPLIED
        }
        return Desired(
            body={"spec": {**spec, "http": [http]}},
            labels=dict(meta.get("labels") or {}),
            annotations=annotations,
        )

    def routes(self, canary: Canary, manifest: Manifest) -> Routes:
        names = ServiceNames.of(canary)
        http = _route_to(manifest.get("spec") or {}, names.primary) or {}
        by_name = {b.get("serviceName"): b.get("weight") or 0 for b in http.get("backends") or []}
        what = where(self.kind, canary, self.name(canary))
        return quantities.routes(by_name, names, what=what, provider=PROVIDER)

    async def _source(self, canary: Canary) -> Manifest:
        name = route_name(canary)
        found = await self.kube.get(API_VERSION, self.kind, name, canary.namespace)
        if found is None:
            raise RouterError(PROVIDER, f"{where(self.kind, canary, name)}: not found")
        return found


def _route_to(spec: Manifest, service: str) -> Manifest | None:
    """The first HTTP route with a backend named ``service`` (the object's own dict)."""
    for http in spec.get("http") or []:
        if any(backend.get("serviceName") == service for backend in http.get("backends") or []):
            return dict(http)
    return None


def router(kube: Kube, services: Services) -> MeshRouter:
    """The apisix provider's router."""
    blueprint = CanaryRouteBlueprint(kube)
    return one_object(kube, services, blueprint, provider=PROVIDER, capabilities=capabilities)


capabilities = always(CAPABILITIES)
