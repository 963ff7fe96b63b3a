"""The sequential judge for counts and rates: errors per request, canary against primary.

Who uses it: the controller, once per tick per judged error-rate metric, with the intervals read
since the previous tick (each one traffic split, both sides counted over the same window) and
the state the previous tick returned; :mod:`serinus.analysis.sequential.latency` reuses
:func:`judge_rates` for "requests slower than a boundary".

How it decides (the statistics are in :mod:`serinus.analysis.sequential.evidence`):

* **REGRESSION** when the e-value against "the canary's error rate is no higher than the
  primary's" reaches 1/alpha, the canary has at least ``min_events`` errors in at least
  ``min_requests`` requests, and the observed excess is at least ``min_absolute_increase``. In an
  A/A release the chance of *ever* saying REGRESSION is at most alpha, however many ticks run,
  provided the dispersion (:mod:`serinus.analysis.sequential.dispersion`) is not underestimated.
* **NO_REGRESSION** when an increase by the smallest effect worth catching is ruled out (the
  e-value against "the canary's rate is at least (1 + min_relative_increase) times the
  primary's" reaches 1/alpha), or, with ``min_absolute_increase`` > 0, when the canary's own
  error rate is confidently below that absolute margin. Acting on it is the caller's choice.
* **NOT_YET** otherwise, including no traffic at all: missing data is never a failure.

The state holds the evidence, the dispersion estimated from the primary's history when the
release started, and each interval's counts for the last look at promotion
(:mod:`serinus.analysis.sequential.lastlook`); the first two are fixed inputs of later ticks,
so a restarted operator that reads the state back from the Canary status continues the same
e-process.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from serinus.analysis.sequential import evidence as ev
from serinus.analysis.sequential import lastlook
from serinus.analysis.sequential.decision import Decision, Outcome, explain, number, percent
from serinus.analysis.sequential.dispersion import Dispersion
from serinus.errors import InvalidCanaryError, MetricsError

# The regression test's focus while a latency judge cannot tell its pass margin yet.
REGRESSION_MARGIN = 2.0


@dataclasses.dataclass(frozen=True)
class Counts:
    """Requests and bad events of one side in one interval (floats are rounded)."""

    requests: float
    events: float

    def as_pair(self) -> tuple[float, float]:
        return self.requests, self.events

    def rounded(self, side: str) -> tuple[int, int]:
        for name, value in (("requests", self.requests), ("events", self.events)):
            if not math.isfinite(value) or value < 0:
                raise MetricsError(f"{side}.{name}: expected a count >= 0, got {value!r}")
        requests = round(self.requests)
        return requests, min(round(self.events), requests)


@dataclasses.dataclass(frozen=True)
class Interval:
    """Both sides' counts over one window with one traffic split, and its length."""

    canary: Counts
    primary: Counts
    seconds: float


@dataclasses.dataclass(frozen=True)
class CountConfig:
    """Per-metric settings of the count judge.

    ``alpha``: this test's share of the release's false-rollback budget.
    ``min_relative_increase``: the smallest relative increase of the canary's error rate worth
    catching (1.0 = the canary's rate doubled). It sets what a clear pass rules out.
    ``min_absolute_increase``: the smallest absolute increase worth catching, as a fraction
    (0.001 = 0.1 percentage points); 0 turns the absolute margin off.
    ``early_pass``: whether NO_REGRESSION may speed the run up; the judge reports it either way.
    """

    alpha: float = 0.05
    min_relative_increase: float = 1.0
    min_absolute_increase: float = 0.0
    early_pass: bool = False
    min_events: int = 2
    min_requests: int = 5

    def __post_init__(self) -> None:
        check_alpha(self.alpha)
        if not 0.01 <= self.min_relative_increase <= 100:
            raise InvalidCanaryError(
                "min_relative_increase: expected a relative increase between 0.01 and 100 "
                f"(1.0 = doubled), got {self.min_relative_increase!r}"
            )
        if not 0 <= self.min_absolute_increase < 1:
            raise InvalidCanaryError(
                "min_absolute_increase: expected a fraction in [0, 1) (0.001 = 0.1 points), "
                f"got {self.min_absolute_increase!r}"
            )
        check_minimums(self.min_events, self.min_requests)


def check_alpha(alpha: float) -> None:
    if not 1e-6 <= alpha <= 0.5:
        raise InvalidCanaryError(f"alpha: expected a probability in [1e-6, 0.5], got {alpha!r}")


def check_minimums(min_events: int, min_requests: int) -> None:
    if min_events < 1:
        raise InvalidCanaryError(f"min_events: expected an integer >= 1, got {min_events!r}")
    if min_requests < 1:
        raise InvalidCanaryError(f"min_requests: expected an integer >= 1, got {min_requests!r}")


@dataclasses.dataclass(frozen=True)
class Judgement:
    """A decision plus the state to hand back on the next tick (store it in the Canary status)."""

    decision: Decision
    state: dict[str, object]


def judge_counts(
    intervals: Sequence[Interval],
    *,
    config: CountConfig,
    state: Mapping[str, object] | None = None,
    dispersion: Dispersion | None = None,
) -> Judgement:
    """Fold this tick's intervals into the evidence and judge the canary's error rate.

    ``dispersion`` is used when the state has none yet (the first tick of a release).
    """
    return judge_rates(
        intervals,
        config=config,
        state=state,
        dispersion=dispersion,
        margin=1.0 + config.min_relative_increase,
        metric="error rate",
        event_noun="errors",
    )


