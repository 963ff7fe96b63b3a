"""Leader election on a Lease of the real API server, with short durations.

Covers: of two electors only one leads, and the follower does not take over while the leader
renews (longer than a lease duration); the Lease records holder, duration, acquire and renew
times and transitions; a leader killed without releasing is replaced once its lease expired, no
earlier and within lease_duration + retry_period (plus scheduling slack); a graceful stop (end of
the block, or cancellation with release_on_cancel) clears the holder so the follower takes over
at once, long before the lease would expire; a leader cut off from the API steps down within
renew_deadline (its block is cancelled with LeadershipLostError, even when it swallows the
cancellation) before the other takes over, and at no moment do both believe they lead; the
callback API; the other replicas learn the new leader; durations that would allow two leaders
are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable

import pytest

from serinus.kube import Kube, KubeSettings, LeaderElector
from serinus.kube.errors import LeadershipLostError
from tests.kube.support import FaultProxy

LEASE = ("coordination.k8s.io/v1", "Lease")
FAST = {"lease_duration": 1.0, "renew_deadline": 0.6, "retry_period": 0.1}
MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def elector(kube: Kube, identity: str, **options: object) -> LeaderElector:
    settings = {**FAST, **options}
    return LeaderElector(kube, "prod", "serinus-leader", identity, **settings)  # type: ignore[arg-type]


class Replica:
    """An elector leading inside ``async with leading()`` until told to stop, in a task."""

    def __init__(self, elector: LeaderElector) -> None:
        self.elector = elector
        self.leading = asyncio.Event()
        self.stop = asyncio.Event()
        self.led_at = 0.0
        self.outcome: BaseException | None = None
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            async with self.elector.leading():
                self.led_at = time.monotonic()
                self.leading.set()
                await self.stop.wait()
        except LeadershipLostError as lost:
            self.outcome = lost

    async def wait_leading(self, within: float = 10) -> None:
        await asyncio.wait_for(self.leading.wait(), within)

    async def finish(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=10)


@contextlib.asynccontextmanager
async def never_both(*electors: LeaderElector) -> AsyncIterator[list[int]]:
    """Sample is_leader of all electors every few milliseconds; fail if two ever lead at once."""
    samples: list[int] = []

    async def watch() -> None:
        while True:
            leaders = [e.identity for e in electors if e.is_leader]
            assert len(leaders) <= 1, f"two leaders at once: {leaders}"
            samples.append(len(leaders))
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    try:
        yield samples
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def lease(kube: Kube) -> dict[str, object]:
    found = await kube.get(*LEASE, "serinus-leader", "prod")
    assert found is not None
    return dict(found["spec"])


async def test_only_one_of_two_electors_leads(kube: Kube) -> None:
    a, b = elector(kube, "a"), elector(kube, "b")
    async with never_both(a, b) as samples:
        first = Replica(a)
        await first.wait_leading()
        second = Replica(b)
        await asyncio.sleep(2 * FAST["lease_duration"])  # renewals keep the follower out
        assert a.is_leader
        assert not b.is_leader
        assert not second.leading.is_set()
        await first.finish()
        await second.wait_leading()
        await second.finish()
    assert samples.count(1) > 10


async def test_the_lease_records_holder_and_times(kube: Kube) -> None:
    replica = Replica(elector(kube, "a"))
    await replica.wait_leading()
    spec = await lease(kube)
    assert spec["holderIdentity"] == "a"
    assert spec["leaseDurationSeconds"] == 1
    assert spec["leaseTransitions"] == 0
    assert MICRO_TIME.match(str(spec["acquireTime"]))
    renewed = await _until(lambda s: s["renewTime"] != spec["renewTime"], kube)
    assert renewed["acquireTime"] == spec["acquireTime"]
    await replica.finish()


async def test_a_killed_leader_is_replaced_after_its_lease_expires(kube: Kube) -> None:
    a, b = elector(kube, "a", release_on_cancel=False), elector(kube, "b")
    async with never_both(a, b):
        leader = Replica(a)
        await leader.wait_leading()
        follower = Replica(b)
        await asyncio.sleep(0.3)
        killed_at = time.monotonic()
        leader.task.cancel()
        await asyncio.gather(leader.task, return_exceptions=True)
        assert (await lease(kube))["holderIdentity"] == "a", "a kill must not release"

        await follower.wait_leading()
        waited = follower.led_at - killed_at
        assert waited >= FAST["lease_duration"] - 2 * FAST["retry_period"], waited
        slack = 1.0  # scheduling on a loaded machine; the bound under test is the sum before it
        assert waited <= FAST["lease_duration"] + FAST["retry_period"] + slack, waited
        spec = await lease(kube)
        assert spec["holderIdentity"] == "b"
        assert spec["leaseTransitions"] == 1
        await follower.finish()


@pytest.mark.parametrize("stop", ["end of block", "cancelled"])
async def test_a_graceful_stop_hands_over_at_once(kube: Kube, stop: str) -> None:
    slow = {"lease_duration": 60.0, "renew_deadline": 40.0, "retry_period": 0.1}
    a, b = elector(kube, "a", **slow), elector(kube, "b", **slow)
    leader = Replica(a)
    await leader.wait_leading()
    follower = Replica(b)
    await asyncio.sleep(0.2)
    if stop == "end of block":
        await leader.finish()
    else:
        leader.task.cancel()
        await asyncio.gather(leader.task, return_exceptions=True)
    assert not a.is_leader
    await follower.wait_leading(within=5)  # far less than the 60 s lease
    assert (await lease(kube))["holderIdentity"] == "b"
    await follower.finish()


async def test_a_leader_cut_off_from_the_api_steps_down_first(
    kube: Kube, proxy: FaultProxy, proxied: Kube
) -> None:
    a, b = elector(proxied, "a"), elector(kube, "b")
    async with never_both(a, b):
        leader = Replica(a)
        await leader.wait_leading()
        follower = Replica(b)
        await asyncio.sleep(0.3)
        proxy.refuse = True
        await asyncio.wait_for(leader.task, timeout=10)
        assert isinstance(leader.outcome, LeadershipLostError)
        assert "could not renew it within 0.6s" in str(leader.outcome)
        assert not a.is_leader
        await follower.wait_leading()
        assert (await lease(kube))["holderIdentity"] == "b"
        await follower.finish()


async def test_a_block_that_swallows_the_cancellation_still_learns_it_lost(
    proxy: FaultProxy, proxied: Kube
) -> None:
    a = elector(proxied, "a")
    swallowed = False

    async def stubborn_leader() -> None:
        nonlocal swallowed
        async with a.leading():
            proxy.refuse = True
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                swallowed = True

    with pytest.raises(LeadershipLostError):
        await stubborn_leader()
    assert swallowed
    assert not a.is_leader
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


async def test_the_callback_api(kube: Kube) -> None:
    calls: list[str] = []
    a = elector(kube, "a")

    async def started() -> None:
        calls.append(f"started, leading={a.is_leader}")

    async def stopped() -> None:
        calls.append("stopped")

    await asyncio.wait_for(a.run(started, on_stopped_leading=stopped), timeout=10)
    assert calls == ["started, leading=True", "stopped"]
    assert (await lease(kube))["holderIdentity"] == ""


async def test_followers_learn_the_new_leader(kube: Kube) -> None:
    seen: list[str] = []
    a = elector(kube, "a")
    b = elector(kube, "b", on_new_leader=seen.append)
    leader = Replica(a)
    await leader.wait_leading()
    assert not await b.try_acquire_or_renew()
    assert b.leader == "a"
    assert seen == ["a"]
    await leader.finish()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"renew_deadline": 1.0}, r"lease_duration: expected more than renew_deadline \(1.0s\)"),
        ({"retry_period": 0.6}, r"renew_deadline: expected more than retry_period \(0.6s\)"),
        ({"retry_period": 0}, "retry_period: expected seconds > 0, found 0"),
    ],
)
async def test_durations_that_allow_two_leaders_are_refused(
    options: dict[str, float], message: str
) -> None:
    async with Kube(KubeSettings(server="http://127.0.0.1:9")) as kube:  # never contacted
        with pytest.raises(ValueError, match=message):
            elector(kube, "a", **options)
        with pytest.raises(ValueError, match="identity: expected a non-empty name"):
            elector(kube, "")


async def _until(condition: Callable[[dict[str, object]], bool], kube: Kube) -> dict[str, object]:
    for _ in range(200):
        spec = await lease(kube)
        if condition(spec):
            return spec
        await asyncio.sleep(0.02)
    raise AssertionError("the Lease never reached the expected state")
