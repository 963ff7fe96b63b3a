"""The scheduler: one task per Canary, ticking at its interval.

Covers: a Canary ticks at once when scheduled and again after its interval; a failing tick is
logged and the next one runs; removing a Canary stops its ticks; a changed interval restarts the
job; a poke ticks at once instead of at the end of the interval; stopping waits for the tick in
flight to finish (its status write is not cut off) and then ends every task; two Canaries with the
same target are reported as Flagger does; spread Canaries tick first at their own point of the
interval, never all at once; the pool runs at most its size of ticks and lets a run in progress in
before idle Canaries that came due earlier; releasing a Canary lets its tick in flight finish; a
tick that waited for the pool (or ran long) leaves its Canary's grid where it was; Canaries that
ticked together once (created at once) tick next at their own points of the interval.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from serinus.controller.scheduler import Scheduler, anchor_of, next_due

LIVENESS = 5.0  # generous bound for "it happens at all"; not a speed claim


async def test_ticks_at_once_then_every_interval_and_survives_a_failing_tick() -> None:
    calls: list[str] = []
    twice = asyncio.Event()

    async def tick(namespace: str, name: str) -> None:
        calls.append(f"{name}.{namespace}")
        if len(calls) == 1:
            raise RuntimeError("boom")
        twice.set()

    scheduler = Scheduler(tick)
    scheduler.upsert(("prod", "podinfo"), interval=0.01, target="podinfo")
    await asyncio.wait_for(twice.wait(), LIVENESS)
    await scheduler.stop()
    assert calls[:2] == ["podinfo.prod", "podinfo.prod"]


async def test_remove_stops_the_ticks() -> None:
    calls = 0
    ticked = asyncio.Event()

    async def tick(namespace: str, name: str) -> None:
        nonlocal calls
        calls += 1
        ticked.set()

    scheduler = Scheduler(tick)
    scheduler.upsert(("prod", "a"), interval=3600, target="a")
    await asyncio.wait_for(ticked.wait(), LIVENESS)
    scheduler.remove(("prod", "a"))
    assert scheduler.canaries == []
    await asyncio.sleep(0)
    assert calls == 1
    await scheduler.stop()


async def test_a_new_interval_restarts_the_job() -> None:
    ticks: list[float] = []
    second = asyncio.Event()

    async def tick(namespace: str, name: str) -> None:
        ticks.append(asyncio.get_running_loop().time())
        if len(ticks) == 2:
            second.set()

    scheduler = Scheduler(tick)
    scheduler.upsert(("prod", "a"), interval=3600, target="a")
    scheduler.upsert(("prod", "a"), interval=3600, target="a")  # unchanged: same job
    await asyncio.sleep(0.01)
    assert len(ticks) == 1
    scheduler.upsert(("prod", "a"), interval=1800, target="a")  # changed: ticks again at once
    await asyncio.wait_for(second.wait(), LIVENESS)
    await scheduler.stop()


async def test_stop_lets_the_tick_in_flight_finish() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    finished = []

    async def tick(namespace: str, name: str) -> None:
        started.set()
        await release.wait()
        finished.append(name)

    scheduler = Scheduler(tick, grace_seconds=LIVENESS)
    scheduler.upsert(("prod", "a"), interval=3600, target="a")
    await asyncio.wait_for(started.wait(), LIVENESS)
    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0.01)
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, LIVENESS)
    assert finished == ["a"]


async def test_duplicate_targets_are_reported(caplog: pytest.LogCaptureFixture) -> None:
    async def tick(namespace: str, name: str) -> None:
        return None

    scheduler = Scheduler(tick)
    with caplog.at_level(logging.ERROR):
        scheduler.upsert(("prod", "a"), interval=3600, target="podinfo")
        scheduler.upsert(("prod", "b"), interval=3600, target="podinfo")
    assert (
        "Bad things will happen! Found more than one canary with the same target podinfo"
        in caplog.messages
    )
    await scheduler.stop()


async def test_a_poke_ticks_a_canary_before_its_interval_ends() -> None:
    ticks: list[float] = []
    ticked = asyncio.Event()

    async def tick(namespace: str, name: str) -> None:
        ticks.append(asyncio.get_running_loop().time())
        ticked.set()

    scheduler = Scheduler(tick)
    scheduler.upsert(("prod", "podinfo"), interval=3600, target="podinfo")
    await asyncio.wait_for(ticked.wait(), LIVENESS)
    ticked.clear()
    scheduler.poke(("prod", "podinfo"))  # a request made by hand arrived
    await asyncio.wait_for(ticked.wait(), LIVENESS)  # not an hour later
    scheduler.poke(("prod", "unknown"))  # nothing to tick: no error
    await scheduler.stop()
    assert len(ticks) == 2


async def test_spread_canaries_tick_first_at_their_own_point_of_the_interval() -> None:
    firsts: dict[str, float] = {}
    began = asyncio.get_running_loop().time()
    all_in = asyncio.Event()

    async def tick(namespace: str, name: str) -> None:
        firsts.setdefault(name, asyncio.get_running_loop().time() - began)
        if len(firsts) == 20:
            all_in.set()

    scheduler = Scheduler(tick)
    for number in range(20):
        scheduler.upsert(("prod", f"c{number}"), interval=0.5, target=f"c{number}", spread=0.5)
    await asyncio.wait_for(all_in.wait(), LIVENESS)
    await scheduler.stop()
    for name, first in firsts.items():
        at = began + first - anchor_of(("prod", name), 0.5)
        assert abs((at + 0.25) % 0.5 - 0.25) < 0.05, (name, first)  # at its own point
    assert max(firsts.values()) - min(firsts.values()) > 0.2  # not all at once


async def test_the_pool_bounds_ticks_and_lets_runs_in_progress_in_first() -> None:
    running = 0
    most = 0
    order: list[str] = []
    release = asyncio.Event()

    async def tick(namespace: str, name: str) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        order.append(name)
        await release.wait()
        running -= 1

    urgent = {"run"}
    scheduler = Scheduler(tick, concurrency=2, priority=lambda key: 0 if key[1] in urgent else 1)
    for name in ("a", "b", "c", "d"):
        scheduler.upsert(("prod", name), interval=3600, target=name)
    await asyncio.sleep(0.05)
    scheduler.upsert(("prod", "run"), interval=3600, target="run")
    await asyncio.sleep(0.05)
    assert order == ["a", "b"]  # two at once; the others wait
    release.set()
    for _ in range(100):
        if len(order) == 5:
            break
        await asyncio.sleep(0.01)
    await scheduler.stop()
    assert most == 2
    assert order[2] == "run"  # the run in progress before the idle ones that came due first
    assert sorted(order) == ["a", "b", "c", "d", "run"]


async def test_runs_that_keep_the_pool_full_do_not_starve_an_idle_canary() -> None:
    ticked = asyncio.Event()

    async def tick(namespace: str, name: str) -> None:
        if name == "idle":
            ticked.set()
        await asyncio.sleep(0.02)  # longer than the interval: two runs always wait

    scheduler = Scheduler(
        tick,
        concurrency=1,
        priority=lambda key: 1 if key[1] == "idle" else 0,
        head_start=0.2,
    )
    for name in ("run1", "run2", "run3"):
        scheduler.upsert(("prod", name), interval=0.01, target=name)
    await asyncio.sleep(0.1)  # the pool is full, runs waiting
    scheduler.upsert(("prod", "idle"), interval=0.01, target="idle")
    try:
        await asyncio.wait_for(ticked.wait(), LIVENESS)  # after about 0.2 s, not never
    finally:
        await scheduler.stop()


async def test_release_lets_the_tick_in_flight_finish() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    async def tick(namespace: str, name: str) -> None:
        started.set()
        await release.wait()
        finished.append(name)

    scheduler = Scheduler(tick)
    scheduler.upsert(("prod", "a"), interval=3600, target="a")
    await asyncio.wait_for(started.wait(), LIVENESS)
    letting_go = asyncio.create_task(scheduler.release([("prod", "a")]))
    await asyncio.sleep(0.01)
    assert not letting_go.done()  # waits for the tick
    release.set()
    await asyncio.wait_for(letting_go, LIVENESS)
    assert finished == ["a"]
    assert scheduler.canaries == []


def test_the_grid_stays_put_after_a_late_or_long_tick() -> None:
    assert next_due(0.0, 10.0, 100.0, now=100.4) == 110.0  # on time: one interval on
    assert next_due(0.0, 10.0, 100.0, now=109.9) == 110.0  # started late: the same grid point
    assert next_due(0.0, 10.0, 100.0, now=125.0) == 130.0  # ran long: 110 and 120 dropped
    assert next_due(0.0, 10.0, 100.0, now=130.0) == 130.0


def test_a_tick_off_its_grid_is_followed_by_one_on_it() -> None:
    # own points at 3 + 10k: a first tick at once at 100 (or a poke) -> 113, not 110 or 103
    assert next_due(3.0, 10.0, 100.0, now=100.2) == 113.0
    assert next_due(6.0, 10.0, 100.0, now=100.2) == 106.0  # half an interval at least
    assert next_due(6.0, 10.0, 100.0, now=107.0) == 116.0


async def test_canaries_that_tick_together_once_go_back_to_their_own_points() -> None:
    """Created all at once (each ticks at once), they do not stay together."""
    clock = asyncio.get_running_loop()
    starts: dict[str, list[float]] = {}
    seconds = asyncio.Event()

    async def tick(namespace: str, name: str) -> None:
        starts.setdefault(name, []).append(clock.time())
        if sum(len(at) >= 2 for at in starts.values()) == 20:
            seconds.set()

    scheduler = Scheduler(tick)
    for number in range(20):
        scheduler.upsert(("prod", f"c{number}"), interval=1.0, target=f"c{number}")
    await asyncio.wait_for(seconds.wait(), LIVENESS)
    await scheduler.stop()
    firsts = [at[0] for at in starts.values()]
    assert max(firsts) - min(firsts) < 0.2  # together at first
    for name, at in starts.items():
        own = anchor_of(("prod", name), 1.0)
        assert abs((at[1] - own + 0.5) % 1.0 - 0.5) < 0.1, (name, at, own)  # on its own point
        assert at[1] - at[0] >= 0.5
    second = [at[1] for at in starts.values()]
    assert max(second) - min(second) > 0.4  # spread over the interval


async def test_a_tick_that_waited_for_the_pool_keeps_its_point_of_the_interval() -> None:
    starts: dict[str, list[float]] = {"slow": [], "waits": []}
    clock = asyncio.get_running_loop()
    twice = asyncio.Event()

    async def tick(namespace: str, name: str) -> None:
        starts[name].append(clock.time())
        if len(starts["waits"]) == 2:
            twice.set()
        if name == "slow" and len(starts[name]) == 1:
            await asyncio.sleep(0.6)  # holds the only slot: "waits" starts 0.6 s late

    scheduler = Scheduler(tick, concurrency=1, priority=lambda key: 0 if key[1] == "slow" else 1)
    began = clock.time()
    scheduler.upsert(("prod", "slow"), interval=1.0, target="slow")
    scheduler.upsert(("prod", "waits"), interval=1.0, target="waits")
    await asyncio.wait_for(twice.wait(), LIVENESS)
    await scheduler.stop()
    first, second = starts["waits"][:2]
    assert first - began >= 0.6
    # the next tick at its own point of the interval, not an interval after its late start
    own = next_due(anchor_of(("prod", "waits"), 1.0), 1.0, began, first)
    assert own <= second < own + 0.2, (starts, own)
