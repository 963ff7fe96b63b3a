"""The judge's last look before promotion: once per release, with part of each comparison's alpha.

Who uses it: :func:`serinus.controller.judging.judge_step`, on the tick promotion becomes due
(the schedule wanted to promote and the judge has read every interval up to then; or, with
``earlyPass``, every judged metric passed clearly at a weight that promotes), and ``serinus
backtest`` at the end of its replay. Each count comparison (errors per request, a judged
MetricTemplate) runs one exact test over the whole release
(:mod:`serinus.analysis.sequential.lastlook`) at its last-look share of alpha; a regression
found there rolls the release back like any other. That the look happened is written in
``status.judge.lastLook`` in the same status update as the verdict, so a restarted operator
never looks twice, and its finding is in the metric's ``comparison.state.lastLook`` and in the
comparison's reason.
"""

from __future__ import annotations

import datetime

from serinus.analysis import sequential
from serinus.apis.analysis import CanaryMetric
from serinus.apis.status import Comparison, JudgeStatus
from serinus.controller import strategies
from serinus.controller.tick import Tick

OUTCOME_REGRESSION = sequential.Outcome.REGRESSION.value
OUTCOME_PASS = sequential.Outcome.NO_REGRESSION.value


def take(
    tick: Tick,
    metrics: list[CanaryMetric],
    comparisons: dict[str, Comparison],
    status: JudgeStatus | None,
    alphas: dict[str, float],
) -> tuple[dict[str, Comparison], JudgeStatus | None]:
    """The comparisons and the judge's status after the last look, if it is due at this tick
    (``alphas``: each count comparison's last-look share); unchanged otherwise."""
    if any(c.outcome == OUTCOME_REGRESSION for c in comparisons.values()):
        return comparisons, status  # rolled back anyway
    if status is None or not due(tick, metrics, status, comparisons):
        return comparisons, status
    looked = dict(comparisons)
    for metric in metrics:
        if metric.name in alphas and metric.name in comparisons:
            looked[metric.name] = look(metric, comparisons[metric.name], alphas[metric.name])
    return looked, status.model_copy(update={"last_look": stamp(tick.now())})


def due(
    tick: Tick,
    metrics: list[CanaryMetric],
    status: JudgeStatus | None,
    comparisons: dict[str, Comparison],
) -> bool:
    """Whether promotion may come at this tick and the last look has not been taken yet."""
    if status is None or status.lost or status.last_look is not None or status.anchor is None:
        return False
    wanted, read = status.promote_after, status.read_until
    if wanted is not None and read is not None and _parse(read) >= _parse(wanted):
        return True
    early = tick.status.canary_weight >= strategies.EARLY_PROMOTION_WEIGHT and all(
        m.judge is not None and m.judge.early_pass for m in metrics
    )
    return early and all(
        comparisons.get(m.name) is not None and comparisons[m.name].outcome == OUTCOME_PASS
        for m in metrics
    )


def look(metric: CanaryMetric, comparison: Comparison, alpha: float) -> Comparison:
    """The comparison after its last look at ``alpha``: a regression, or its reason extended
    by what the look found."""
    test = (comparison.state or {}).get("test")
    finding = sequential.last_look(
        test if isinstance(test, dict) else None,
        alpha=alpha,
        noun="errors" if metric.template_ref is None else "events",
    )
    state = {**(comparison.state or {}), "lastLook": finding.to_dict()}
    if finding.regression:
        upper = comparison.ratio_upper
        update = {
            "outcome": OUTCOME_REGRESSION,
            "reason": finding.reason,
            "state": state,
            "ratio_lower": finding.lower,
            "ratio_upper": None if upper is None else max(upper, finding.lower),
            "ratio": max(comparison.ratio or finding.lower, finding.lower),
        }
        return comparison.model_copy(update=update)
    reason = f"{comparison.reason}; {finding.reason}"
    return comparison.model_copy(update={"reason": reason, "state": state})


def stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(timestamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
