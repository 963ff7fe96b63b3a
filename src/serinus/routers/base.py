"""The contract of a mesh's traffic object, and the router that joins it to the Services.

Every provider does the same thing to the same three Services (``<apex>``, ``<apex>-primary``,
``<apex>-canary``, see :mod:`serinus.routers.services`) and differs only in the one object that
splits the traffic: an SMI TrafficSplit, a Gateway API HTTPRoute, an Istio VirtualService, a canary
Ingress for NGINX, or, for the kubernetes provider, the apex Service's selector itself. So a mesh
module supplies a :class:`TrafficObject` (four methods, Flagger's ``router.Interface``) and the
:class:`~serinus.capabilities.Capabilities` of its mesh, and :class:`MeshRouter` joins them with
the Services into the :class:`serinus.ports.Router` the controller calls. The controller calls
every method on every tick, so every method is idempotent and writes only what differs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from serinus.apis.canary import Canary
from serinus.capabilities import Capabilities
from serinus.kube import Kube
from serinus.ports import Routes
from serinus.routers.objects import Blueprint, ManagedObject
from serinus.routers.services import Services

CapabilitiesOf = Callable[[Canary], Capabilities]
"""What a mesh's router can do for a Canary (a pure function: ``serinus validate`` asks too)."""


class TrafficObject(Protocol):
    """The object of one mesh or ingress that splits traffic between primary and canary."""

    async def reconcile(self, canary: Canary) -> None:
        """Create the object at 100/0 if absent; else update its spec, keeping the weights.

        Idempotent: nothing is written when the object already is as it should be.
        """

    async def set_routes(
        self, canary: Canary, routes: Routes, *, current: Routes | None = None
    ) -> None:
        """Write the weights (and the mirror); the A/B match conditions come from the Canary.
        ``current``, when given, is what :meth:`get_routes` returned this tick."""

    async def get_routes(self, canary: Canary) -> Routes:
        """The weights the object holds now; RouterError when it is absent or unreadable."""

    async def finalize(self, canary: Canary) -> None:
        """Delete the object serinus created, or restore the one it took over."""


class MeshRouter:
    """A :class:`serinus.ports.Router`: the Services plus one mesh's traffic object.

    The order follows Flagger's tick: ``initialize`` makes ``-canary`` and ``-primary`` before the
    primary workload exists; ``reconcile`` points the apex at the primary, then writes the traffic
    object; ``finalize`` reverts the traffic object, then gives the apex back to the target.
    """

    def __init__(
        self,
        services: Services,
        traffic: TrafficObject,
        *,
        provider: str,
        capabilities: CapabilitiesOf,
    ) -> None:
        self.services = services
        self.traffic = traffic
        self.provider = provider
        self._capabilities = capabilities

    def capabilities(self, canary: Canary) -> Capabilities:
        return self._capabilities(canary)

    async def initialize(self, canary: Canary) -> None:
        await self.services.initialize(canary)

    async def reconcile(self, canary: Canary) -> None:
        await self.services.reconcile_apex(canary)
        await self.traffic.reconcile(canary)

    async def set_routes(
        self, canary: Canary, routes: Routes, *, current: Routes | None = None
    ) -> None:
        await self.traffic.set_routes(canary, routes, current=current)

    async def get_routes(self, canary: Canary) -> Routes:
        return await self.traffic.get_routes(canary)

    async def finalize(self, canary: Canary) -> None:
        await self.traffic.finalize(canary)
        await self.services.finalize(canary)


def one_object(
    kube: Kube,
    services: Services,
    blueprint: Blueprint,
    *,
    provider: str,
    capabilities: CapabilitiesOf,
) -> MeshRouter:
    """The router of a mesh whose traffic is one object (a TrafficSplit, an HTTPRoute, ...)."""
    traffic = ManagedObject(kube, blueprint, provider=provider)
    return MeshRouter(services, traffic, provider=provider, capabilities=capabilities)
