"""Replicas' membership on Leases (``serinus.kube.membership``), against the real API server.

Covers: two replicas see each other live within a few renewals; their views converge once both
publish the same member list (and not before); a replica that stops (its Lease deleted) is gone
from the other's members at its next look; a replica whose own renewals fail counts no member,
itself included; bad timings are refused by name.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from serinus.kube import Kube
from serinus.kube.membership import Membership, lease_name
from tests.kube.support import FaultProxy

FAST = {"lease_duration": 1.0, "renew_deadline": 0.6, "retry_period": 0.1}


async def settle(check: object, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if check():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return False


async def test_two_replicas_agree_then_one_leaves(kube: Kube, proxied: Kube) -> None:
    a = Membership(kube, "prod", "group", "replica-a", **FAST)
    b = Membership(proxied, "prod", "group", "replica-b", **FAST)
    tasks = [asyncio.create_task(m.run()) for m in (a, b)]
    try:
        both = ("replica-a", "replica-b")
        assert await settle(lambda: a.members == both and b.members == both)
        assert not a.converged(both)  # nothing published yet
        a.publish(both)
        b.publish(both)
        assert await settle(lambda: a.converged(both) and b.converged(both))
        tasks[1].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[1]
        assert await kube.get("coordination.k8s.io/v1", "Lease", b.name, "prod") is None
        assert await settle(lambda: a.members == ("replica-a",))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_replica_that_cannot_renew_counts_no_one(
    kube: Kube, proxied: Kube, proxy: FaultProxy
) -> None:
    b = Membership(proxied, "prod", "group", "replica-b", **FAST)
    task = asyncio.create_task(b.run())
    try:
        assert await settle(lambda: b.members == ("replica-b",))
        proxy.refuse = True
        assert await settle(lambda: b.members == ())
    finally:
        proxy.refuse = False
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_names_and_timings(kube: Kube) -> None:
    name = lease_name("serinus-shards", "Pod_Name.with/odd chars" * 4)
    assert len(name) <= 63
    assert name == name.lower()
    with pytest.raises(ValueError, match="retry_period < renew_deadline < lease_duration"):
        Membership(kube, "prod", "g", "x", lease_duration=1, renew_deadline=2, retry_period=0.5)
