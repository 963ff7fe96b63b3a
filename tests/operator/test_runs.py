"""``RunLimits``: who may start a run now under ``--max-concurrent-runs`` (and per namespace).

Covers: with no limit everyone starts; runs in progress fill the slots and the next revision is
told how many run and where it stands; the queue's order is its ``queued`` stamp; an admission
counts as a run in progress until the status says so (two ticks at once never both take the last
slot); the namespace limit holds on its own; a deleted Canary frees its slot.
"""

from __future__ import annotations

from serinus.apis.canary import Canary
from serinus.operator.runs import RunLimits
from serinus.ports import Admission
from tests.operator.support import canary


def model(name: str, namespace: str = "prod") -> Canary:
    manifest = canary(name)
    manifest["metadata"]["namespace"] = namespace
    return Canary.model_validate(manifest)


async def test_no_limit_admits_everyone() -> None:
    limits = RunLimits(cluster=0, namespace=0)
    for number in range(10):
        limits.seen(("prod", f"r{number}"), "Progressing", None)
    assert await limits.admit(model("new"), "2026-01-01T00:00:00.000000Z") == Admission(True)


async def test_the_queue_is_served_in_order_as_slots_free() -> None:
    limits = RunLimits(cluster=2, namespace=0)
    limits.seen(("prod", "r1"), "Progressing", None)
    limits.seen(("prod", "r2"), "Promoting", None)
    limits.seen(("prod", "early"), "Waiting", "2026-01-01T00:00:01.000000Z")
    limits.seen(("prod", "late"), "Waiting", "2026-01-01T00:00:02.000000Z")
    late = await limits.admit(model("late"), "2026-01-01T00:00:02.000000Z")
    assert late == Admission(admitted=False, in_progress=2, position=2)
    limits.seen(("prod", "r1"), "Succeeded", None)
    # one slot: the earlier waiter's, not the later one's
    assert not (await limits.admit(model("late"), "2026-01-01T00:00:02.000000Z")).admitted
    assert (await limits.admit(model("early"), "2026-01-01T00:00:01.000000Z")).admitted
    # the admitted run holds its slot before its status says Progressing (and is no longer ahead)
    refused = await limits.admit(model("late"), "2026-01-01T00:00:02.000000Z")
    assert refused == Admission(admitted=False, in_progress=2, position=1)
    limits.forget(("prod", "r2"))
    assert (await limits.admit(model("late"), "2026-01-01T00:00:02.000000Z")).admitted


async def test_the_namespace_limit_holds_on_its_own() -> None:
    limits = RunLimits(cluster=10, namespace=1)
    limits.seen(("team-a", "r1"), "Progressing", None)
    stamp = "2026-01-01T00:00:00.000000Z"
    assert not (await limits.admit(model("x", "team-a"), stamp)).admitted
    assert (await limits.admit(model("y", "team-b"), stamp)).admitted
