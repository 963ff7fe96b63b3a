"""The checks of one analysis step: rollout webhooks, then every metric of the analysis.

Every metric is measured on every step (Flagger stops at the first failure), so the status always
holds each metric's last value, bounds and verdict, and ``kubectl get canary -o yaml`` alone
explains a halt. A step fails when a rollout hook fails, a metric is out of bounds, a query fails,
or a metric has no data and its ``onNoData`` is ``fail`` (the default, as in Flagger); a metric
without data whose ``onNoData`` is ``wait`` holds the step without counting a failed check.
"""

from __future__ import annotations

import enum

from serinus.analysis import threshold
from serinus.analysis.verdict import CheckResult, Verdict
from serinus.apis.analysis import BUILTIN_METRICS, CanaryMetric
from serinus.apis.status import MetricStatus
from serinus.controller import hooks
from serinus.controller.tick import Tick
from serinus.errors import MetricsError, NoValuesFoundError, SerinusError


class StepOutcome(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    WAIT = "wait"


async def run_analysis(tick: Tick) -> StepOutcome:
    """Run the step's checks, record the metrics in the status, and say how the step went."""
    if not await hooks.rollout(tick):
        return StepOutcome.FAIL
    results = [await measure(tick, metric) for metric in tick.analysis.metrics or []]
    await _record(tick, results)
    outcome = StepOutcome.PASS
    for metric, result in zip(tick.analysis.metrics or [], results, strict=True):
        if result.passed:
            continue
        if result.verdict is Verdict.NO_DATA and metric.on_no_data == "wait":
            await tick.info(f"Halt {tick.name} advancement waiting for data: {result.message}")
            outcome = StepOutcome.WAIT if outcome is StepOutcome.PASS else outcome
            continue
        await tick.warning(result.message)
        outcome = StepOutcome.FAIL
    return outcome


async def measure(tick: Tick, metric: CanaryMetric) -> CheckResult:
    """One metric: measured and judged, or the reason it could not be."""
    bounds = metric.effective_range
    try:
        value = await tick.world.metrics.measure(tick.canary, metric)
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
    return threshold.judge(metric, value, canary_key=tick.name)


async def _record(tick: Tick, results: list[CheckResult]) -> None:
    """Keep the last value, bounds and verdict of every metric in the status."""
    if not results:
        return
    now = tick.timestamp()
    previous = {m.name: m for m in tick.status.metrics or []}
    metrics = []
    for result in results:
        value = result.value
        if value is None and result.metric in previous:
            value = previous[result.metric].value  # keep the last value read
        metrics.append(
            MetricStatus(
                name=result.metric,
                value=value,
                min=result.min,
                max=result.max,
                verdict=result.verdict.value,
                message=result.message or None,
                last_update_time=now,
            )
        )
    await tick.update_status(metrics=metrics)
