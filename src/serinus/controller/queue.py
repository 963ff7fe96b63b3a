"""Waiting for a run slot: ``--max-concurrent-runs`` as the state machine sees it (Flagger #1069).

A new revision whose confirm-rollout gates are open asks the world's
:class:`~serinus.ports.RunSlots` whether it may start. If not, the Canary waits in phase
``Waiting`` with ``status.queued`` (when it began waiting, the queue's order) and says where it
stands on its status message and its Promoted condition ("Waiting: 12 runs in progress,
position 3"); it asks again on every tick, and starts as soon as it is admitted (starting the run
clears ``queued``). A Canary whose gate closes while it waits leaves the queue, so it holds no one
up.
"""

from __future__ import annotations

import datetime

from serinus.apis.status import CanaryPhase
from serinus.controller.tick import Tick

REASON = "Waiting"


def _precise(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def admitted(tick: Tick) -> bool:
    """Whether the new revision may start now; if not, show its place in the queue."""
    queued = tick.status.queued or _precise(tick.now())
    admission = await tick.world.slots.admit(tick.canary, queued)
    if admission.admitted:
        return True
    message = f"Waiting: {admission.in_progress} runs in progress, position {admission.position}"
    status = tick.status
    if status.phase is CanaryPhase.WAITING and status.message == message and status.queued:
        return False
    if status.queued is None:
        tick.log.info("%s: new revision queued for a run slot", message)
    now = tick.timestamp()
    changed = status.model_copy(
        update={
            "phase": CanaryPhase.WAITING,
            "queued": queued,
            "message": message,
            "last_transition_time": now,
        }
    )
    await tick.write(changed.with_promoted("Unknown", REASON, message, now=now))
    return False


async def leave(tick: Tick) -> None:
    """A closed gate takes the Canary out of the queue (it must not hold up the others)."""
    if tick.status.queued is not None:
        await tick.write(tick.status.model_copy(update={"queued": None}))
