"""Sequential, anytime-valid judges that compare the canary with the primary.

Who uses it: the controller, once per tick per judged metric; ``serinus rehearse`` and
``serinus backtest`` to replay releases; ``benchmarks/judgement.py``. The interface:

* ``judge_counts(intervals, config=CountConfig(...), state=..., dispersion=...)`` for errors per
  request: each :class:`Interval` holds both sides' ``Counts(requests, events)`` over one window
  with one traffic split;
* ``judge_latency(intervals, config=LatencyConfig(...), state=..., history=...)`` for latency,
  with both sides' histogram buckets per window ``[(le, count), ..., (math.inf, total)]``;
* ``judge_guard(...)`` for Flagger's thresholds as an anytime-valid SLO guard on the canary;
* ``dispersion.estimate(history, seconds)`` for the burst correction, from the primary's counts
  before the release; ``release.shares(alpha, tests)`` for one alpha per release;
  ``release.split(alpha)`` for a comparison's sequential part and the part of its last look at
  promotion, ``last_look(state, alpha=...)`` (one exact test over the whole release).

Each returns a decision with the numbers and a one-sentence reason, and a small JSON-serialisable
state to store in the Canary status and hand back on the next tick, so a restarted operator
continues the same e-process. The method and its assumptions are in ``docs/judgement.md``.
"""

from serinus.analysis.sequential.counts import (
    CountConfig,
    Counts,
    Interval,
    Judgement,
    judge_counts,
)
from serinus.analysis.sequential.decision import Decision, Outcome
from serinus.analysis.sequential.dispersion import Dispersion, estimate
from serinus.analysis.sequential.guard import GuardConfig, GuardDecision, judge_guard
from serinus.analysis.sequential.lastlook import Finding, last_look
from serinus.analysis.sequential.latency import (
    Buckets,
    HistogramInterval,
    LatencyConfig,
    judge_latency,
)
from serinus.analysis.sequential.release import Kind, shares, split

__all__ = [
    "Buckets",
    "CountConfig",
    "Counts",
    "Decision",
    "Dispersion",
    "Finding",
    "GuardConfig",
    "GuardDecision",
    "HistogramInterval",
    "Interval",
    "Judgement",
    "Kind",
    "LatencyConfig",
    "Outcome",
    "estimate",
    "judge_counts",
    "judge_guard",
    "judge_latency",
    "last_look",
    "shares",
    "split",
]
