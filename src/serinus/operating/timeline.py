"""Turning each tick's status into the run history: points, runs and the bounds on both.

:func:`record` is called with the Canary as a tick left it. It adds a point to the current run
when the Canary is in a run (or just ended one), starts a new run when a new revision's analysis
started, closes a run when it reached Succeeded or Failed, and keeps requests made by hand. It
returns None when nothing worth writing changed (a Canary idling in Initialized or Succeeded
writes nothing tick after tick). :func:`bounded` keeps the whole history within the limits of
:mod:`serinus.apis.history`. Pure functions of the history, the Canary and the time.
"""

from __future__ import annotations

from serinus.apis.canary import Canary
from serinus.apis.history import (
    MAX_BYTES,
    MAX_METRICS,
    MAX_POINTS,
    MAX_REQUESTS,
    MAX_RUNS,
    History,
    MetricPoint,
    Point,
    Request,
    Run,
)
from serinus.apis.status import ACTIVE_PHASES, CanaryPhase, CanaryStatus, MetricStatus

ENDED = (CanaryPhase.SUCCEEDED, CanaryPhase.FAILED)
_THINNED_POINTS = 60
"""Points kept per older run when the history is over its size."""


def point_from(status: CanaryStatus, *, at: str) -> Point:
    """The point a status makes at ``at``."""
    return Point(
        at=at,
        phase=(status.phase or CanaryPhase.INITIALIZING).value,
        weight=status.canary_weight,
        iterations=status.iterations,
        failed_checks=status.failed_checks,
        metrics=[_metric(m) for m in (status.metrics or [])[:MAX_METRICS]],
        message=(status.message or None) and (status.message or "")[:300],
        paused=bool(status.control and status.control.paused),
    )


def _metric(metric: MetricStatus) -> MetricPoint:
    comparison = metric.comparison
    return MetricPoint(
        name=metric.name[:300],
        value=metric.value,
        min=metric.min,
        max=metric.max,
        verdict=metric.verdict[:300],
        judge=comparison.outcome[:300] if comparison is not None else None,
        ratio=comparison.ratio if comparison is not None else None,
        bound=comparison.ratio_upper if comparison is not None else None,
    )


def record(history: History, canary: Canary, *, at: str, bound: bool = True) -> History | None:
    """The history with this tick added, or None when there is nothing new to keep.

    ``bound=False``: not :func:`bounded` (for a caller that bounds it itself, and passes a
    history of its own: its current run is then changed in place and the history returned)."""
    status = canary.status
    if status is None or status.phase is None:
        return None
    changed = False
    run = history.current
    if status.phase in ACTIVE_PHASES and starts_run(run, status):
        run = _start(canary, status, at=at)
        history = history.model_copy(update={"runs": [*history.runs, run]})
        changed = True
    if run is None:
        return None
    if _requests(run, status):
        changed = True
    in_run = run.ended is None and (status.phase in ACTIVE_PHASES or status.phase in ENDED)
    if in_run:
        point = point_from(status, at=at)
        if not run.points or point.model_dump(exclude={"at"}) != run.points[-1].model_dump(
            exclude={"at"}
        ):
            run.points = _thinned([*run.points, point], MAX_POINTS)
            changed = True
        if status.phase in ENDED:
            run.ended, run.outcome = at, status.phase.value
            changed = True
    if not changed:
        return None
    return bounded(history) if bound else history


def starts_run(run: Run | None, status: CanaryStatus) -> bool:
    """A new revision, or a new analysis of the same one (a retry), starts a new run."""
    if run is None or run.revision != status.last_applied_spec:
        return True
    started = status.analysis_start_time
    return started is not None and started != run.started


def _start(canary: Canary, status: CanaryStatus, *, at: str) -> Run:
    analysis = canary.spec.effective_analysis
    return Run(
        revision=(status.last_applied_spec or "")[:300],
        started=status.analysis_start_time or at,
        interval_seconds=analysis.interval_at_least(1.0) if analysis is not None else None,
        threshold=analysis.effective_threshold if analysis is not None else None,
        max_weight=analysis.effective_max_weight if analysis is not None else None,
    )


def _requests(run: Run, status: CanaryStatus) -> bool:
    """Keep the last request handled, once."""
    last = status.control.last if status.control else None
    if last is None or last.handled_at is None or last.handled_at < run.started:
        return False
    request = Request(
        at=last.handled_at,
        action=last.action.value if last.action else "unreadable request",
        by=last.by[:300],
        accepted=last.accepted,
        message=(last.message or None) and (last.message or "")[:300],
    )
    if request in run.requests:
        return False
    run.requests = [*run.requests, request][-MAX_REQUESTS:]
    return True


def _thinned(points: list[Point], limit: int) -> list[Point]:
    """At most ``limit`` points: drop every other point that repeats its predecessor's state,
    then, if still too many, every other point, always keeping the first and the last."""
    while len(points) > limit:
        kept = [points[0]]
        drop = True
        for point in points[1:-1]:
            if point.same_state(kept[-1]) and drop:
                drop = False
                continue
            drop = True
            kept.append(point)
        kept.append(points[-1])
        if len(kept) == len(points):  # nothing repeats: halve evenly
            kept = [*points[:-1:2], points[-1]]
        points = kept
    return points


def size(history: History) -> int:
    return len(history.model_dump_json(by_alias=True, exclude_none=True))


def bounded(history: History) -> History:
    """The history within :data:`MAX_RUNS` runs and :data:`MAX_BYTES` bytes."""
    runs = [run.model_copy() for run in history.runs[-MAX_RUNS:]]
    history = history.model_copy(update={"runs": runs})
    current = size(history)  # measured again only after a change
    for run in runs[:-1]:  # older runs first, the current one last
        if current <= MAX_BYTES:
            break
        run.points = _thinned(run.points, _THINNED_POINTS)
        current = size(history)
    while current > MAX_BYTES and len(history.runs) > 1:
        history = history.model_copy(update={"runs": history.runs[1:]})
        current = size(history)
    if current > MAX_BYTES and history.runs:
        run = history.runs[-1]
        run.points = _thinned(run.points, _THINNED_POINTS)
    return history
