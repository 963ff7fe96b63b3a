"""The checks of one analysis step: rollout webhooks, then every metric of the analysis.

Every metric is measured on every step (Flagger stops at the first failure), so the status always
holds each metric's last value, bounds and verdict, and ``kubectl get canary -o yaml`` alone
explains a halt. A step fails when a rollout hook fails, a metric is out of bounds, a query fails,
or a metric has no data and its ``onNoData`` is ``fail`` (the default, as in Flagger); a metric
without data whose ``onNoData`` is ``wait`` holds the step without counting a failed check. A step
tells the first few metrics that did not pass one by one and counts the rest in one message.
"""

from __future__ import annotations

import dataclasses
import enum

from serinus.analysis import threshold
from serinus.analysis.sequential import Outcome
from serinus.analysis.verdict import CheckResult, Verdict
from serinus.apis.analysis import BUILTIN_METRICS, CanaryMetric
from serinus.apis.canary import Canary
from serinus.apis.status import Comparison, MetricStatus
from serinus.controller import hooks, judging
from serinus.controller.tick import Tick
from serinus.errors import MetricsError, NoValuesFoundError, SerinusError
from serinus.ports import Metrics

TOLD_PER_STEP = 5
"""Metrics that did not pass which a step tells one by one (log line, Event, event webhooks);
the others are counted in one more message, so a Canary with 10,000 failing metrics does not
make 10,000 Events a step."""


