"""A client-side rate limit on API requests, with priority for runs in progress.

:class:`RateLimiter` is a token bucket (``qps`` tokens a second, at most ``burst`` saved up), as
client-go's is, with one difference: requests that must wait are served by priority, then in
arrival order. The operator marks the ticks of Canaries whose run is in progress with
:data:`URGENT` (:func:`priority`), so when a thousand idle Canaries resync at once a run's status
write or traffic shift is not queued behind their reads. Watches are not limited (one request
each, open for minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import heapq
import itertools
import time
from collections.abc import Iterator

CRITICAL = -1
"""Priority of the replicas' own Leases (leader election, membership): a renewal queued behind a
burst of work would make a busy replica look dead and let go of everything."""
URGENT = 0
"""Priority of a run in progress."""
NORMAL = 1
"""Priority of everything else."""

_priority: contextvars.ContextVar[int] = contextvars.ContextVar("priority", default=NORMAL)


@contextlib.contextmanager
def priority(level: int) -> Iterator[None]:
    """Requests sent inside this block (and tasks it starts) wait with ``level``."""
    token = _priority.set(level)
    try:
        yield
    finally:
        _priority.reset(token)


def current() -> int:
    """The priority requests sent here now wait with (to carry it to work done later)."""
    return _priority.get()


class RateLimiter:
    """A token bucket whose waiters are served by priority (see the module docstring)."""

    def __init__(self, qps: float, burst: int) -> None:
        if qps <= 0:
            raise ValueError(f"qps: expected requests per second > 0, found {qps}")
        if burst < 1:
            raise ValueError(f"burst: expected at least 1, found {burst}")
        self.qps, self.burst = qps, burst
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    async def acquire(self) -> None:
        """Wait for a token (at the current :func:`priority`)."""
        self._refill()
        if not self._waiting and self._tokens >= 1:
            self._tokens -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (_priority.get(), next(self._order), future))
        self._arm()
        await future

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.qps)
        self._stamp = now

    def _arm(self) -> None:
        if self._timer is None and self._waiting:
            delay = max(0.0, (1 - self._tokens) / self.qps)
            self._timer = asyncio.get_running_loop().call_later(delay, self._release)

    def _release(self) -> None:
        self._timer = None
        self._refill()
        while self._waiting and self._tokens >= 1:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():  # a cancelled waiter takes no token
                self._tokens -= 1
                future.set_result(None)
        self._arm()
