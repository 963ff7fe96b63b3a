"""One judged metric at one tick: read its due intervals, fold them into its tests, explain.

Who uses it: :mod:`serinus.controller.judging`, once per judged metric per tick. The reads are
cumulative from a fixed ``origin`` to each interval's end, pinned with PromQL's ``@`` so both
sides cover the same window however late the query runs; an interval's counts are the
difference of two reads. ``increase()`` extrapolates each series on its own, so a later read can
come out lower than an earlier one: the state keeps the highest reading of every counter, so a dip
counts as zero and the recovery after it is not counted a second time. The first call also
reads the primary's history before the release, which gives the burst correction
(:mod:`serinus.analysis.sequential.dispersion`) and the latency boundary.

The metric's state (kept in its ``comparison.state`` in the status) holds the comparison's and
the guard's e-processes, the highest cumulative reading, and the end of the last read.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Mapping, Sequence

from serinus.analysis import sequential
from serinus.apis.analysis import CanaryMetric, MetricJudge
from serinus.apis.canary import Canary
from serinus.apis.status import Comparison
from serinus.ports import Buckets, History, Metrics


@dataclasses.dataclass(frozen=True)
class Window:
    due: list[str]
    """Ends of the intervals to read now, oldest first."""
    origin: datetime.datetime
    anchor: datetime.datetime
    history: float
    """Seconds of the primary's history to read before the anchor."""


async def judge_metric(
    metrics: Metrics,
    canary: Canary,
    metric: CanaryMetric,
    state: dict[str, object],
    *,
    window: Window,
    alphas: tuple[float, float | None],
    guard: tuple[float, float | None] | None,
    step_seconds: float,
) -> tuple[dict[str, object], Comparison]:
    """The metric's new state and its comparison (with the guard's verdict) at this tick."""
    reader = _Reader(metrics, canary, metric, window.origin)
    history = None
    if "until" not in state:
        history = await metrics.primary_history(
            canary, metric, until=window.anchor, seconds=window.history, step=step_seconds
        )
        state["until"] = _stamp(window.anchor)
        state["reading"] = await reader.read(window.anchor)
    steps: list[tuple[object, object, float]] = []
    for end in window.due:
        start, until = _parse(str(state["until"])), _parse(end)
        if until <= start:  # read on an earlier tick, when another metric's read failed
            continue
        before = state.get("reading")
        reading = _highest(before, await reader.read(until))
        steps.append((before, reading, (until - start).total_seconds()))
        state["reading"], state["until"] = reading, end
    case = _Case(metric, state, alphas, guard, history, step_seconds)
    if is_latency(metric):
        return state, case.latency(steps)
    return state, case.counts(steps)


class _Reader:
    """Cumulative reads from the origin, as plain JSON-able values for the state."""

    def __init__(
        self, metrics: Metrics, canary: Canary, metric: CanaryMetric, origin: datetime.datetime
    ) -> None:
        self.metrics, self.canary, self.metric, self.origin = metrics, canary, metric, origin

    async def read(self, until: datetime.datetime) -> object:
        if is_latency(self.metric):
            latency = await self.metrics.compare_latency(
                self.canary, self.metric, since=self.origin, until=until
            )
            return {"canary": _plain(latency.canary), "primary": _plain(latency.primary)}
        counts = await self.metrics.compare_counts(
            self.canary, self.metric, since=self.origin, until=until
        )
        return [
            counts.canary.requests,
            counts.canary.errors,
            counts.primary.requests,
            counts.primary.errors,
        ]


