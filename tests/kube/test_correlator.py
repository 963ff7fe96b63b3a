"""The correlator's decisions, with the time passed in: similar events combined, budgets kept.

The numbers are client-go's (Flagger's event recorder): ten different messages of one kind on one
object within ten minutes and the tenth is combined; 25 writes per object at once, then one every
five minutes.
"""

from __future__ import annotations

from serinus.kube.correlator import BURST, COMBINED, REFILL_SECONDS, SIMILAR, Correlator

PODINFO = ("serinus", "", "flagger.app/v1beta1", "prod", "Canary", "podinfo", "uid-1", "")
FRONTEND = ("serinus", "", "flagger.app/v1beta1", "prod", "Canary", "frontend", "uid-2", "")
ADVANCE = ("Normal", "Synced")


def test_the_tenth_different_message_is_combined_and_so_is_every_later_one() -> None:
    correlator = Correlator()
    shown = [
        correlator.combine(PODINFO, ADVANCE, f"Advance weight {step}", now=10.0 * step)
        for step in range(1, 15)
    ]
    assert shown[: SIMILAR - 1] == [f"Advance weight {step}" for step in range(1, SIMILAR)]
    assert shown[SIMILAR - 1 :] == [f"{COMBINED}Advance weight {s}" for s in range(SIMILAR, 15)]


def test_repeats_of_one_message_are_not_many_messages() -> None:
    correlator = Correlator()
    for tick in range(50):
        shown = correlator.combine(PODINFO, ADVANCE, "Waiting for approval", now=10.0 * tick)
        assert shown == "Waiting for approval"


def test_other_objects_types_and_reasons_are_counted_apart() -> None:
    correlator = Correlator()
    for step in range(SIMILAR - 1):
        correlator.combine(PODINFO, ADVANCE, f"Advance weight {step}", now=float(step))
    assert correlator.combine(FRONTEND, ADVANCE, "Advance weight 99", now=20.0) == (
        "Advance weight 99"
    )
    assert correlator.combine(PODINFO, ("Warning", "Synced"), "Halt", now=20.0) == "Halt"
    assert correlator.combine(PODINFO, ADVANCE, "Advance weight 99", now=20.0).startswith(COMBINED)


def test_ten_quiet_minutes_start_the_count_again() -> None:
    correlator = Correlator()
    for step in range(SIMILAR - 1):
        correlator.combine(PODINFO, ADVANCE, f"Advance weight {step}", now=float(step))
    later = 8.0 + 601.0
    assert correlator.combine(PODINFO, ADVANCE, "Advance weight 50", now=later) == (
        "Advance weight 50"
    )


def test_an_object_gets_25_writes_at_once_then_one_every_five_minutes() -> None:
    correlator = Correlator()
    allowed = [correlator.allow(PODINFO, now=0.0) for _ in range(BURST + 5)]
    assert allowed == [True] * BURST + [False] * 5
    assert not correlator.allow(PODINFO, now=REFILL_SECONDS - 1)
    assert correlator.allow(PODINFO, now=REFILL_SECONDS)
    assert not correlator.allow(PODINFO, now=REFILL_SECONDS + 1)
    assert correlator.allow(FRONTEND, now=REFILL_SECONDS + 1)  # another object's own budget


def test_the_budget_refills_to_the_burst_and_no_more() -> None:
    correlator = Correlator()
    assert correlator.allow(PODINFO, now=0.0)
    day = 86_400.0
    allowed = [correlator.allow(PODINFO, now=day) for _ in range(BURST + 1)]
    assert allowed == [True] * BURST + [False]


def test_memory_is_bounded() -> None:
    correlator = Correlator(remembered=3)
    for index in range(10):
        source = (*PODINFO[:5], f"canary-{index}", *PODINFO[6:])
        for _ in range(BURST):
            assert correlator.allow(source, now=0.0)
        correlator.combine(source, ADVANCE, "x", now=0.0)
    first = (*PODINFO[:5], "canary-0", *PODINFO[6:])
    assert correlator.allow(first, now=0.0)  # forgotten: a fresh budget
