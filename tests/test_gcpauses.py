"""Full collections freeze their survivors inside ``short_pauses``, and only there."""

from __future__ import annotations

import gc
import weakref

from serinus import gcpauses


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _long_lived(count: int) -> list[list[int]]:
    return [[i] for i in range(count)]  # lists: containers the collector tracks


def test_a_full_collection_leaves_only_newer_objects_for_the_next_one() -> None:
    kept = _long_lived(20_000)
    with gcpauses.short_pauses():
        gc.collect()
        # what survived is frozen: the oldest generation (what a full collection walks) is empty
        assert gc.get_freeze_count() >= len(kept)
        assert len(gc.get_objects(2)) < 100
        newer = _long_lived(5_000)
        gc.collect(1)  # survived the young generations: long-lived now
        walked = len(gc.get_objects(2))
        assert len(newer) <= walked < len(newer) + len(kept) // 2
    assert gc.get_freeze_count() == 0  # everything is handed back on the way out
    assert len(gc.get_objects(2)) + len(gc.get_objects(1)) + len(gc.get_objects(0)) > len(kept)


def test_cycles_are_still_collected_before_they_are_frozen() -> None:
    with gcpauses.short_pauses():
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None


def test_without_it_nothing_is_frozen_and_nested_use_keeps_the_outer_one() -> None:
    gc.collect()
    assert gc.get_freeze_count() == 0
    with gcpauses.short_pauses():
        with gcpauses.short_pauses():
            pass
        gc.collect()
        assert gc.get_freeze_count() > 0  # the inner one did not take the callback away
    assert not any(isinstance(callback, gcpauses._Freezer) for callback in gc.callbacks)


def _frozen_cycle() -> weakref.ref[_Node]:
    """A cycle that survives a full collection (frozen), then becomes unreachable."""
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    gc.collect()
    return gone


def test_a_cycle_unreachable_after_it_was_frozen_waits_for_the_sweep() -> None:
    with gcpauses.short_pauses(sweep_every=3600):
        gone = _frozen_cycle()
        gc.collect()
        assert gone() is not None  # frozen: the price of the short pauses
    gc.collect()
    assert gone() is None  # handed back on the way out


def test_the_sweep_walks_the_frozen_objects_again() -> None:
    with gcpauses.short_pauses(sweep_every=0):
        gone = _frozen_cycle()
        assert gc.get_freeze_count() == 0  # the sweep was due: unfrozen, not frozen
        gc.collect()
        assert gone() is None


def test_every_collection_is_timed_while_inside() -> None:
    seen: list[tuple[int, float]] = []
    with gcpauses.timed(lambda generation, seconds: seen.append((generation, seconds))):
        gc.collect(0)
        gc.collect()
    assert [generation for generation, _ in seen[-2:]] == [0, 2]
    assert all(seconds >= 0 for _, seconds in seen)
    count = len(seen)
    gc.collect()
    assert len(seen) == count  # gone on the way out
