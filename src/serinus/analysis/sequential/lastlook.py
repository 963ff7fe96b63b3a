"""The last look at promotion: one exact test over the whole release, with part of alpha.

Who uses it: :mod:`serinus.analysis.sequential.counts` records every interval it folds into a
comparison (:func:`record`, kept in the comparison's state in the Canary status, at most
:data:`MAX_ENTRIES` entries); the controller calls :func:`look` once per release, just before
promotion, with the comparison's last-look share of alpha
(:mod:`serinus.analysis.sequential.release`).

Why: the sequential test may stop at any tick, so its e-value must reach ``1/alpha`` (Ville's
inequality); a test that looks once, at a time fixed by the schedule, only needs its p-value below
its alpha. At low traffic that is the difference between catching a regression and promoting it.

The test: given each interval's total events ``E_i`` and the canary's share ``s_i`` of its
requests, a canary no worse than the primary has its share of the events binomial(``E_i``,
``s_i``), whatever hit both sides in the interval. The likelihood ratio of any worse ratio against
1 grows with the canary's total ``S`` alone, so the most powerful test rejects for large ``S``:
its exact p-value is the upper tail of a sum of binomials (Poisson-binomial), computed here.
Bursts make the canary's share vary more than binomially, by the dispersion factor ``phi_i`` the
sequential test tempers each interval by; the last look tempers its evidence the same way,
``p ** (1 / phi)`` with ``phi`` the information-weighted mean of the intervals' factors (the
variance of ``S`` is ``phi`` times the binomial one; for a normal statistic this is exact).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence

MAX_ENTRIES = 64
"""Intervals kept per comparison; past that the two with the closest splits are merged."""
_TRIM = 1e-30
"""Probabilities below this fraction of the largest are dropped (their mass is counted as tail)."""

Entry = list[float]
"""[canary requests, canary events, primary requests, primary events, dispersion factor]."""


def record(
    entries: Sequence[Entry], canary: tuple[int, int], primary: tuple[int, int], phi: float
) -> list[Entry]:
    """The entries with one more interval; intervals without events or one side are skipped."""
    out = [list(e) for e in entries]
    (n_c, x_c), (n_p, x_p) = canary, primary
    if x_c + x_p == 0 or n_c == 0 or n_p == 0:
        return out
    out.append([float(n_c), float(x_c), float(n_p), float(x_p), max(phi, 1.0)])
    while len(out) > MAX_ENTRIES:
        out = _merge_closest(out)
    return out


def _share(entry: Entry) -> float:
    return entry[0] / (entry[0] + entry[2])


def _merge_closest(entries: list[Entry]) -> list[Entry]:
    """Merge the two entries whose canary shares are closest (same split, nearly)."""
    order = sorted(range(len(entries)), key=lambda i: _share(entries[i]))
    pairs = itertools.pairwise(order)
    a, b = min(pairs, key=lambda p: _share(entries[p[1]]) - _share(entries[p[0]]))
    merged = [entries[a][k] + entries[b][k] for k in range(4)]
    merged.append(max(entries[a][4], entries[b][4]))
    return [e for i, e in enumerate(entries) if i not in (a, b)] + [merged]


def entries_from(state: object) -> list[Entry]:
    """The entries of a stored state; malformed ones are dropped."""
    if not isinstance(state, list):
        return []
    out: list[Entry] = []
    for entry in state:
        if isinstance(entry, list) and len(entry) == 5:
            values = [float(v) for v in entry if isinstance(v, int | float)]
            finite = len(values) == 5 and all(math.isfinite(v) and v >= 0 for v in values)
            if finite and values[0] > 0 and values[2] > 0:
                out.append(values)
    return out[-MAX_ENTRIES:]


@dataclasses.dataclass(frozen=True)
class Look:
    """What the last look found."""

    p_value: float
    """The tempered p-value of "the canary is no worse" (1.0 when there is nothing to test)."""
    observed: int
    """The canary's events in the intervals with events."""
    expected: float
    """The canary's events expected from its share of each interval's events."""
    events: int
    """All events (both sides) in those intervals."""
    dispersion: float

    def regression(self, alpha: float) -> bool:
        return self.p_value <= alpha and self.observed > self.expected


def tail(entries: Sequence[Entry], ratio: float = 1.0) -> Look:
    """The tempered upper-tail p-value of the canary's events, given each interval's total, if
    the canary's rate were ``ratio`` times the primary's (1: no worse)."""
    pmf, offset, lost = [1.0], 0, 0.0
    observed, expected, events, information, weighted = 0, 0.0, 0, 0.0, 0.0
    for n_c, x_c, n_p, x_p, phi in entries:
        total = round(x_c + x_p)
        share = n_c / (n_c + n_p)
        if total == 0 or not 0 < share < 1:
            continue
        share = ratio * share / (ratio * share + 1 - share)
        observed += round(x_c)
        expected += total * share
        events += total
        variance = total * share * (1 - share)
        information += variance
        weighted += variance * max(phi, 1.0)
        low, part = _binomial(total, share)
        pmf = _convolve(pmf, part)
        offset += low
        pmf, offset, dropped = _trimmed(pmf, offset)
        lost += dropped
    if events == 0:
        return Look(1.0, 0, 0.0, 0, 1.0)
    start = observed - offset
    upper = sum(pmf[max(start, 0) :]) if start < len(pmf) else 0.0
    p_value = min(1.0, upper + lost)
    phi = weighted / information if information > 0 else 1.0
    tempered = p_value ** (1.0 / phi) if p_value > 0 else 0.0
    return Look(tempered, observed, expected, events, phi)


