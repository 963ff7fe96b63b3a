"""The event loop's lag as the operator reports it: how late a timer due every 100 ms runs.

Covers: while the loop is free the timer keeps firing and reports its lateness; a callback that
holds the loop for 0.3 s makes the next report at least 0.2 s (the timer was due at most 0.1 s
into the hold: a lower bound the loop guarantees, never an upper one); once the block is left no
timer is left armed (nothing reported after it); a period that is not positive is refused by name.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from serinus import looplag


async def test_a_held_loop_is_reported_late_and_nothing_after_the_block() -> None:
    lags: list[float] = []
    fired = asyncio.Event()

    def observe(seconds: float) -> None:
        lags.append(seconds)
        fired.set()

    with looplag.measured(observe, every=0.1):
        await fired.wait()  # the timer runs: the next one is due within 0.1 s
        fired.clear()
        # a callback that holds the loop, as a long decode or a collection does
        asyncio.get_running_loop().call_soon(time.sleep, 0.3)
        await fired.wait()
        assert lags[-1] >= 0.2
        assert all(lag >= 0 for lag in lags)
    reported = len(lags)
    await asyncio.sleep(0.25)  # past two more due times had the timer stayed armed
    assert len(lags) == reported


def test_a_period_that_is_not_positive_is_refused() -> None:
    with (
        pytest.raises(ValueError, match="every: expected seconds > 0"),
        looplag.measured(lambda seconds: None, every=0),
    ):
        pass
