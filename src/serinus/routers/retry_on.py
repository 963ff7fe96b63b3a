"""``spec.service.retries.retryOn`` checked against what a mesh's schema takes.

The Canary's ``retryOn`` is Envoy's list as Istio takes it (``gateway-error,connect-failure,503``).
Contour and App Mesh declare an enum of their own for it in their CRDs, so a value outside it
would fail the router's write at run time, after the rollout started. The router's ``problems``
refuse such a Canary when it is checked instead, naming the field and what the mesh takes.
"""

from __future__ import annotations

from collections.abc import Set

from serinus.apis.canary import Canary

_SHOWN = 5
"""How many unknown values a message names at most (the field is the user's free text)."""


def unknown(canary: Canary, allowed: Set[str], *, mesh: str) -> list[str]:
    """A problem naming ``retryOn``'s values that ``mesh`` does not take; none when all are."""
    retries = canary.spec.service.retries
    if retries is None or not retries.retry_on:
        return []
    found = [value for value in retries.retry_on.split(",") if value not in allowed]
    if not found:
        return []
    shown = ", ".join(value[:40] for value in found[:_SHOWN])
    more = f" and {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
    return [
        f"spec.service.retries.retryOn: {mesh} retries on {', '.join(sorted(allowed))} only, "
        f"found {shown}{more}"
    ]