def _binomial(total: int, p: float) -> tuple[int, list[float]]:
    """(first k, pmf from there) of binomial(total, p), trimmed to where it matters."""
    log_p, log_q = math.log(p), math.log1p(-p)
    base = math.lgamma(total + 1)
    values = [
        math.exp(
            base - math.lgamma(k + 1) - math.lgamma(total - k + 1) + k * log_p + (total - k) * log_q
        )
        for k in range(total + 1)
    ]
    trimmed, low, _ = _trimmed(values, 0)
    return low, trimmed


def _trimmed(pmf: list[float], offset: int) -> tuple[list[float], int, float]:
    """Drop negligible ends; the mass dropped (counted as tail, so the test stays valid)."""
    top = max(pmf)
    first = next(i for i, v in enumerate(pmf) if v >= top * _TRIM)
    last = len(pmf) - next(i for i, v in enumerate(reversed(pmf)) if v >= top * _TRIM)
    dropped = sum(pmf[:first]) + sum(pmf[last:])
    return pmf[first:last], offset + first, dropped


def _convolve(a: list[float], b: list[float]) -> list[float]:
    out = [0.0] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            out[i + j] += x * y
    return out


def explain(look: Look, alpha: float, noun: str, *, regression: bool, lower: float = 1.0) -> str:
    """The last look's finding in one sentence, agreeing with its verdict."""
    if look.events == 0:
        return f"last look before promotion: no {noun} in the release to compare: promote"
    found = (
        f"last look before promotion, over the whole release: the canary had {look.observed} of "
        f"the {look.events} {noun} where its share of the traffic predicts {look.expected:.1f}"
    )
    chance = f"p = {look.p_value:.2g}" if look.p_value < alpha / 2 else f"p = {look.p_value:.3g}"
    if look.dispersion > 1.0005:
        chance += f" allowing for bursts {look.dispersion:.2f}x"
    if regression:
        return (
            f"{found}; that many or more happen by chance with {chance} <= alpha = {alpha:g}, "
            f"so its rate is at least {lower:.2f}x the primary's: regression"
        )
    if look.observed <= look.expected:
        return f"{found}, no more than expected: promote"
    if look.p_value <= alpha:
        return f"{found} ({chance}) but too few {noun} to act on: promote"
    return f"{found}; that many or more happen by chance with {chance} > alpha = {alpha:g}: promote"


def lower_bound(entries: Sequence[Entry], alpha: float) -> float:
    """The largest ratio canary/primary the last look still rejects at ``alpha`` (the same test,
    shifted): at least 1 exactly when it finds a regression. Bisection in log ratio."""
    if not tail(entries).regression(alpha):
        return 1.0
    low, high = 0.0, math.log(1024.0)
    if tail(entries, math.exp(high)).p_value <= alpha:
        return 1024.0
    for _ in range(30):
        mid = (low + high) / 2
        if tail(entries, math.exp(mid)).p_value <= alpha:
            low = mid
        else:
            high = mid
    return math.exp(low)


@dataclasses.dataclass(frozen=True)
class Finding:
    """The last look's verdict and its sentence; ``lower``: the bound on the ratio it found
    (at least 1 exactly when it is a regression)."""

    regression: bool
    reason: str
    look: Look
    lower: float = 1.0

    def to_dict(self) -> dict[str, object]:
        return {
            "regression": self.regression,
            "pValue": self.look.p_value,
            "observed": self.look.observed,
            "expected": round(self.look.expected, 3),
            "reason": self.reason,
        }


def last_look(
    state: Mapping[str, object] | None,
    *,
    alpha: float,
    noun: str = "errors",
    min_events: int = 2,
    min_requests: int = 5,
) -> Finding:
    """The last look over a comparison's stored intervals (``state`` as the count judge keeps
    it), at ``alpha``, the comparison's last-look share. A regression needs, as the sequential
    test does, at least ``min_events`` canary events in ``min_requests`` canary requests."""
    entries = entries_from((state or {}).get("intervals"))
    look = tail(entries)
    evidence = (state or {}).get("evidence")
    totals = evidence.get("totals") if isinstance(evidence, Mapping) else None
    requests, events = (totals[0], totals[1]) if isinstance(totals, list) else (0, 0)
    enough = events >= min_events and requests >= min_requests
    regression = alpha > 0 and enough and look.regression(alpha)
    lower = lower_bound(entries, alpha) if regression else 1.0
    reason = explain(look, alpha, noun, regression=regression, lower=lower)
    return Finding(regression, reason, look, lower)
