"""Short garbage-collector pauses for serinus's long-running processes.

CPython's cyclic collector stops the whole process while it walks every container object of the
generation it collects. A full (generation 2) collection walks all long-lived objects: in the
operator at 1,000 Canaries (modules, caches, one task per Canary: ~230,000 objects) that was
150-340 ms every 4 s while Canaries progressed, and in the sandbox's API server (every object of
the cluster as dicts: ~700,000) 400-700 ms. Every tick due during a pause starts that much late,
and a pause of the API server holds every request in flight (``benchmarks/operator_scale.py``
prints the operators' pauses next to their tick lateness).

:func:`short_pauses` freezes (:func:`gc.freeze`) what survives each full collection: the next
full collection walks only the objects that became long-lived since, so its pause is bounded by
the churn between two collections instead of the size of the heap. Nothing stops being freed
when its last reference goes (reference counting does not depend on the collector); what a frozen
object no longer gets is the cyclic collector, so a reference cycle that becomes unreachable
after its objects were frozen (a tick in flight during a full collection, say) is kept. At 1,000
progressing Canaries the operator froze 0-443 such objects per 30 s (about one per 250 ticks;
none while idle), so every ``sweep_every`` seconds (10 minutes) one full collection walks
everything again: one pause of the old length (140-200 ms in the operator) instead of one every
4 s, and garbage kept at most that long.

:func:`timed` reports each collection's pause (the operator's ``serinus_gc_pause_seconds``), so
what this buys can be seen on a running operator, not only in a benchmark.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator
from typing import Any

OLDEST = 2
"""The generation a full collection collects."""
SWEEP_SECONDS = 600.0
"""How often a full collection walks the frozen objects too (see the module docstring)."""


class _Freezer:
    """A :data:`gc.callbacks` entry: after a full collection, freeze what survived it, or, once
    ``sweep_every`` seconds have passed, unfreeze everything so the next one walks it all."""

    def __init__(self, sweep_every: float) -> None:
        self.sweep_every = sweep_every
        self.sweep_at = time.monotonic() + sweep_every

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info.get("generation") != OLDEST:
            return
        now = time.monotonic()
        if now >= self.sweep_at:
            self.sweep_at = now + self.sweep_every
            gc.unfreeze()
        else:
            gc.freeze()


@contextlib.contextmanager
def short_pauses(sweep_every: float = SWEEP_SECONDS) -> Iterator[None]:
    """While inside, every full collection freezes its survivors (and one every ``sweep_every``
    seconds walks everything); on the way out the callback goes and everything frozen is
    handed back to the collector."""
    if any(isinstance(callback, _Freezer) for callback in gc.callbacks):
        yield  # nested: the outer one undoes it
        return
    freezer = _Freezer(sweep_every)
    gc.callbacks.append(freezer)
    try:
        yield
    finally:
        gc.callbacks.remove(freezer)
        gc.unfreeze()


@contextlib.contextmanager
def timed(observe: Callable[[int, float], None]) -> Iterator[None]:
    """While inside, ``observe(generation, seconds)`` after every collection, with the seconds
    the process stood still for it."""
    began = [0.0]

    def clock(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            observe(int(info.get("generation", 0)), time.perf_counter() - began[0])

    gc.callbacks.append(clock)
    try:
        yield
    finally:
        gc.callbacks.remove(clock)
