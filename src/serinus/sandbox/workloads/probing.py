"""The kubelet's probe loops for one run of a container: startup, then readiness and liveness.

:func:`watch` runs while the container's process does. A startup probe, when there is one, must
pass before the other two begin (until then the container is not ``started``); readiness turns
the container ready after ``successThreshold`` passes in a row and unready after
``failureThreshold`` failures; startup or liveness failing ``failureThreshold`` times in a row
stops the process (the container worker restarts it per the pod's policy). Each failure is an
``Unhealthy`` Warning Event (``Readiness probe failed: ...``), and a probe that stops the process
is a ``Killing`` Event (``Container podinfo failed liveness probe, will be restarted``), as the
kubelet records them. How one probe is checked is :mod:`probes`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from serinus.apis.base import Manifest
from serinus.sandbox.workloads import probes
from serinus.sandbox.workloads.process import Running, terminate

logger = logging.getLogger(__name__)


class Probed(Protocol):
    """What the loops need from the container worker."""

    name: str
    spec: Manifest
    pod: Manifest
    ready: bool

    def mark(self, **changes: bool) -> None:
        """Set ``started`` or ``ready`` and have the pod's status written."""

    def event(self, reason: str, message: str, *, warning: bool = False) -> None:
        """Record an Event about this container."""


Check = Callable[[probes.Probe], Awaitable[str | None]]


async def watch(container: Probed, process: Running, check: Check) -> None:
    """Probe ``container`` while ``process`` runs (cancel this when the process ends)."""
    startup = probes.Probe.parse(container.spec.get("startupProbe"))
    if startup is not None:
        if not await _until(container, startup, process, check, want=True):
            return
        container.mark(started=True)
    async with asyncio.TaskGroup() as group:
        readiness = probes.Probe.parse(container.spec.get("readinessProbe"))
        liveness = probes.Probe.parse(container.spec.get("livenessProbe"))
        if readiness is not None:
            group.create_task(_readiness(container, readiness, check))
        if liveness is not None:
            group.create_task(_until(container, liveness, process, check, want=False))


async def _readiness(container: Probed, probe: probes.Probe, check: Check) -> None:
    await asyncio.sleep(probe.initial_delay)
    successes = failures = 0
    while True:
        problem = await check(probe)
        successes, failures = (successes + 1, 0) if problem is None else (0, failures + 1)
        if problem is None and successes >= probe.success_threshold and not container.ready:
            container.mark(ready=True)
        elif problem is not None:
            logger.info("pod %s: Readiness probe failed: %s", _pod(container), problem)
            container.event("Unhealthy", f"Readiness probe failed: {problem}", warning=True)
            if failures >= probe.failure_threshold and container.ready:
                container.mark(ready=False)
        await asyncio.sleep(probe.period)


async def _until(
    container: Probed, probe: probes.Probe, process: Running, check: Check, *, want: bool
) -> bool:
    """Startup (``want``: until it passes) or liveness (for ever): too many failures in a row
    stop the process; False then."""
    kind = "Startup" if want else "Liveness"
    await asyncio.sleep(probe.initial_delay)
    failures = 0
    while True:
        problem = await check(probe)
        if problem is None and want:
            return True
        failures = 0 if problem is None else failures + 1
        if problem is not None:
            logger.info("pod %s: %s probe failed: %s", _pod(container), kind, problem)
            container.event("Unhealthy", f"{kind} probe failed: {problem}", warning=True)
        if failures >= probe.failure_threshold:
            logger.warning(
                "pod %s: container %s failed %s probe, will be restarted",
                _pod(container),
                container.name,
                kind.lower(),
            )
            container.event(
                "Killing",
                f"Container {container.name} failed {kind.lower()} probe, will be restarted",
            )
            grace = float(
                (container.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
            )
            await terminate(process, grace)
            return False
        await asyncio.sleep(probe.period)


def _pod(container: Probed) -> str:
    return str((container.pod.get("metadata") or {}).get("name"))
