"""One asyncio task per Canary, ticking at the Canary's analysis interval.

The watcher tells the scheduler which Canaries exist (:meth:`Scheduler.upsert`,
:meth:`Scheduler.remove`); each gets a task that ticks at once, then every interval (restarted when
the interval changes, as Flagger's per-canary ticker is). A tick is one call of the ``tick``
function (:func:`serinus.controller.advance.advance` bound to its world); a tick that raises is
logged and the next one runs as planned, so one broken Canary never stops another.

Every Canary ticks on a grid of its own: its own point of the interval, fixed by its key
(:func:`phase_of`, the same on every replica), plus whole intervals. The Canaries of the first
list tick first at that point, so a thousand Canaries never start together. A Canary that ticks
off its grid (a new one ticks at once, one taken over from another replica within two seconds, a
poke at once) comes back to its own point next, 0.5 to 1.5 intervals later (:func:`next_due`),
never less than half an interval after. Anchoring every grid to its Canary's own point keeps
Canaries created or taken over together from ticking together for ever: a grid that ran on from
the first tick (as Go's ticker behind Flagger's does) kept 3,000 Canaries created within three
seconds in those three seconds of every 10 s interval, a burst of 1,000 ticks per replica that
the pool took seconds to let through, every interval (``benchmarks/operator_scale.py``, three
replicas: tick lateness p50 1-2 s, p99 4-5 s). A tick that started late or ran long does not move
the grid: grid points already past are dropped, never caught up in a burst. (A grid moved to each
late start kept every tick that waited for the same free slot of the pool together: at 1,000
progressing Canaries such clusters grew until most ticks came in one half of the interval.)

At most ``concurrency`` ticks run at once (a bounded pool); waiting ticks are let in in the order
they came due, each level of ``priority`` (lower first: runs in progress before idle Canaries)
worth ``head_start`` seconds: a run's tick goes before an idle Canary's that came due up to 5 s
earlier, never before one that has waited longer, so runs that keep the pool full delay an idle
Canary's tick by seconds instead of starving it (a new revision would never be noticed). How
late each tick started after its due time goes to ``observe``.

Stopping is graceful: :meth:`Scheduler.stop` lets every tick in flight finish (each one ends with
its status written), then ends the tasks, so the next leader resumes every Canary from its status.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import heapq
import itertools
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable

logger = logging.getLogger(__name__)

Key = tuple[str, str]
"""(namespace, name) of a Canary."""
TickFunction = Callable[[str, str], Awaitable[None]]


def phase_of(key: Key) -> float:
    """Where in its interval a Canary's spread ticks fall, in [0, 1), the same on every replica."""
    digest = hashlib.blake2b(f"{key[0]}/{key[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64


def next_due(anchor: float, interval: float, due: float, now: float) -> float:
    """The Canary's next tick after one due at ``due`` ended at ``now``: the first point of its
    own grid (``anchor`` plus whole intervals) at least half an interval after ``due`` and not
    before ``now``. On the grid that is one interval on (grid points already past, when the tick
    started late or ran long, are dropped); off it (a first tick at once, a poke) the next one
    comes back to the Canary's own point, 0.5 to 1.5 intervals later."""
    return first_point(anchor, interval, max(due + interval / 2, now))


def first_point(anchor: float, interval: float, at: float) -> float:
    """The first point of the grid ``anchor`` plus whole intervals at or after ``at``."""
    return anchor + math.ceil((at - anchor) / interval) * interval


def anchor_of(key: Key, interval: float) -> float:
    """Where the Canary's grid lies: its own point of the interval (:func:`phase_of`)."""
    return phase_of(key) * interval


HEAD_START = 5.0
"""Seconds of the pool's order one level of priority is worth (see the module docstring)."""


class Pool:
    """At most ``size`` holders at once (0: no bound); waiters let in by due time, each level
    of priority ``head_start`` seconds earlier."""

    def __init__(self, size: int, head_start: float = HEAD_START) -> None:
        self.size = size
        self.busy = 0
        self.head_start = head_start
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @contextlib.asynccontextmanager
    async def slot(self, priority: int, due: float) -> AsyncIterator[None]:
        if self.size and (self.busy >= self.size or self._waiting):
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            place = due + priority * self.head_start
            heapq.heappush(self._waiting, (place, next(self._order), future))
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._next()  # handed a slot while being cancelled: pass it on
                raise
        else:
            self.busy += 1
        try:
            yield
        finally:
            self._next()

    def _next(self) -> None:
        """Give a finished holder's slot to the first waiter (or free it)."""
        while self._waiting:
            future = heapq.heappop(self._waiting)[2]
            if not future.done():
                future.set_result(None)
                return
        self.busy -= 1


@dataclasses.dataclass
class _Job:
    interval: float
    target: str
    task: asyncio.Task[None] | None = None
    ticking: bool = False
    """A tick is in flight: stopping waits for it instead of cancelling it."""
    stopped: bool = False
    poked: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


class Scheduler:
    """Keeps one ticking task per Canary."""

    def __init__(
        self,
        tick: TickFunction,
        *,
        grace_seconds: float = 30.0,
        concurrency: int = 0,
        priority: Callable[[Key], int] = lambda key: 1,
        observe: Callable[[float], None] = lambda lateness: None,
        head_start: float = HEAD_START,
    ) -> None:
        self._tick = tick
        self._grace = grace_seconds
        self._jobs: dict[Key, _Job] = {}
        self._stopping = False
        self._pool = Pool(concurrency, head_start)
        self._priority = priority
        self._observe = observe

    @property
    def canaries(self) -> list[Key]:
        return sorted(self._jobs)

    def upsert(self, key: Key, *, interval: float, target: str, spread: float = 0.0) -> None:
        """Schedule a Canary (or reschedule it when its interval changed); with ``spread``, its
        first tick comes at its own point of the next ``min(spread, interval)`` seconds
        instead of at once."""
        if self._stopping:
            return
        job = self._jobs.get(key)
        if job is not None and job.interval == interval:
            job.target = target
            return
        if job is not None:
            self._end(job)
        if spread >= interval:  # at its own point of the interval, where it stays
            now = asyncio.get_running_loop().time()
            delay = first_point(anchor_of(key, interval), interval, now) - now
        else:
            delay = phase_of(key) * spread
        job = _Job(interval, target)
        job.task = asyncio.create_task(self._run(key, job, delay), name=f"canary {key[1]}.{key[0]}")
        self._jobs[key] = job
        self._warn_duplicates(key, target)

    def poke(self, key: Key) -> None:
        """Tick the Canary now rather than at the end of its interval (a request made by hand
        is waiting); the next tick comes at its own point of the interval, at least half an
        interval later."""
        job = self._jobs.get(key)
        if job is not None:
            job.poked.set()

    def remove(self, key: Key) -> None:
        """Stop ticking a Canary that was deleted."""
        job = self._jobs.pop(key, None)
        if job is not None and job.task is not None:
            job.stopped = True
            job.task.cancel()

    async def release(self, keys: list[Key]) -> None:
        """Stop ticking these Canaries, letting ticks in flight finish (another replica takes
        them over once this returns)."""
        jobs = [job for key in keys if (job := self._jobs.pop(key, None)) is not None]
        await self._finish(jobs)

    async def stop(self) -> None:
        """Let ticks in flight finish, then end every task."""
        self._stopping = True
        jobs = list(self._jobs.values())
        self._jobs.clear()
        await self._finish(jobs)

    async def _finish(self, jobs: list[_Job]) -> None:
        for job in jobs:
            self._end(job)
        tasks = [job.task for job in jobs if job.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self._grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    @staticmethod
    def _end(job: _Job) -> None:
        """End a job at once, or after the tick in flight."""
        job.stopped = True
        if not job.ticking and job.task is not None:
            job.task.cancel()

    async def _run(self, key: Key, job: _Job, delay: float) -> None:
        namespace, name = key
        clock = asyncio.get_running_loop()
        due = clock.time() + delay
        while not job.stopped:
            wait = due - clock.time()
            if wait > 0 and not job.poked.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(job.poked.wait(), timeout=wait)
            if job.poked.is_set():  # now; the next one on its own grid again
                job.poked.clear()
                due = min(due, clock.time())
            async with self._pool.slot(self._priority(key), due):
                if job.stopped:
                    return
                started = clock.time()
                self._observe(max(0.0, started - due))
                job.ticking = True
                try:
                    await self._tick(namespace, name)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("tick of %s.%s failed", name, namespace)
                finally:
                    job.ticking = False
            due = next_due(anchor_of(key, job.interval), job.interval, due, clock.time())

    def _warn_duplicates(self, key: Key, target: str) -> None:
        namespace = key[0]
        same = [k for k, j in self._jobs.items() if k[0] == namespace and j.target == target]
        if len(same) > 1:
            logger.error(
                "Bad things will happen! Found more than one canary with the same target %s",
                target,
            )
