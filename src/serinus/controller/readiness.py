"""Waiting for workloads, with the progress deadline enforced by the controller itself.

Flagger gives up on a workload only when Kubernetes says its rollout exceeded the deadline; a pod
that crash-loops or never becomes ready can leave a Canary in Progressing for ever (Flagger #523,
#1247, #1578). serinus also measures the wait itself: the status remembers when each workload was
first seen not ready, and once that is longer ago than ``progressDeadlineSeconds`` the wait becomes
a permanent failure. The timestamps live in the status, so a restarted operator keeps counting.
A target deleted mid-run is waited for the same way (:func:`missing`): it may be coming back (a
``kubectl replace --force``), but not for longer than the deadline.
"""

from __future__ import annotations

import datetime
from typing import Literal

from serinus.apis.status import NotReadySince
from serinus.controller.tick import Tick
from serinus.ports import Readiness

Workload = Literal["primary", "canary"]


async def check(tick: Tick, workload: Workload) -> Readiness:
    """The workload's readiness, turned permanent once it waited past the progress deadline."""
    target = tick.world.target
    if workload == "primary":
        readiness = await target.is_primary_ready(tick.canary)
    else:
        readiness = await target.is_canary_ready(tick.canary)
    return await _against_deadline(tick, workload, readiness)


async def missing(tick: Tick, message: str) -> Readiness:
    """The target was deleted mid-run: it counts as a canary that is not ready (retriable until
    the progress deadline, permanent past it), with ``message`` saying what is missing."""
    return await _against_deadline(tick, "canary", Readiness(False, message, True))


async def _against_deadline(tick: Tick, workload: Workload, readiness: Readiness) -> Readiness:
    since = tick.status.not_ready_since or NotReadySince()
    started = getattr(since, workload)
    if readiness.ready:
        if started is not None:
            await tick.update_status(not_ready_since=since.model_copy(update={workload: None}))
        return readiness
    if not readiness.retriable:
        return readiness
    if started is None:
        await tick.update_status(
            not_ready_since=since.model_copy(update={workload: tick.timestamp()})
        )
        return readiness
    deadline = tick.canary.spec.effective_progress_deadline
    waited = (tick.now() - _parse(started)).total_seconds()
    if waited <= deadline:
        return readiness
    return Readiness(
        ready=False,
        retriable=False,
        message=f"{readiness.message} (not ready for {waited:.0f}s, "
        f"progressDeadlineSeconds is {deadline})",
    )


def _parse(timestamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
