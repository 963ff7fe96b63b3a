"""Traefik: the ``TraefikService <apex>`` (``traefik.io/v1alpha1``), a weighted round robin.

A user's IngressRoute sends to this TraefikService, which weighs ``<apex>-primary`` against
``<apex>-canary`` (each with its namespace and the service port). As Flagger writes it, the canary
is not listed while its weight is 0, so the object names only the primary at 100/0. The primary is
always listed, and always with its weight: Traefik gives a service without a weight the weight 1,
so Flagger's primary at 0 (its weight left out) would keep getting a share of the traffic while
the canary should have it all. Flagger's traefik router cannot match requests, mirror or pin
sessions, so the provider splits by weight only.
"""

from __future__ import annotations

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.capabilities import Capabilities, always
from serinus.kube import Kube
from serinus.ports import Routes
from serinus.routers import quantities
from serinus.routers.base import MeshRouter, one_object
from serinus.routers.names import ServiceNames, where
from serinus.routers.objects import Blueprint, Desired
from serinus.routers.services import Services

API_VERSION = "traefik.io/v1alpha1"
PROVIDER = "traefik"
CAPABILITIES = Capabilities()
"""Weights only."""


class TraefikServiceBlueprint(Blueprint):
    """``TraefikService <apex>`` with the weighted services."""

    api_version = API_VERSION
    kind = "TraefikService"

    def name(self, canary: Canary) -> str:
        return ServiceNames.of(canary).apex

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        names = ServiceNames.of(canary)
        services = [
            _service(canary, name, weight)
            for name, weight in ((names.primary, routes.primary), (names.canary, routes.canary))
            if weight > 0 or name == names.primary
        ]
        spec = {"weighted": {"services": services}}
        return Desired.with_metadata({"spec": spec}, canary.spec.service.apex)

    def routes(self, canary: Canary, manifest: Manifest) -> Routes:
        weighted = (manifest.get("spec") or {}).get("weighted") or {}
        by_name = {
            item.get("name"): item.get("weight") or 0 for item in weighted.get("services") or []
        }
        what = where(self.kind, canary, self.name(canary))
        return quantities.routes(by_name, ServiceNames.of(canary), what=what, provider=PROVIDER)


def _service(canary: Canary, name: str, weight: int) -> Manifest:
    port = canary.spec.service.port
    return {"name": name, "namespace": canary.namespace, "port": port, "weight": weight}


def router(kube: Kube, services: Services) -> MeshRouter:
    """The traefik provider's router."""
    blueprint = TraefikServiceBlueprint()
    return one_object(kube, services, blueprint, provider=PROVIDER, capabilities=capabilities)


capabilities = always(CAPABILITIES)
