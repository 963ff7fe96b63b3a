"""How the routers name things: the three Services of a Canary, and an object in an error.

:class:`ServiceNames` gives the apex Service (``spec.service.name``, else the target's name) and
its ``-primary`` and ``-canary`` copies, the names Flagger's users rely on; :func:`where` names an
object the way errors do (``TrafficSplit prod/podinfo``). Every router module uses both.
"""

from __future__ import annotations

import dataclasses
import functools

from serinus.apis.canary import Canary


@dataclasses.dataclass(frozen=True)
class ServiceNames:
    """The apex Service (``spec.service.name``, else the target's name) and its two copies."""

    apex: str
    primary: str
    canary: str

    @classmethod
    def of(cls, canary: Canary) -> ServiceNames:
        return _named(canary.spec.service_name)


@functools.lru_cache(maxsize=4096)
def _named(apex: str) -> ServiceNames:
    """The names for an apex (asked many times a tick; frozen, so shared)."""
    return ServiceNames(apex=apex, primary=f"{apex}-primary", canary=f"{apex}-canary")


def where(kind: str, canary: Canary, name: str) -> str:
    """``Kind namespace/name`` of an object in the Canary's namespace, as errors name it."""
    return f"{kind} {canary.namespace}/{name}"
