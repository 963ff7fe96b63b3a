"""The client-side rate limit: a token bucket whose waiters are served by priority.

Covers: a burst passes at once, beyond it requests are spaced by 1/qps (a lower bound, never an
upper one); a run in progress (URGENT) that asks after a queue of idle requests is served before
them, and a Lease renewal before both; a waiter cancelled while queued takes no token; bad
settings are refused by name.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from serinus.kube.ratelimit import CRITICAL, URGENT, RateLimiter, priority


async def test_beyond_the_burst_requests_are_spaced_by_the_rate() -> None:
    limiter = RateLimiter(qps=100, burst=5)
    for _ in range(5):  # the burst: each acquire returns without ever suspending
        with pytest.raises(StopIteration):
            limiter.acquire().send(None)
    began = time.monotonic()
    for _ in range(10):
        await limiter.acquire()
    assert time.monotonic() - began >= 0.09  # ten more tokens at 100 a second


async def test_runs_in_progress_go_before_the_queue() -> None:
    limiter = RateLimiter(qps=200, burst=1)
    await limiter.acquire()  # the bucket is empty now
    served: list[str] = []

    async def ask(name: str, urgent: bool) -> None:
        if urgent:
            with priority(URGENT):
                await limiter.acquire()
        else:
            await limiter.acquire()
        served.append(name)

    idle = [asyncio.create_task(ask(f"idle-{n}", False)) for n in range(5)]
    await asyncio.sleep(0)
    urgent = asyncio.create_task(ask("run", True))
    await asyncio.gather(*idle, urgent)
    assert served[0] == "run"
    assert served[1:] == [f"idle-{n}" for n in range(5)]


async def test_a_cancelled_waiter_takes_no_token() -> None:
    limiter = RateLimiter(qps=50, burst=1)
    await limiter.acquire()
    gone = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    gone.cancel()
    began = time.monotonic()
    await limiter.acquire()
    assert time.monotonic() - began < 0.5  # served with the first token, not the second


def test_bad_settings_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="qps"):
        RateLimiter(qps=0, burst=1)
    with pytest.raises(ValueError, match="burst"):
        RateLimiter(qps=1, burst=0)


async def test_lease_renewals_go_before_runs_in_progress() -> None:
    limiter = RateLimiter(qps=200, burst=1)
    await limiter.acquire()
    served: list[str] = []

    async def ask(name: str, level: int) -> None:
        with priority(level):
            await limiter.acquire()
        served.append(name)

    runs = [asyncio.create_task(ask(f"run-{n}", URGENT)) for n in range(3)]
    await asyncio.sleep(0)
    lease = asyncio.create_task(ask("lease", CRITICAL))
    await asyncio.gather(*runs, lease)
    assert served[0] == "lease"
