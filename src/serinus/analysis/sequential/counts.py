"""The sequential judge for counts and rates: errors per request, canary against primary.

Who uses it: the controller, once per tick per error-rate metric, with the cumulative counts since
the analysis started (``sum(increase(...[<time since start>]))`` for each side) and the state the
previous tick returned; :mod:`serinus.analysis.sequential.latency` reuses :func:`judge_rates` for
"requests slower than a boundary".

How it decides (the statistics are in :mod:`serinus.analysis.sequential.evidence`):

* **REGRESSION** when the e-value against "the canary's error rate is no higher than the
  primary's" reaches 1/alpha, the canary has at least ``min_events`` errors in at least
  ``min_requests`` requests, and the observed excess is at least ``min_absolute_increase``. In an
  A/A release the chance of *ever* saying REGRESSION is at most alpha, however many ticks run.
* **NO_REGRESSION** when an increase by the smallest effect worth catching is ruled out: the
  e-value against "the canary's rate is at least (1 + min_relative_increase) times the
  primary's" reaches 1/alpha, or (with ``min_absolute_increase`` > 0) the canary's own error rate
  is confidently below that absolute margin. If a regression of that size is real, the chance of
  ever saying NO_REGRESSION is at most alpha. Acting on it is the caller's choice
  (``early_pass``): speed the schedule up or promote.
* **NOT_YET** otherwise, including no traffic at all: missing data is never a failure.

Both sides are compared on the same intervals, so whatever hits both (a daily traffic curve, an
incident in a shared dependency) cancels out; a primary with zero errors needs no special case.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

from serinus.analysis.sequential import evidence as ev
from serinus.analysis.sequential.decision import (
    Decision,
    Outcome,
    bounds_text,
    number,
    percent,
    times,
)
from serinus.errors import InvalidCanaryError, MetricsError

# The regression test's focus while a latency judge cannot tell its pass margin yet.
REGRESSION_MARGIN = 2.0


@dataclasses.dataclass(frozen=True)
class Counts:
    """Cumulative counts of one side since the analysis started (floats are rounded)."""

    requests: float
    events: float

    def rounded(self, side: str) -> tuple[int, int]:
        for name, value in (("requests", self.requests), ("events", self.events)):
            if not math.isfinite(value) or value < 0:
                raise MetricsError(f"{side}.{name}: expected a count >= 0, got {value!r}")
        requests = round(self.requests)
        return requests, min(round(self.events), requests)


@dataclasses.dataclass(frozen=True)
class CountConfig:
    """Per-metric settings of the count judge.

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
    if not 0.0001 <= alpha <= 0.5:
        raise InvalidCanaryError(f"alpha: expected a probability in [0.0001, 0.5], got {alpha!r}")


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
    canary: Counts,
    primary: Counts,
    *,
    config: CountConfig,
    state: Mapping[str, object] | None = None,
) -> Judgement:
    """Judge the canary's error rate against the primary's at this tick."""
    return judge_rates(
        canary,
        primary,
        config=config,
        state=state,
        margin=1.0 + config.min_relative_increase,
        metric="error rate",
        event_noun="errors",
    )


def judge_rates(
    canary: Counts,
    primary: Counts,
    *,
    config: CountConfig,
    state: Mapping[str, object] | None,
    margin: float | None,
    metric: str,
    event_noun: str,
    prefix: str = "",
) -> Judgement:
    """The shared core: update the evidence with this tick's counts and decide.

    ``margin`` is the ratio a clear pass must rule out (``None``: no pass possible yet);
    ``prefix`` starts the reason (the latency judge puts the quantiles there).
    """
    canary_counts = canary.rounded("canary")
    primary_counts = primary.rounded("primary")
    evidence = ev.restore(state) or ev.start()
    evidence = ev.update(evidence, canary=canary_counts, primary=primary_counts)
    n_c, x_c, n_p, x_p = evidence.seen
    rate_c = x_c / n_c if n_c else None
    rate_p = x_p / n_p if n_p else None
    ratio = rate_c / rate_p if rate_c is not None and rate_p else None
    e_reg = ev.regression_e_value(evidence, margin or REGRESSION_MARGIN)
    absolute_route = config.min_absolute_increase > 0
    pass_alpha = config.alpha / 2 if absolute_route else config.alpha
    e_pass = 0.0
    if margin is not None:
        e_pass = ev.pass_e_value(evidence, margin) * (pass_alpha / config.alpha)
    if absolute_route and rate_upper_bound(n_c, x_c, pass_alpha) < config.min_absolute_increase:
        e_pass = max(e_pass, 1.0 / config.alpha)
    lower, upper = ev.confidence_bounds(evidence, config.alpha)
    threshold = 1.0 / config.alpha
    outcome, verdict = _outcome(
        config=config,
        counts=evidence.seen,
        e_reg=e_reg,
        e_pass=e_pass,
        threshold=threshold,
        margin=margin,
        event_noun=event_noun,
    )
    summary = (
        f"{prefix}canary {metric} {percent(rate_c)} vs primary {percent(rate_p)} "
        f"over {n_c:,} vs {n_p:,} requests"
    )
    if n_c == 0:
        reason = f"{prefix}no canary requests yet ({n_p:,} primary requests): not yet"
    else:
        detail = f"{times(ratio)}, {bounds_text(lower, upper, config.alpha)}"
        reason = f"{summary}: {detail}, {verdict}"
    decision = Decision(
        metric=metric,
        outcome=outcome,
        reason=reason,
        canary_rate=rate_c,
        primary_rate=rate_p,
        ratio=ratio,
        ratio_lower=lower,
        ratio_upper=upper,
        e_value=e_reg,
        pass_e_value=e_pass,
        threshold=threshold,
        canary_requests=n_c,
        canary_events=x_c,
        primary_requests=n_p,
        primary_events=x_p,
    )
    return Judgement(decision=decision, state=evidence.to_dict())


def _outcome(
    *,
    config: CountConfig,
    counts: tuple[int, int, int, int],
    e_reg: float,
    e_pass: float,
    threshold: float,
    margin: float | None,
    event_noun: str,
) -> tuple[Outcome, str]:
    n_c, x_c, n_p, x_p = counts
    bar = f"1/alpha = {threshold:g}"
    if e_reg >= threshold:
        excess = x_c / n_c - (x_p / n_p if n_p else 0.0)
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
