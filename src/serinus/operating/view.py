"""What a person reads about one Canary: built from the Canary, its Events and its run history.

:func:`build` gathers everything ``serinus status``, ``serinus get canaries`` and the dashboard
show into one :class:`CanaryView`: the phase (and who paused it), the weights, step n of N, the
time spent in this step and the time to go, every metric's last value against its bounds (or the
judge's verdict and bound), the hooks and gates with what was last said about each, the failed
checks against the threshold, the last request made by hand, and the last Events.
:meth:`CanaryView.document` is the same as plain data for ``-o json|yaml`` and the dashboard.
Pure: the caller reads the API.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from serinus import redaction
from serinus.apis.base import Manifest, parse_time
from serinus.apis.canary import Canary
from serinus.apis.history import History
from serinus.apis.status import CanaryPhase, CanaryStatus, MetricStatus
from serinus.operating import progress

EVENTS_SHOWN = 8


@dataclasses.dataclass(frozen=True)
class MetricView:
    name: str
    value: float | None
    min: float | None
    max: float | None
    verdict: str
    message: str | None
    judge: dict[str, Any] | None
    """The sequential judge's outcome, reason, ratio and its bounds, evidence and threshold."""


@dataclasses.dataclass(frozen=True)
class HookView:
    name: str
    type: str
    url: str
    """Without credentials or query values."""
    last: str | None
    """The last Event that names the hook."""


@dataclasses.dataclass(frozen=True)
class EventView:
    type: str
    message: str
    time: str | None
    count: int


@dataclasses.dataclass(frozen=True)
class CanaryView:
    name: str
    namespace: str
    target: str
    phase: str
    message: str | None
    paused_by: str | None
    weight: int
    max_weight: int | None
    step: int | None
    steps: int | None
    unit: str | None
    interval: float | None
    in_step: float | None
    """Seconds since the weight (or iteration) last moved; None when the history does not say."""
    time_left: float | None
    """Seconds until Succeeded if every check passes; None outside a run."""
    failed_checks: int
    threshold: int | None
    metrics: list[MetricView]
    hooks: list[HookView]
    events: list[EventView]
    last_request: dict[str, Any] | None
    revision: str | None
    promoted: str | None
    last_transition: str | None

    @property
    def key(self) -> str:
        return f"{self.name}.{self.namespace}"

    @property
    def finished(self) -> bool:
        return self.phase in ("Succeeded", "Failed")

    def document(self) -> dict[str, Any]:
        """The view as plain data (``-o json``, the dashboard)."""
        return dataclasses.asdict(self)


def build(
    canary: Canary,
    *,
    events: list[Manifest],
    history: History | None,
    now: datetime.datetime,
    provider: str | None = None,
) -> CanaryView:
    """The view of ``canary`` at ``now``."""
    status = canary.status or CanaryStatus()
    analysis = canary.spec.effective_analysis
    found = progress.progress(_where_it_stopped(canary, history), provider=provider)
    in_step = _in_step(history, status, now)
    running = found is not None and found.ticks_left > 0
    control = status.control
    shown = _events(canary, events)
    return CanaryView(
        name=canary.name,
        namespace=canary.namespace,
        target=f"{canary.spec.target_ref.kind}/{canary.spec.target_ref.name}",
        phase=status.phase.value if status.phase else "Unknown",
        message=status.message,
        paused_by=(control.paused.by or "someone") if control and control.paused else None,
        weight=status.canary_weight,
        max_weight=analysis.effective_max_weight if analysis else None,
        step=found.step if found else None,
        steps=found.steps if found else None,
        unit=found.unit if found else None,
        interval=found.interval if found else None,
        in_step=in_step if running else None,
        time_left=progress.time_left(found, in_step=in_step) if found and running else None,
        failed_checks=status.failed_checks,
        threshold=analysis.effective_threshold if analysis else None,
        metrics=[_metric(m) for m in status.metrics or []],
        hooks=[
            HookView(
                h.name,
                h.effective_type.value,
                redaction.redact_url(h.url),
                _last_about(h.name, shown),
            )
            for h in (analysis.webhooks or [] if analysis else [])
        ],
        events=shown[-EVENTS_SHOWN:],
        last_request=control.last.dump() if control and control.last else None,
        revision=status.last_applied_spec,
        promoted=status.last_promoted_spec,
        last_transition=status.last_transition_time,
    )


def _metric(metric: MetricStatus) -> MetricView:
    judge = None
    comparison = metric.comparison
    if comparison is not None:
        judge = {
            "outcome": comparison.outcome,
            "reason": comparison.reason,
            "ratio": comparison.ratio,
            "lower": comparison.ratio_lower,
            "upper": comparison.ratio_upper,
            "evidence": comparison.e_value,
            "needed": 1 / comparison.alpha if comparison.alpha else None,
            "guard": comparison.guard,
        }
    return MetricView(
        metric.name, metric.value, metric.min, metric.max, metric.verdict, metric.message, judge
    )


def _where_it_stopped(canary: Canary, history: History | None) -> Canary:
    """A rolled-back Canary is back at weight 0; its steps are counted at the furthest point its
    run reached (from the history), so the view says "3 of 10" rather than "0 of 10"."""
    status = canary.status
    run = history.current if history is not None else None
    if status is None or status.phase is not CanaryPhase.FAILED or run is None:
        return canary
    if run.revision != status.last_applied_spec or not run.points:
        return canary
    reached = {
        "canary_weight": max(point.weight for point in run.points),
        "iterations": max(point.iterations for point in run.points),
    }
    return canary.model_copy(update={"status": status.model_copy(update=reached)})


def _in_step(history: History | None, status: CanaryStatus, now: datetime.datetime) -> float | None:
    """Seconds since the current state (phase, weight, iteration) began, from the history."""
    run = history.current if history is not None else None
    if run is None or not run.points or run.revision != status.last_applied_spec:
        return None
    last = run.points[-1]
    if last.weight != status.canary_weight or last.phase != (status.phase or ""):
        return None
    since = last
    for point in reversed(run.points):
        if not point.same_state(last):
            break
        since = point
    began = parse_time(since.at)
    return max((now - began).total_seconds(), 0.0) if began else None


def _events(canary: Canary, events: list[Manifest]) -> list[EventView]:
    """The Canary's Events, oldest first."""
    mine = [
        e
        for e in events
        if (e.get("involvedObject") or {}).get("name") == canary.name
        and (e.get("involvedObject") or {}).get("kind") == "Canary"
    ]
    mine.sort(key=_order)
    return [
        EventView(
            type=str(e.get("type") or "Normal"),
            message=str(e.get("message") or "")[:1024],
            time=_when(e) or None,
            count=int(e.get("count") or 1),
        )
        for e in mine
    ]


def _order(event: Manifest) -> tuple[str, int]:
    """Oldest first. Timestamps have whole seconds; within one, the later write (the higher
    resourceVersion, which an API server backed by etcd numbers in write order) goes last."""
    version = str((event.get("metadata") or {}).get("resourceVersion") or "")
    return _when(event), int(version) if version.isdigit() else 0


def _when(event: Manifest) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def _last_about(hook: str, events: list[EventView]) -> str | None:
    for event in reversed(events):
        if f" {hook}" in f" {event.message}":
            return event.message
    return None
