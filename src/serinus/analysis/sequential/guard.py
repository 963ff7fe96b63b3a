"""The anytime-valid SLO guard: is the canary *confidently* beyond a fixed limit?

Who uses it: the controller, for a built-in metric that has both a ``judge`` and Flagger's
threshold (``request-success-rate`` with a minimum, ``request-duration`` with a maximum). Flagger
fails a check when one minute's success rate dips under 99 %; with few canary requests a single
error does that, so Flagger rolls back healthy releases. The guard instead tests, on the canary
alone, "the canary's rate of bad events is at most ``limit``" (1 % errors for a 99 % success-rate
threshold; 1 % of requests slower than the bound for a p99 latency threshold) and rolls back only
when that is rejected at its share of the release's alpha.

A service-wide incident (a shared dependency failing for both sides) can push the canary beyond
the limit without the canary being to blame, and rolling it back then fixes nothing. So the guard
fires when the canary is confidently beyond the limit **and** confidently worse than the primary
on the same intervals: an intersection-union test, whose two parts each run at the guard's alpha,
and which is valid at that alpha because a healthy canary satisfies at least one of the two
nulls. The comparison part is the comparison judge's e-process on the guard's own counts
(:mod:`serinus.analysis.sequential.evidence`) with alternatives from ``2 ** (1/4)`` to 8 times
the primary's rate, so any clear excess counts once the limit is broken.

Method of the limit part: one-sample, per interval, with the same burst correction as the
comparison judges. For a
true rate ``p`` the canary's ``x`` bad events in ``n`` requests have log-likelihood ratio
``x log(p / p0) + (n - x) log((1 - p) / (1 - p0))`` against the limit ``p0``; each interval's is
divided by the canary's dispersion factor (:mod:`serinus.analysis.sequential.dispersion`), which
leaves two sufficient numbers, the tempered event and non-event counts ``X`` and ``Y``. The
e-value mixes the ratio over ``p = p0 r`` for ``r`` from ``2 ** (1/2)`` to ``2 ** 4`` (equally in
log); for ``p <= p0`` each term has mean at most 1 (monotone likelihood ratio), so Ville's
inequality bounds the false-alarm rate by alpha over the whole run. Inverting the same family at
every ``q`` gives the lower confidence bound on the canary's rate printed with the verdict: it is
at or above the limit exactly when the guard fires, and below the tempered estimate ``X / (X +
Y)`` always.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from serinus.analysis.sequential import evidence as ev
from serinus.analysis.sequential.counts import Counts, check_alpha
from serinus.analysis.sequential.decision import number, percent
from serinus.analysis.sequential.dispersion import Dispersion
from serinus.errors import InvalidCanaryError

# The alternatives: p = limit * r for these r (2 ** (k / 4), k = 2 .. 16).
RATIOS: tuple[float, ...] = tuple(2.0 ** (k / 4) for k in range(2, 17))
# The comparison part's alternatives, as grid offsets from rho = 1: 2 ** (1/4) .. 8.
WORSE_OFFSETS = range(1, 3 * ev.STEPS_PER_DOUBLING + 1)

_STATE_VERSION = 2


@dataclasses.dataclass(frozen=True)
class GuardConfig:
    """``limit``: the highest acceptable rate of bad events (0.01 = 1 %); ``alpha``: this
    guard's share of the release's false-rollback budget."""

    limit: float
    alpha: float = 0.05
    min_events: int = 2

    def __post_init__(self) -> None:
        check_alpha(self.alpha)
        if not 0 < self.limit < 1 / RATIOS[0]:
            raise InvalidCanaryError(
                f"guard limit: expected a rate in (0, {1 / RATIOS[0]:.2f}), got {self.limit!r}"
            )


@dataclasses.dataclass(frozen=True)
class GuardDecision:
    """Whether the canary is confidently beyond the limit, with the numbers behind it."""

    violated: bool
    reason: str
    rate: float | None
    lower: float | None
    e_value: float
    worse_e_value: float
    threshold: float
    requests: int
    events: int


@dataclasses.dataclass(frozen=True)
class GuardJudgement:
    decision: GuardDecision
    state: dict[str, object]


def judge_guard(
    intervals: Sequence[tuple[Counts, Counts, float]],
    *,
    config: GuardConfig,
    what: str,
    state: Mapping[str, object] | None = None,
    dispersion: Dispersion | None = None,
) -> GuardJudgement:
    """Fold in each interval's (canary, primary, seconds) counts and test the limit.

    ``what`` names the rate in the reason (``error rate``, ``share slower than 500 ms``).
    """
    tempered_x, tempered_y, requests, events = _restore(state)
    stored = state or {}
    saved = stored.get("dispersion")
    kept = Dispersion.from_dict(saved if isinstance(saved, dict) else None)
    kept = kept or dispersion or Dispersion()
    saved = stored.get("worse")
    worse = ev.restore(saved if isinstance(saved, dict) else None) or ev.start()
    for canary, primary, seconds in intervals:
        n, x = canary.rounded("canary")
        p = primary.rounded("primary")
        factor = kept.side(n, seconds)
        tempered_x += x / factor
        tempered_y += (n - x) / factor
        requests, events = requests + n, events + x
        share_factor = kept.factor(n, p[0], seconds)
        worse = ev.add(worse, canary=(n, x), primary=p, dispersion=share_factor)
    threshold = 1.0 / config.alpha
    e_value = _e_value(tempered_x, tempered_y, config.limit)
    e_worse = ev.family_e_value(worse.log_lr, ev.ONE, WORSE_OFFSETS)
    lower = _lower_bound(tempered_x, tempered_y, threshold)
    violated = e_value >= threshold and e_worse >= threshold and events >= config.min_events
    rate = events / requests if requests else None
    reason = _reason(config, what, requests, events, rate, lower, (e_value, e_worse), violated)
    decision = GuardDecision(
        violated, reason, rate, lower, e_value, e_worse, threshold, requests, events
    )
    new_state: dict[str, object] = {
        "version": _STATE_VERSION,
        "x": round(tempered_x, 9),
        "y": round(tempered_y, 9),
        "n": requests,
        "e": events,
        "dispersion": kept.to_dict(),
        "worse": worse.to_dict(),
    }
    return GuardJudgement(decision, new_state)


def _reason(
    config: GuardConfig,
    what: str,
    requests: int,
    events: int,
    rate: float | None,
    lower: float | None,
    e_values: tuple[float, float],
    violated: bool,
) -> str:
    limit = percent(config.limit)
    if not requests:
        return f"no canary requests yet for the {limit} limit: not yet"
    bound = "at least 0" if lower is None else f"at least {percent(lower)}"
    level = f"{(1 - config.alpha) * 100:.4g}% anytime-valid"
    head = (
        f"canary {what} {percent(rate)} ({events:,} of {requests:,} requests), {bound} "
        f"({level}); limit {limit}"
    )
    e_value, e_worse = e_values
    bar = 1 / config.alpha
    worse = f"worse than the primary: e-value {number(e_worse)}"
    if violated:
        return f"{head}: e-value {number(e_value)} >= 1/alpha = {bar:g}, {worse}: beyond the limit"
    if e_value < bar:
        return f"{head}: e-value {number(e_value)} < 1/alpha = {bar:g}: within"
    if e_worse < bar:
        return (
            f"{head}: e-value {number(e_value)} >= 1/alpha = {bar:g}, but the primary fares "
            f"alike ({worse} < {bar:g}): not the canary's doing, not yet"
        )
    return (
        f"{head}: e-value {number(e_value)} >= 1/alpha = {bar:g} but only {events} canary "
        f"events ({config.min_events} needed): not yet"
    )


def _log_ratio(x: float, y: float, p: float, p0: float) -> float:
    return x * math.log(p / p0) + y * (math.log1p(-p) - math.log1p(-p0))


def _e_value(x: float, y: float, limit: float) -> float:
    """The mixture over the alternatives above ``limit`` that are rates (below 1)."""
    logs = [_log_ratio(x, y, limit * r, limit) for r in RATIOS if limit * r < 1]
    if not logs:
        return 0.0
    if max(logs) > 700:
        return math.inf
    return sum(math.exp(v) for v in logs) / len(logs)


def _lower_bound(x: float, y: float, threshold: float) -> float | None:
    """The largest rate ``q`` that the family shifted to ``q`` rejects (bisection)."""
    if x <= 0 or _e_value(x, y, 1e-9) < threshold:
        return None
    low, high = 1e-9, (1 - 1e-9) / RATIOS[0]
    for _ in range(60):
        middle = math.sqrt(low * high)
        if _e_value(x, y, middle) >= threshold:
            low = middle
        else:
            high = middle
    return low


def _restore(state: Mapping[str, object] | None) -> tuple[float, float, int, int]:
    """Tempered events and non-events, requests and events so far (zeros when absent)."""
    if not state or state.get("version") != _STATE_VERSION:
        return 0.0, 0.0, 0, 0
    x, y, n, e = (state.get(k) for k in ("x", "y", "n", "e"))
    if not (isinstance(x, int | float) and isinstance(y, int | float)):
        return 0.0, 0.0, 0, 0
    if not (isinstance(n, int) and isinstance(e, int)) or min(x, y, n, e) < 0:
        return 0.0, 0.0, 0, 0
    return float(x), float(y), n, e
