"""Deleting a Canary that has ``revertOnDeletion``: give back what can be, say what could not,
and always let it go.

Kubernetes deletes such a Canary only once serinus removes Flagger's finalizer. :func:`finalize`
runs on every tick of a Canary being deleted (the scheduler keeps ticking it), and:

1. gives the target its replicas back, then the routes (:meth:`serinus.ports.Target.finalize`,
   :meth:`serinus.ports.Router.finalize`), each on its own, so one failing does not stop the other;
2. retries, on the next tick, a step whose error may pass (the API server busy, a conflict), but
   only until ``progressDeadlineSeconds`` after ``metadata.deletionTimestamp``: the deadline lives
   in the object, so a restarted operator keeps the same one;
3. for what could not be given back (a target that is gone, a step still failing at the
   deadline), writes one Warning event and a log line that say what and why;
4. removes the finalizer, whatever happened above.

A Canary that may not touch its target (another Canary's primary, :mod:`serinus.operator.admission`)
is given nothing back: reverting would act on someone else's workload. Its finalizer is simply
removed, with a Warning event saying why.
"""

from __future__ import annotations

import datetime
import logging

from serinus.apis.canary import Canary
from serinus.errors import SerinusError, is_retriable
from serinus.kube.client import Kube
from serinus.ports import World
from serinus.targets import finalizer

logger = logging.getLogger(__name__)


async def finalize(
    kube: Kube, world: World, canary: Canary, *, refusals: list[str], now: datetime.datetime
) -> bool:
    """One attempt at reverting a deleted Canary; True once its finalizer is removed."""
    if refusals:
        await _tell(world, canary, f"Not reverting {canary.key} on deletion: {'; '.join(refusals)}")
    else:
        logger.info("Terminating canary %s", canary.key, extra={"canary": canary.key})
        failures = await _give_back(world, canary, overdue=_overdue(canary, now))
        if failures is None:
            return False  # try again on the next tick
        if failures:
            await _tell(
                world,
                canary,
                f"Could not give back everything of {canary.key} on deletion, "
                f"removing the finalizer anyway: {'; '.join(failures)}",
            )
    await finalizer.remove(kube, canary)
    logger.info("Terminated canary %s", canary.key, extra={"canary": canary.key})
    return True


async def _give_back(world: World, canary: Canary, *, overdue: bool) -> list[str] | None:
    """What could not be given back (target, routes); None when a step should be tried again."""
    failures: list[str] = []
    steps = (("the target", world.target.finalize), ("the routes", world.router.finalize))
    for what, step in steps:
        try:
            await step(canary)
        except SerinusError as error:
            if is_retriable(error) and not overdue:
                logger.warning(
                    "could not give back %s of %s on deletion yet, retrying: %s",
                    what,
                    canary.key,
                    error,
                    extra={"canary": canary.key},
                )
                return None
            failures.append(f"{what}: {error}")
    return failures


def _overdue(canary: Canary, now: datetime.datetime) -> bool:
    """Whether the deletion is older than the Canary's progress deadline."""
    stamp = canary.metadata.deletion_timestamp
    if stamp is None:
        return True
    deleted = datetime.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    return (now - deleted).total_seconds() > canary.spec.effective_progress_deadline


async def _tell(world: World, canary: Canary, message: str) -> None:
    logger.warning("%s", message, extra={"canary": canary.key})
    try:
        await world.events.record(canary, event_type="Warning", message=message)
    except SerinusError as error:
        logger.warning("Event could not be recorded: %s", error, extra={"canary": canary.key})