class StepOutcome(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    WAIT = "wait"
    REGRESSION = "regression"


@dataclasses.dataclass(frozen=True)
class StepResult:
    outcome: StepOutcome
    clear_pass: bool = False
    """Every judged metric allows an early pass and found no regression."""
    metric: str = ""
    reason: str = ""


async def run_analysis(tick: Tick) -> StepResult:
    """Run the step's checks, record the metrics in the status, and say how the step went.

    With a judge, a built-in metric's threshold is an anytime-valid guard
    (:mod:`serinus.controller.judging`): its one-minute value is still read and shown, but only
    the guard's verdict counts.
    """
    if not await hooks.rollout(tick):
        return StepResult(StepOutcome.FAIL)
    metrics = tick.analysis.metrics or []
    verdicts = await judging.judge_step(tick) if judging.judged(metrics) else None
    guarded = verdicts.guarded if verdicts is not None else frozenset()
    results = [await measure(tick, m) if m.has_bounds else None for m in metrics]
    comparisons = [
        verdicts.comparisons.get(m.name) if verdicts is not None and m.judge else None
        for m in metrics
    ]
    await _record(tick, metrics, results, comparisons, verdicts)
    outcome = StepOutcome.PASS
    told = 0
    for metric, result in zip(metrics, results, strict=True):
        if result is None or result.passed or metric.name in guarded:
            continue
        told += 1
        if result.verdict is Verdict.NO_DATA and metric.on_no_data == "wait":
            if told <= TOLD_PER_STEP:
                await tick.info(f"Halt {tick.name} advancement waiting for data: {result.message}")
            outcome = StepOutcome.WAIT if outcome is StepOutcome.PASS else outcome
            continue
        if told <= TOLD_PER_STEP:
            await tick.warning(result.message)
        outcome = StepOutcome.FAIL
    if told > TOLD_PER_STEP:
        await tick.warning(
            f"Halt {tick.name} advancement: {told - TOLD_PER_STEP:,} more metrics did not pass "
            "(status.metrics counts them)"
        )
    return await _judged(tick, metrics, comparisons, outcome, verdicts)


async def _judged(
    tick: Tick,
    metrics: list[CanaryMetric],
    comparisons: list[Comparison | None],
    outcome: StepOutcome,
    verdicts: judging.Verdicts | None,
) -> StepResult:
    """Say what the judges found; a regression or a guard ends the run, clear passes may speed
    it up."""
    judged = [(m, c) for m, c in zip(metrics, comparisons, strict=True) if c is not None]
    for name, reason in (verdicts.guard_violations if verdicts is not None else {}).items():
        text = f"Halt {tick.name} advancement {name} beyond its threshold: {reason}"
        await tick.warning(text)
        return StepResult(StepOutcome.REGRESSION, metric=name, reason=reason)
    for metric, comparison in judged:
        if comparison.outcome == Outcome.REGRESSION.value:
            text = f"Halt {tick.name} advancement {metric.name} regression: {comparison.reason}"
            await tick.warning(text)
            return StepResult(StepOutcome.REGRESSION, metric=metric.name, reason=comparison.reason)
        tick.log.info("Judge %s: %s", metric.name, comparison.reason)
    clear = bool(judged) and all(
        m.judge is not None and m.judge.early_pass and c.outcome == Outcome.NO_REGRESSION.value
        for m, c in judged
    )
    return StepResult(outcome, clear_pass=clear and outcome is StepOutcome.PASS)


async def measure(tick: Tick, metric: CanaryMetric) -> CheckResult:
    """One metric: measured and judged, or the reason it could not be."""
    return await measure_with(tick.world.metrics, tick.canary, metric)


async def measure_with(metrics: Metrics, canary: Canary, metric: CanaryMetric) -> CheckResult:
    """One metric measured by ``metrics`` and judged against its bounds."""
    bounds = metric.effective_range
    try:
        value = await metrics.measure(canary, metric)
    except NoValuesFoundError as error:
        return CheckResult(
            metric.name, Verdict.NO_DATA, None, bounds.min, bounds.max, f"Halt advancement {error}"
        )
    except SerinusError as error:
        if isinstance(error, MetricsError) and metric.name in BUILTIN_METRICS:
            message = f"Prometheus query failed: {error}"
        else:
            message = f"Metric query failed for {metric.name}: {error}"
        return CheckResult(metric.name, Verdict.ERROR, None, bounds.min, bounds.max, message)
    return threshold.judge(metric, value, canary_key=canary.key)


async def _record(
    tick: Tick,
    metrics: list[CanaryMetric],
    results: list[CheckResult | None],
    comparisons: list[Comparison | None],
    verdicts: judging.Verdicts | None,
) -> None:
    """Keep the last value, bounds, verdict and comparison of every metric in the status, and
    the judge's timeline, in one write (a restart resumes from both or from neither)."""
    if not metrics:
        return
    guarded = verdicts.guarded if verdicts is not None else frozenset()
    now = tick.timestamp()
    previous = {m.name: m for m in tick.status.metrics or []}
    statuses = []
    for metric, result, comparison in zip(metrics, results, comparisons, strict=True):
        value = result.value if result is not None else None
        if value is None and metric.name in previous:
            value = previous[metric.name].value  # keep the last value read
        verdict = result.verdict.value if result is not None else _verdict_of(comparison)
        message = (result.message or None) if result is not None else None
        if metric.name in guarded and comparison is not None:
            violated = verdicts is not None and metric.name in verdicts.guard_violations
            verdict = Verdict.FAIL.value if violated else _verdict_of(comparison)
            message = comparison.guard
        statuses.append(
            MetricStatus(
                name=metric.name,
                value=value,
                min=result.min if result is not None else None,
                max=result.max if result is not None else None,
                verdict=verdict,
                message=message,
                last_update_time=now,
                comparison=comparison,
            )
        )
    # written with the step that follows (the weight, a failed check) or at the tick's end
    if verdicts is not None:
        tick.defer_status(metrics=statuses, judge=verdicts.judge)
    else:
        tick.defer_status(metrics=statuses)


def _verdict_of(comparison: Comparison | None) -> str:
    """The check verdict of a metric judged only by comparison: fail on regression."""
    if comparison is not None and comparison.outcome == Outcome.REGRESSION.value:
        return Verdict.FAIL.value
    return Verdict.PASS.value
