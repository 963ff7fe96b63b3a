"""The sequential judge at each step: the canary compared with the primary, counted since the
analysis started.

For every metric with a ``judge``, the controller asks the metrics port for both sides' counts
(request-success-rate) or latency histograms (request-duration) over the time since the run's
analysis started, and hands them to :mod:`serinus.analysis.sequential` with the judge's memory
from the status. Counting from the start of the analysis keeps the judge a function of what
Prometheus holds, so a restarted operator loses nothing. Missing data, too little data or a
failing query give "not yet", never a failure.
"""

from __future__ import annotations

import datetime

from serinus.analysis import sequential
from serinus.apis.analysis import CanaryMetric, MetricJudge
from serinus.apis.canary import Canary
from serinus.apis.status import Comparison
from serinus.controller.tick import Tick
from serinus.errors import SerinusError
from serinus.ports import Metrics


async def compare(tick: Tick, metric: CanaryMetric) -> Comparison:
    """The judge's verdict for one metric at this step."""
    started = tick.status.analysis_start_time
    if started is None:
        return _not_yet("the analysis has not started yet")
    window = (tick.now() - _parse(started)).total_seconds()
    state = _previous_state(tick, metric.name)
    return await compare_with(
        tick.world.metrics, tick.canary, metric, window_seconds=window, state=state
    )


async def compare_with(
    metrics: Metrics,
    canary: Canary,
    metric: CanaryMetric,
    *,
    window_seconds: float,
    state: dict[str, object] | None,
) -> Comparison:
    """The judge's verdict for one metric on what ``metrics`` counted over the window."""
    judge = metric.judge or MetricJudge()
    alpha = judge.alpha or 0.05
    window = window_seconds
    try:
        if metric.name == "request-duration":
            latency = await metrics.compare_latency(canary, metric, window_seconds=window)
            judgement = sequential.judge_latency(
                latency.canary,
                latency.primary,
                config=sequential.LatencyConfig(
                    alpha=alpha,
                    quantile=judge.quantile or 0.99,
                    min_relative_increase=judge.min_effect or 0.2,
                    early_pass=bool(judge.early_pass),
                ),
                state=state,
            )
        else:
            counts = await metrics.compare_counts(canary, metric, window_seconds=window)
            judgement = sequential.judge_counts(
                sequential.Counts(counts.canary.requests, counts.canary.errors),
                sequential.Counts(counts.primary.requests, counts.primary.errors),
                config=sequential.CountConfig(
                    alpha=alpha,
                    min_relative_increase=judge.min_effect or 1.0,
                    early_pass=bool(judge.early_pass),
                ),
                state=state,
            )
    except SerinusError as error:
        return _not_yet(f"{metric.name} could not be compared yet: {error}", state=state)
    return _comparison(judgement.decision, judgement.state)


def _comparison(decision: sequential.Decision, state: dict[str, object]) -> Comparison:
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
        state=dict(state),
    )


def _not_yet(reason: str, *, state: dict[str, object] | None = None) -> Comparison:
    return Comparison(outcome=sequential.Outcome.NOT_YET.value, reason=reason, state=state)


def _previous_state(tick: Tick, name: str) -> dict[str, object] | None:
    for metric in tick.status.metrics or []:
        if metric.name == name and metric.comparison is not None:
            return metric.comparison.state
    return None


def _finite(value: float) -> float:
    return min(value, 1e300)


def _parse(timestamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