@dataclasses.dataclass
class _Case:
    metric: CanaryMetric
    state: dict[str, object]
    alphas: tuple[float, float | None]
    guard: tuple[float, float | None] | None
    history: History | None
    step_seconds: float

    @property
    def judge(self) -> MetricJudge:
        return self.metric.judge or MetricJudge()

    def counts(self, steps: list[tuple[object, object, float]]) -> Comparison:
        intervals = []
        for before, after, seconds in steps:
            old, new = _numbers(before, 4), _numbers(after, 4)
            parts = [max(b - a, 0.0) for a, b in zip(old, new, strict=True)]
            if parts[0] + parts[2] <= 0:
                continue  # nothing served (a read of a few seconds): nothing to count
            intervals.append(
                sequential.Interval(
                    sequential.Counts(parts[0], parts[1]),
                    sequential.Counts(parts[2], parts[3]),
                    seconds,
                )
            )
        dispersion = None
        if self.history is not None:
            dispersion = sequential.estimate(
                [(c.requests, c.errors) for c in self.history.counts], self.step_seconds
            )
        judgement = sequential.judge_counts(
            intervals,
            config=sequential.CountConfig(
                alpha=self.alphas[0],
                min_relative_increase=self.judge.min_effect or 1.0,
                early_pass=bool(self.judge.early_pass),
            ),
            state=_dict(self.state.get("test")),
            dispersion=dispersion,
        )
        self.state["test"] = judgement.state
        guard_steps = [(i.canary, i.primary, i.seconds) for i in intervals]
        return self._comparison(judgement, guard_steps, dispersion, "error rate")

    def latency(self, steps: list[tuple[object, object, float]]) -> Comparison:
        intervals = []
        for before, after, seconds in steps:
            old, new = _sides(before), _sides(after)
            canary, primary = _minus(new[0], old[0]), _minus(new[1], old[1])
            if not any(count > 0 for _, count in [*canary, *primary]):
                continue  # nothing served (a read of a few seconds): nothing to count
            intervals.append(sequential.HistogramInterval(canary, primary, seconds))
        history = self.history.latency if self.history is not None else []
        judgement = sequential.judge_latency(
            intervals,
            config=sequential.LatencyConfig(
                alpha=self.alphas[0],
                quantile=self.judge.quantile or 0.99,
                min_relative_increase=self.judge.min_effect or 0.2,
                early_pass=bool(self.judge.early_pass),
            ),
            state=_dict(self.state.get("test")),
            history=history,
            history_seconds=self.step_seconds,
        )
        self.state["test"] = judgement.state
        guard_steps: list[tuple[sequential.Counts, sequential.Counts, float]] = []
        dispersion = None
        if self.guard is not None and self.guard[1] is not None:
            bound = self.guard[1]
            guard_steps = [
                (_slower(i.canary, bound), _slower(i.primary, bound), i.seconds) for i in intervals
            ]
            if history:
                dispersion = sequential.estimate(
                    [_slower(h, bound).as_pair() for h in history], self.step_seconds
                )
        name = "share slower than the threshold"
        return self._comparison(judgement, guard_steps, dispersion, name)

    def _comparison(
        self,
        judgement: sequential.Judgement,
        guard_steps: list[tuple[sequential.Counts, sequential.Counts, float]],
        dispersion: sequential.Dispersion | None,
        what: str,
    ) -> Comparison:
        decision = judgement.decision
        guard_text, guard_e = None, None
        if self.guard is not None and self.alphas[1] is not None:
            verdict = sequential.judge_guard(
                guard_steps,
                config=sequential.GuardConfig(limit=self.guard[0], alpha=self.alphas[1]),
                what=what,
                state=_dict(self.state.get("guard")),
                dispersion=dispersion,
            )
            self.state["guard"] = verdict.state
            guard_text, guard_e = verdict.decision.reason, _finite(verdict.decision.e_value)
        return Comparison(
            outcome=decision.outcome.value,
            reason=decision.reason,
            canary=decision.canary_rate,
            primary=decision.primary_rate,
            ratio=decision.ratio,
            ratio_lower=decision.ratio_lower,
            ratio_upper=decision.ratio_upper,
            e_value=_finite(decision.e_value),
            pass_e_value=_finite(decision.pass_e_value),
            canary_requests=decision.canary_requests,
            primary_requests=decision.primary_requests,
            boundary_ms=decision.boundary_ms,
            alpha=self.alphas[0],
            intervals=decision.intervals,
            guard=guard_text,
            guard_e_value=guard_e,
            state=dict(self.state),
        )


def is_latency(metric: CanaryMetric) -> bool:
    """The built-in latency metric (a template of that name counts events like the others)."""
    return metric.name == "request-duration" and metric.template_ref is None


def _highest(before: object, after: object) -> object:
    """``after`` with every counter raised to at least its value in ``before`` (same shapes)."""
    if isinstance(after, list) and isinstance(before, list) and len(before) == len(after):
        return [max(float(a), float(b)) for a, b in zip(after, before, strict=True)]
    if isinstance(after, Mapping) and isinstance(before, Mapping):
        return {side: _highest_buckets(before.get(side), after.get(side)) for side in after}
    return after


def _highest_buckets(before: object, after: object) -> object:
    if not isinstance(after, list) or not isinstance(before, list):
        return after
    earlier = {
        float(pair[0]): float(pair[1])
        for pair in before
        if isinstance(pair, list) and len(pair) == 2
    }
    return [
        [pair[0], max(float(pair[1]), earlier.get(float(pair[0]), 0.0))]
        if isinstance(pair, list) and len(pair) == 2
        else pair
        for pair in after
    ]


def _slower(histogram: Sequence[tuple[float, float]], bound: float) -> sequential.Counts:
    """Requests slower than the smallest bucket bound at or above ``bound``."""
    total = histogram[-1][1] if histogram else 0.0
    for le, count in histogram:
        if le >= bound * (1 - 1e-9):
            return sequential.Counts(total, max(total - count, 0.0))
    return sequential.Counts(total, 0.0)


def _minus(after: Buckets, before: Buckets) -> Buckets:
    earlier = dict(before)
    return [(le, max(count - earlier.get(le, 0.0), 0.0)) for le, count in after]


def _plain(histogram: Buckets) -> list[list[float]]:
    """JSON-safe buckets: +Inf stored as -1."""
    return [[-1.0 if math.isinf(le) else le, count] for le, count in histogram]


def _sides(value: object) -> tuple[Buckets, Buckets]:
    if not isinstance(value, Mapping):
        return [], []
    return _buckets(value.get("canary")), _buckets(value.get("primary"))


def _buckets(value: object) -> Buckets:
    if not isinstance(value, list):
        return []
    out: Buckets = []
    for pair in value:
        if isinstance(pair, list) and len(pair) == 2:
            le, count = float(pair[0]), float(pair[1])
            out.append((math.inf if le < 0 else le, count))
    return out


def _numbers(value: object, size: int) -> list[float]:
    if isinstance(value, list) and len(value) == size:
        return [float(v) for v in value]
    return [0.0] * size


def _dict(value: object) -> dict[str, object] | None:
    return value if isinstance(value, dict) else None


def _finite(value: float) -> float:
    return min(value, 1e300)


def _stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(timestamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
