"""SMI ``TrafficSplit`` (``split.smi-spec.io``): the providers ``linkerd``, ``osm`` and ``smi:*``.

One TrafficSplit named after the apex, ``spec.service`` = the first of ``spec.service.hosts`` or
the apex, and two backends, canary first as Flagger writes them: ``<apex>-canary`` and
``<apex>-primary`` with their weights. The three API versions differ only in how a weight is
written, so the version is a parameter rather than three modules:

* ``v1alpha1`` (Linkerd's SMI extension): a Kubernetes quantity; serinus writes whole numbers as
  strings (``"90"``, ``"10"``), as a Go ``resource.Quantity`` marshals them;
* ``v1alpha2`` (OSM) and ``v1alpha3``: an integer.

Weights are relative, so what other tools write (``"900m"``/``"100m"``) reads back as 90/10.

A TrafficSplit can neither match requests nor mirror them (:data:`CAPABILITIES`: weights only),
so a Canary asking for A/B testing (``analysis.match``) or mirroring is refused when it is
checked, with a message naming the field, where Flagger would quietly send *all* traffic to the
canary during an A/B run.
"""

from __future__ import annotations

from fractions import Fraction

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.capabilities import Capabilities, always
from serinus.errors import RouterError
from serinus.kube import Kube
from serinus.ports import Routes
from serinus.routers import quantities
from serinus.routers.base import MeshRouter, one_object
from serinus.routers.names import ServiceNames
from serinus.routers.objects import Blueprint, Desired
from serinus.routers.services import Services

GROUP = "split.smi-spec.io"
VERSIONS = ("v1alpha1", "v1alpha2", "v1alpha3")
CAPABILITIES = Capabilities()
"""A TrafficSplit splits by weight, and does nothing else."""


class TrafficSplitBlueprint(Blueprint):
    """The TrafficSplit of one API version."""

    kind = "TrafficSplit"

    def __init__(self, version: str, *, provider: str) -> None:
        if version not in VERSIONS:
            raise ValueError(f"version: expected one of {', '.join(VERSIONS)}, found {version!r}")
        self.version = version
        self.api_version = f"{GROUP}/{version}"
        self.provider = provider

    def name(self, canary: Canary) -> str:
        return ServiceNames.of(canary).apex

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        names = ServiceNames.of(canary)
        hosts = canary.spec.service.hosts or []
        spec = {
            "service": hosts[0] if hosts else names.apex,
            "backends": [
                {"service": names.canary, "weight": self._weight(routes.canary)},
                {"service": names.primary, "weight": self._weight(routes.primary)},
            ],
        }
        return Desired.with_metadata({"spec": spec}, canary.spec.service.apex)

    def routes(self, canary: Canary, manifest: Manifest) -> Routes:
        names = ServiceNames.of(canary)
        what = f"TrafficSplit {canary.namespace}/{names.apex}"
        weights: dict[str, Fraction] = {}
        for index, backend in enumerate((manifest.get("spec") or {}).get("backends") or []):
            service = backend.get("service")
            if service in (names.primary, names.canary):
                field = f"{what}: spec.backends[{index}].weight"
                try:
                    weights[service] = quantities.parse(backend.get("weight"), field=field)
                except ValueError as error:
                    raise RouterError(self.provider, str(error)) from error
        primary, canary_weight = weights.get(names.primary), weights.get(names.canary)
        total = None if primary is None or canary_weight is None else primary + canary_weight
        if canary_weight is None or total is None or total == 0:
            raise RouterError(
                self.provider,
                f"{what}: does not contain routes for {names.primary} and {names.canary}",
            )
        canary_percent = quantities.percent(canary_weight, total)
        return Routes(primary=100 - canary_percent, canary=canary_percent)

    def _weight(self, value: int) -> int | str:
        return str(value) if self.version == "v1alpha1" else value


def router(kube: Kube, services: Services, *, version: str, provider: str) -> MeshRouter:
    """The router of an SMI provider writing TrafficSplits of ``version``."""
    blueprint = TrafficSplitBlueprint(version, provider=provider)
    return one_object(kube, services, blueprint, provider=provider, capabilities=capabilities)


capabilities = always(CAPABILITIES)
