"""Sequential, anytime-valid judges that compare the canary with the primary.

Who uses it: the controller, once per tick per metric, instead of (or beside) Flagger's fixed
thresholds; ``serinus rehearse`` and ``serinus backtest`` to replay releases. The interface:

* ``judge_counts(canary, primary, config=CountConfig(...), state=...)`` for errors per request,
  with each side's cumulative ``Counts(requests, events)`` since the analysis started;
* ``judge_latency(canary, primary, config=LatencyConfig(...), state=...)`` for latency, with
  each side's cumulative histogram buckets ``[(le, count), ..., (math.inf, total)]``.

Both return a :class:`Judgement`: ``decision`` (a :class:`Decision` with ``outcome`` REGRESSION /
NO_REGRESSION / NOT_YET, the numbers and a one-sentence ``reason``) and ``state``, a small
JSON-serialisable dict to store in the Canary status and hand back on the next tick. Inputs are
cumulative, so a lost state costs robustness, not validity: the judge then treats everything so
far as one interval. The method and its guarantees are in ``docs/judgement.md`` and in
:mod:`serinus.analysis.sequential.evidence`.
"""

from serinus.analysis.sequential.counts import CountConfig, Counts, Judgement, judge_counts
from serinus.analysis.sequential.decision import Decision, Outcome
from serinus.analysis.sequential.latency import Buckets, LatencyConfig, judge_latency

__all__ = [
    "Buckets",
    "CountConfig",
    "Counts",
    "Decision",
    "Judgement",
    "LatencyConfig",
    "Outcome",
    "judge_counts",
    "judge_latency",
]
