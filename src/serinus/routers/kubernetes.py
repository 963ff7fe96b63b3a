"""The ``kubernetes`` provider: no mesh, the apex Service's selector is the only switch.

Without a mesh nothing can split traffic by weight (:data:`CAPABILITIES`), so the controller runs
every release of this provider as blue/green (and says so). Routes are all-or-nothing: 100/0
points the apex at the primary's pods, 0/100 at the canary's (the target's) pods, and any split in
between is refused with a RouterError instead of being pretended (see
:class:`~serinus.routers.services.ServiceBlueprint`). The controller moves the apex to the canary
only when a promotion fails and the canary, which runs the new revision, must keep the traffic
(Flagger 1.44, #1898); ``reconcile`` then leaves it there until routes move it back.

Flagger's no-op router reports 100/0 or 0/100 from the status' iteration count; serinus reads the
apex Service, so the answer is what the cluster does. A plain Service target has no apex of
serinus's: its routes stay 100/0 and are never written.
"""

from __future__ import annotations

from serinus.apis.canary import Canary
from serinus.capabilities import Capabilities, always
from serinus.ports import Routes
from serinus.routers.base import MeshRouter
from serinus.routers.objects import ALL_TO_PRIMARY
from serinus.routers.services import Services, service_target

PROVIDER = "kubernetes"
CAPABILITIES = Capabilities(
    weights=False, limitation="switches all traffic at once through the apex Service (blue/green)"
)
"""All traffic to one side: no weights, no matching, no mirroring."""


class ApexSelector:
    """The apex Service's selector as the traffic object: all to the primary or to the canary."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def reconcile(self, canary: Canary) -> None:
        """Nothing beyond the apex Service, which :class:`MeshRouter` reconciles."""

    async def set_routes(
        self, canary: Canary, routes: Routes, *, current: Routes | None = None
    ) -> None:
        if service_target(canary):
            return  # the target Service is the user's: nothing here switches it
        await self.services.apex().set_routes(canary, routes, current=current)

    async def get_routes(self, canary: Canary) -> Routes:
        if service_target(canary):
            return ALL_TO_PRIMARY
        return await self.services.apex().get_routes(canary)

    async def finalize(self, canary: Canary) -> None:
        """Nothing beyond the apex Service, which :class:`MeshRouter` gives back."""


def router(services: Services) -> MeshRouter:
    """The kubernetes provider's router."""
    return MeshRouter(
        services, ApexSelector(services), provider=PROVIDER, capabilities=capabilities
    )


capabilities = always(CAPABILITIES)
