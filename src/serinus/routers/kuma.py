"""Kuma: the ``TrafficRoute <apex>`` (``kuma.io/v1alpha1``), as Flagger's kuma router writes it.

A TrafficRoute is cluster-scoped and names its mesh beside the spec (``mesh``: the Canary's
``kuma.io/mesh`` annotation, else ``default``). It applies to traffic from every service
(``kuma.io/service: "*"``) to the apex, and splits it between the primary and the canary, Kuma
naming each by ``<service>_<namespace>_svc_<port>``. Being cluster-scoped it has no owner
reference (see :mod:`serinus.routers.objects`), and deleting the Canary leaves it behind, as in
Flagger. One consequence Flagger has too: two Canaries with the same apex name in two namespaces
want the same TrafficRoute; serinus refuses the second (it names the first) instead of letting
them overwrite each other. Flagger's router splits by weight only, and so does this one (Kuma's
newer MeshHTTPRoute policies are not written).
"""

from __future__ import annotations

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.capabilities import Capabilities, always
from serinus.kube import Kube
from serinus.ports import Routes
from serinus.routers import quantities
from serinus.routers.base import MeshRouter, one_object
from serinus.routers.names import ServiceNames
from serinus.routers.objects import Blueprint, Desired
from serinus.routers.services import Services

API_VERSION = "kuma.io/v1alpha1"
PROVIDER = "kuma"
MESH_ANNOTATION = "kuma.io/mesh"
SERVICE_TAG = "kuma.io/service"
CAPABILITIES = Capabilities()
"""Weights only."""


def kuma_service(canary: Canary, name: str) -> str:
    """Kuma's name of a Kubernetes Service port: ``<name>_<namespace>_svc_<port>``."""
    return f"{name}_{canary.namespace}_svc_{canary.spec.service.port}"


class TrafficRouteBlueprint(Blueprint):
    """The cluster-scoped ``TrafficRoute <apex>``."""

    api_version = API_VERSION
    kind = "TrafficRoute"
    namespaced = False

    def name(self, canary: Canary) -> str:
        return ServiceNames.of(canary).apex

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        names = ServiceNames.of(canary)
        spec = {
            "sources": [{"match": {SERVICE_TAG: "*"}}],
            "destinations": [{"match": {SERVICE_TAG: kuma_service(canary, names.apex)}}],
            "conf": {
                "split": [
                    {
                        "weight": routes.primary,
                        "destination": {SERVICE_TAG: kuma_service(canary, names.primary)},
                    },
                    {
                        "weight": routes.canary,
                        "destination": {SERVICE_TAG: kuma_service(canary, names.canary)},
                    },
                ]
            },
        }
        mesh = (canary.metadata.annotations or {}).get(MESH_ANNOTATION) or "default"
        return Desired.with_metadata({"mesh": mesh, "spec": spec}, canary.spec.service.apex)

    def routes(self, canary: Canary, manifest: Manifest) -> Routes:
        names = ServiceNames.of(canary)
        by_name: dict[object, object] = {}
        split = ((manifest.get("spec") or {}).get("conf") or {}).get("split") or []
        for item in split:
            service = str((item.get("destination") or {}).get(SERVICE_TAG) or "")
            by_name[service.split("_")[0]] = item.get("weight") or 0
        what = f"{self.kind} {self.name(canary)}"
        return quantities.routes(by_name, names, what=what, provider=PROVIDER)


def router(kube: Kube, services: Services) -> MeshRouter:
    """The kuma provider's router."""
    blueprint = TrafficRouteBlueprint()
    return one_object(kube, services, blueprint, provider=PROVIDER, capabilities=capabilities)


capabilities = always(CAPABILITIES)
