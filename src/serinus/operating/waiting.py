"""Has the run of the target's current revision ended, and how? (``serinus status --wait``)

A pipeline runs ``kubectl set image`` and then waits. Until the operator's next tick, the Canary
still shows the previous run (Succeeded, say), so the phase alone would answer too early: the run
counts as ended only when the Canary's status is about the revision the target holds now (its
pod template hash equals ``lastPromotedSpec`` for Succeeded or Initialized, ``lastAppliedSpec``
for Failed). When the target cannot be read (no ``get`` on it), the phase alone decides.
"""

from __future__ import annotations

import enum

from serinus import errors
from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase
from serinus.kube.client import Kube
from serinus.targets import registry


class Outcome(enum.Enum):
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


async def current_revision(kube: Kube, canary: Canary) -> str | None:
    """The target's pod template hash now; None when it cannot be read."""
    try:
        target = registry.target_for(
            canary.spec.target_ref.kind, kube, config_tracking=False, track_secrets=False
        )
        return (await target.revision(canary)).spec_hash
    except (errors.ForbiddenError, errors.UnknownProviderError):
        return None


async def outcome(kube: Kube, canary: Canary) -> Outcome | None:
    """How the current revision's run ended; None while it has not."""
    status = canary.status
    if status is None or status.phase is None:
        return None
    wanted: tuple[str | None, ...]
    if status.phase is CanaryPhase.FAILED:
        wanted, ended = (status.last_applied_spec, status.last_promoted_spec), Outcome.FAILED
    elif status.phase in (CanaryPhase.SUCCEEDED, CanaryPhase.INITIALIZED):
        wanted, ended = (status.last_promoted_spec,), Outcome.SUCCEEDED
    else:
        return None
    current = await current_revision(kube, canary)
    if current is None or current in wanted:
        return ended
    return None
