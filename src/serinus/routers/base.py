"""The contract of a mesh's traffic object, and the router that joins it to the Services.

Every provider does the same thing to the same three Services (``<apex>``, ``<apex>-primary``,
``<apex>-canary``, see :mod:`serinus.routers.services`) and differs only in the one object that
splits the traffic: an SMI TrafficSplit, a Gateway API HTTPRoute, an Istio VirtualService, a canary
Ingress for NGINX, or, for the kubernetes provider, the apex Service's selector itself. So a mesh
module supplies a :class:`TrafficObject` (four methods, Flagger's ``router.Interface``) and
:class:`MeshRouter` joins it with the Services into the :class:`serinus.ports.Router` the
controller calls. The controller calls every method on every tick, so every method is idempotent
and writes only what differs.

Names and messages shared by every module are here too: :class:`ServiceNames` and :func:`where`,
which names an object the way the errors do (``TrafficSplit prod/podinfo``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol

from serinus.apis.canary import Canary
from serinus.ports import Routes

if TYPE_CHECKING:
    from serinus.routers.services import Services


@dataclasses.dataclass(frozen=True)
class ServiceNames:
    """The apex Service (``spec.service.name``, else the target's name) and its two copies."""

    apex: str
    primary: str
    canary: str

    @classmethod
    def of(cls, canary: Canary) -> ServiceNames:
        apex = canary.spec.service_name
        return cls(apex=apex, primary=f"{apex}-primary", canary=f"{apex}-canary")


def where(kind: str, canary: Canary, name: str) -> str:
    """``Kind namespace/name`` of an object in the Canary's namespace, as errors name it."""
    return f"{kind} {canary.namespace}/{name}"


class TrafficObject(Protocol):
    """The object of one mesh or ingress that splits traffic between primary and canary."""

    async def reconcile(self, canary: Canary) -> None:
        """Create the object at 100/0 if absent; else update its spec, keeping the weights.

        Idempotent: nothing is written when the object already is as it should be.
        Raises InvalidCanaryError when the Canary asks for what the mesh cannot do.
        """

    async def set_routes(self, canary: Canary, routes: Routes) -> None:
        """Write the weights (and the mirror); the A/B match conditions come from the Canary."""

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

    def __init__(self, services: Services, traffic: TrafficObject, *, provider: str) -> None:
        self.services = services
        self.traffic = traffic
        self.provider = provider

    async def initialize(self, canary: Canary) -> None:
        await self.services.initialize(canary)

    async def reconcile(self, canary: Canary) -> None:
        await self.services.reconcile_apex(canary)
        await self.traffic.reconcile(canary)

    async def set_routes(self, canary: Canary, routes: Routes) -> None:
        await self.traffic.set_routes(canary, routes)

    async def get_routes(self, canary: Canary) -> Routes:
        return await self.traffic.get_routes(canary)

    async def finalize(self, canary: Canary) -> None:
        await self.traffic.finalize(canary)
        await self.services.finalize(canary)
