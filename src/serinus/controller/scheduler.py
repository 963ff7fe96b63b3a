"""One asyncio task per Canary, ticking at the Canary's analysis interval.

The watcher tells the scheduler which Canaries exist (:meth:`Scheduler.upsert`,
:meth:`Scheduler.remove`); each gets a task that ticks at once, then every interval (restarted when
the interval changes, as Flagger's per-canary ticker is). A tick is one call of the ``tick``
function (:func:`serinus.controller.advance.advance` bound to its world); a tick that raises is
logged and the next one runs as planned, so one broken Canary never stops another.

Stopping is graceful: :meth:`Scheduler.stop` lets every tick in flight finish (each one ends with
its status written), then ends the tasks, so the next leader resumes every Canary from its status.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

Key = tuple[str, str]
"""(namespace, name) of a Canary."""
TickFunction = Callable[[str, str], Awaitable[None]]


@dataclasses.dataclass
class _Job:
    interval: float
    target: str
    task: asyncio.Task[None]
    poked: asyncio.Event


class Scheduler:
    """Keeps one ticking task per Canary."""

    def __init__(self, tick: TickFunction, *, grace_seconds: float = 30.0) -> None:
        self._tick = tick
        self._grace = grace_seconds
        self._jobs: dict[Key, _Job] = {}
        self._stopping = asyncio.Event()

    @property
    def canaries(self) -> list[Key]:
        return sorted(self._jobs)

    def upsert(self, key: Key, *, interval: float, target: str) -> None:
        """Schedule a Canary (or reschedule it when its interval changed)."""
        if self._stopping.is_set():
            return
        job = self._jobs.get(key)
        if job is not None and job.interval == interval:
            job.target = target
            return
        if job is not None:
            job.task.cancel()
        poked = asyncio.Event()
        task = asyncio.create_task(
            self._run(key, interval, poked), name=f"canary {key[1]}.{key[0]}"
        )
        self._jobs[key] = _Job(interval, target, task, poked)
        self._warn_duplicates(key, target)

    def poke(self, key: Key) -> None:
        """Tick the Canary now rather than at the end of its interval (a request made by hand
        is waiting); the interval starts again from this tick."""
        job = self._jobs.get(key)
        if job is not None:
            job.poked.set()

    def remove(self, key: Key) -> None:
        """Stop ticking a Canary that was deleted."""
        job = self._jobs.pop(key, None)
        if job is not None:
            job.task.cancel()

    async def stop(self) -> None:
        """Let ticks in flight finish, then end every task."""
        self._stopping.set()
        tasks = [job.task for job in self._jobs.values()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self._grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._jobs.clear()

    async def _run(self, key: Key, interval: float, poked: asyncio.Event) -> None:
        namespace, name = key
        while not self._stopping.is_set():
            poked.clear()
            try:
                await self._tick(namespace, name)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("tick of %s.%s failed", name, namespace)
            waits = [asyncio.ensure_future(e.wait()) for e in (self._stopping, poked)]
            try:
                await asyncio.wait(waits, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()

    def _warn_duplicates(self, key: Key, target: str) -> None:
        namespace = key[0]
        same = [k for k, j in self._jobs.items() if k[0] == namespace and j.target == target]
        if len(same) > 1:
            logger.error(
                "Bad things will happen! Found more than one canary with the same target %s",
                target,
            )