def restore(
    state: Mapping[str, object] | None, dispersion: Dispersion | None
) -> tuple[ev.Evidence, Dispersion]:
    """The evidence and dispersion of a stored state; fresh ones when there is none."""
    stored = state or {}
    evidence_state = stored.get("evidence")
    dispersion_state = stored.get("dispersion")
    evidence = ev.restore(evidence_state if isinstance(evidence_state, dict) else None)
    kept = Dispersion.from_dict(dispersion_state if isinstance(dispersion_state, dict) else None)
    return evidence or ev.start(), kept or dispersion or Dispersion()


def judge_rates(
    intervals: Sequence[Interval],
    *,
    config: CountConfig,
    state: Mapping[str, object] | None,
    dispersion: Dispersion | None,
    margin: float | None,
    metric: str,
    event_noun: str,
    prefix: str = "",
    top: float | None = None,
) -> Judgement:
    """The shared core: fold in the intervals and decide.

    ``margin`` is the ratio a clear pass must rule out (``None``: no pass possible yet);
    ``prefix`` starts the reason (the latency judge puts the quantiles there); ``top`` raises
    the regression test's highest alternative (:func:`evidence.regression_offsets`).
    """
    evidence, kept = restore(state, dispersion)
    entries = lastlook.entries_from((state or {}).get("intervals"))
    for interval in intervals:
        canary = interval.canary.rounded("canary")
        primary = interval.primary.rounded("primary")
        factor = kept.factor(canary[0], primary[0], interval.seconds)
        evidence = ev.add(evidence, canary=canary, primary=primary, dispersion=factor)
        entries = lastlook.record(entries, canary, primary, factor)
    focus = margin or REGRESSION_MARGIN
    e_reg = ev.regression_e_value(evidence, focus, top)
    absolute_route = config.min_absolute_increase > 0
    pass_alpha = config.alpha / 2 if absolute_route else config.alpha
    e_pass = 0.0
    if margin is not None:
        e_pass = ev.pass_e_value(evidence, margin) * (pass_alpha / config.alpha)
    n_c, x_c, _, _ = evidence.totals
    if absolute_route and rate_upper_bound(n_c, x_c, pass_alpha) < config.min_absolute_increase:
        e_pass = max(e_pass, 1.0 / config.alpha)
    threshold = 1.0 / config.alpha
    outcome, verdict = _outcome(config, evidence.totals, e_reg, e_pass, margin, event_noun)
    lower, upper = ev.confidence_bounds(evidence, config.alpha, focus, top)
    decision = explain(
        metric=metric,
        outcome=outcome,
        verdict=verdict,
        prefix=prefix,
        totals=evidence.totals,
        intervals=evidence.intervals,
        estimate=ev.most_likely(evidence),
        bounds=(lower, upper),
        alpha=config.alpha,
        e_values=(e_reg, e_pass),
        threshold=threshold,
    )
    new_state: dict[str, object] = {
        "evidence": evidence.to_dict(),
        "dispersion": kept.to_dict(),
        "intervals": entries,
    }
    return Judgement(decision=decision, state=new_state)


def _outcome(
    config: CountConfig,
    totals: tuple[int, int, int, int],
    e_reg: float,
    e_pass: float,
    margin: float | None,
    event_noun: str,
) -> tuple[Outcome, str]:
    n_c, x_c, n_p, x_p = totals
    threshold = 1.0 / config.alpha
    bar = f"1/alpha = {threshold:g}"
    if e_reg >= threshold:
        excess = x_c / n_c - (x_p / n_p if n_p else 0.0) if n_c else 0.0
        if x_c < config.min_events or n_c < config.min_requests:
            return Outcome.NOT_YET, (
                f"e-value {number(e_reg)} >= {bar} but only {x_c} canary {event_noun} in "
                f"{n_c} requests (at least {config.min_events} in {config.min_requests} "
                "needed): not yet"
            )
        if excess < config.min_absolute_increase:
            return Outcome.NOT_YET, (
                f"e-value {number(e_reg)} >= {bar} but the excess {percent(excess)} is below "
                f"the smallest effect worth catching ({percent(config.min_absolute_increase)})"
                ": not yet"
            )
        return Outcome.REGRESSION, f"e-value {number(e_reg)} >= {bar}: regression"
    if e_pass >= threshold and margin is not None:
        return Outcome.NO_REGRESSION, (
            f"an increase to {number(margin)}x or more is ruled out "
            f"(pass e-value {number(e_pass)} >= {bar}): no regression"
        )
    return Outcome.NOT_YET, (
        f"e-value {number(e_reg)} < {bar} for a regression and {number(e_pass)} for a pass: not yet"
    )


def rate_upper_bound(requests: int, events: int, alpha: float) -> float:
    """Anytime-valid upper bound on one side's rate (uniform-prior beta-binomial mixture).

    The mixture martingale ``B(1 + x, 1 + n - x) / (p ** x (1 - p) ** (n - x))`` (Robbins'
    method of mixtures; Howard et al., "Time-uniform, nonparametric, nonasymptotic confidence
    sequences", 2021) exceeds 1/alpha with probability at most alpha under the true ``p``; the
    bound is the largest ``p`` it has not yet excluded, found by bisection.
    """
    if requests == 0:
        return 1.0
    log_mixture = (
        math.lgamma(1 + events) + math.lgamma(1 + requests - events) - math.lgamma(2 + requests)
    )
    target = math.log(1 / alpha)

    def excluded(p: float) -> bool:
        log_lik = events * math.log(p) + (requests - events) * math.log1p(-p)
        return log_mixture - log_lik >= target

    low, high = events / requests, 1.0 - 1e-12
    if not excluded(high):
        return 1.0
    for _ in range(60):
        mid = (low + high) / 2
        if excluded(mid):
            high = mid
        else:
            low = mid
    return high
