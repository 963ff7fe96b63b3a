"""Short garbage-collector pauses for serinus's long-running processes.

CPython's cyclic collector stops the whole process while it walks every container object of the
generation it collects. A full (generation 2) collection walks all long-lived objects: in the
operator at 1,000 Canaries (modules, caches, one task per Canary: ~230,000 objects) that was
150-340 ms every 4 s while Canaries progressed, and in the sandbox's API server (every object of
the cluster as dicts: ~700,000) 400-700 ms. Every tick due during a pause starts that much late,
and a pause of the API server holds every request in flight, so the pauses, not the CPU, set the
operator's worst tick lateness (``benchmarks/operator_scale.py``).

:func:`short_pauses` freezes (:func:`gc.freeze`) what survives each full collection: the next
full collection walks only the objects that became long-lived since, so its pause is bounded by
the churn between two collections instead of the size of the heap. Nothing stops being freed
when its last reference goes (reference counting does not depend on the collector); what a frozen
object can no longer get is the cyclic collector, so a reference cycle formed among objects that
had already survived a full collection, once unreachable, is kept until :func:`short_pauses`
ends (it unfreezes everything). Such cycles are rare in these processes: the full collections
that were measured found 0-182 unreachable objects each, against ~230,000 walked.

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


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    """A :data:`gc.callbacks` entry: after a full collection, freeze what survived it."""
    if phase == "stop" and info.get("generation") == OLDEST:
        gc.freeze()


@contextlib.contextmanager
def short_pauses() -> Iterator[None]:
    """While inside, every full collection freezes its survivors; on the way out the callback
    goes and everything frozen is handed back to the collector."""
    if _freeze_survivors in gc.callbacks:  # nested: the outer one undoes it
        yield
        return
    gc.callbacks.append(_freeze_survivors)
    try:
        yield
    finally:
        gc.callbacks.remove(_freeze_survivors)
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
