"""One judged metric's reads (:mod:`serinus.controller.metric_judge`), against scripted readings.

Covers: ``increase()`` extrapolates each series on its own, so a cumulative read can come out
lower than the one before; the dip counts as zero and the recovery after it is not counted a
second time (the canary's totals are what its counters reached); a read in which neither side
served anything is not counted as an interval.
"""

from __future__ import annotations

import datetime

from serinus.apis.analysis import CanaryMetric
from serinus.apis.canary import Canary
from serinus.controller import metric_judge
from serinus.ports import CountComparison, Counts, History
from tests.controller.support import metric, new_canary

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


class Scripted:
    """The Metrics port's reads for a judge: cumulative counts from a script, in order."""

    def __init__(self, readings: list[tuple[float, float, float, float]]) -> None:
        self.readings = list(readings)

    async def compare_counts(
        self,
        canary: Canary,
        metric: CanaryMetric,
        *,
        since: datetime.datetime,
        until: datetime.datetime,
    ) -> CountComparison:
        n_c, x_c, n_p, x_p = self.readings.pop(0)
        return CountComparison(Counts(n_c, x_c), Counts(n_p, x_p))

    async def primary_history(
        self,
        canary: Canary,
        metric: CanaryMetric,
        *,
        until: datetime.datetime,
        seconds: float,
        step: float,
    ) -> History:
        return History(counts=[], latency=[])


def _at(seconds: int) -> str:
    return (T0 + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def test_a_dip_in_a_cumulative_read_is_not_counted_twice() -> None:
    canary = new_canary(metrics=[metric("request-success-rate", judge={})])
    judged = canary.spec.effective_analysis
    assert judged is not None
    assert judged.metrics
    readings = [
        (0, 0, 0, 0),  # at the anchor
        (100, 5, 1000, 5),
        (98, 4, 990, 5),  # increase() extrapolated less this time: a dip, so nothing new
        (200, 6, 2000, 10),
        (200, 6, 2000, 10),  # nothing served since: not an interval
    ]
    _, comparison = await metric_judge.judge_metric(
        Scripted(readings),  # type: ignore[arg-type]
        canary,
        judged.metrics[0],
        {},
        window=metric_judge.Window(
            due=[_at(10), _at(20), _at(30), _at(35)],
            origin=T0 - datetime.timedelta(seconds=20),
            anchor=T0,
            history=900,
        ),
        alphas=(0.02, None),
        guard=None,
        step_seconds=10,
    )
    assert comparison.canary_requests == 200
    assert comparison.primary_requests == 2000
    assert comparison.canary == 0.03  # 6 errors in 200 requests, not 7 in 202
    assert comparison.intervals == 2  # the dip and the idle read added nothing
