"""Anytime-valid evidence about a rate ratio: the e-process behind the sequential judges.

Who uses it: :mod:`serinus.analysis.sequential.counts` (errors per request) and
:mod:`serinus.analysis.sequential.latency` (requests slower than a boundary). Both reduce their
metric to one question: *is the canary's rate of bad events higher than the primary's, and by how
much?* The parameter is the rate ratio ``rho = canary rate / primary rate``.

The method, one **interval** at a time (an interval is a stretch of time with one traffic split;
the controller makes every weight change start a new one):

* Condition on the requests each side served in interval ``k`` (``nc``, ``np``) and on the
  interval's total bad events ``E``. If both sides see the same conditions, the canary's share
  ``x`` of the ``E`` events is ``Binomial(E, theta(rho))`` with
  ``theta(rho) = rho s / (rho s + 1 - s)``, ``s = nc / (nc + np)``. Whatever hits both sides (the
  time of day, an incident downstream) cancels out; a primary with no errors needs no special
  case. The log-likelihood ratio of ``rho`` against ``rho = 1`` is
  ``l_k(rho) = x log rho - E log(1 + (rho - 1) s)`` (Lindon & Malek, NeurIPS 2022).
* Errors come in bursts, so ``x`` varies more than a binomial does. The interval's evidence is
  therefore **tempered**: ``l_k / phi_k``, where ``phi_k >= 1`` is the interval's dispersion
  factor (:mod:`serinus.analysis.sequential.dispersion`, estimated from the primary's own history
  before the release). For a statistic whose variance is ``phi`` times the binomial one, the
  tempered likelihood ratio has mean 1 to second order (exactly so for a normal statistic), which
  is the quasi-likelihood correction of McCullagh & Nelder; with ``phi = 1`` it is the exact
  test. The product over intervals is a nonnegative supermartingale under ``rho = 1`` for every
  fixed ``rho``, so Ville's inequality bounds the chance that it *ever* exceeds ``1/alpha`` by
  ``alpha``, however often it is looked at; fixed-weight mixtures over ``rho`` keep that.
* The evidence is kept on a fixed geometric grid of ``rho`` (57 points from 1/16 to 1024, 2 **
  (1/4) apart): the grid's tempered log-likelihood ratios are the judge's whole memory, a small
  JSON-serialisable dict stored in the Canary status.
* Tests are mixtures over grid **offsets**. "Regression" tests ``rho <= 1`` against the ratios
  from ``sqrt(2)`` to ``2 sqrt(2)`` times the smallest effect worth catching (the margin), or up
  to a ``top`` the caller derives from the metric (latency: the ratio of a canary 2.4 times
  slower); "clear pass" tests ``rho >= margin`` against ratios from ``PASS_MIN_RATIO`` up to the
  margin. The mixing weights are fixed before any data, so the mixture is an e-process whatever
  they are; where they sit decides which regressions are caught soonest. A band around twice the
  margin is where the evidence is scarce and every nat counts (a regression at the margin needs
  more data than a release has at low traffic; one far above it builds evidence fast under any
  band): at 20 requests/s it catches 0.5 % -> 2 % errors before promotion about 2 points more
  often than the band from the margin to 4 times it. The
  confidence sequence applies the *same* families shifted to every grid ratio ``r``, so its lower
  end is at least 1 exactly when the regression test rejects, and its upper end is at most the
  margin exactly when the pass test rejects: the printed bounds cannot contradict the verdict.
  ``l`` is concave in ``log rho``, so each family rejects a half-line of ``r`` and the bounds are
  its ends; the maximum-likelihood ratio is never rejected, so it always lies inside them.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping, Sequence

_LOG_MAX_FLOAT = math.log(sys.float_info.max)

# The grid: rho = 2 ** (k / 4) for k = -16 .. 40, i.e. 1/16 .. 1024, ratio 1.19 between points.
STEPS_PER_DOUBLING = 4
_GRID_K = range(-4 * STEPS_PER_DOUBLING, 10 * STEPS_PER_DOUBLING + 1)
BASE_GRID: tuple[float, ...] = tuple(2.0 ** (k / STEPS_PER_DOUBLING) for k in _GRID_K)
ONE = -_GRID_K.start  # the index of rho = 1

# Regression alternatives, in grid steps above the margin: from sqrt(2) to 2 sqrt(2) times it,
# equally in log-ratio (or up to a caller's top). Larger effects still build evidence fast (a 60x
# fault's likelihood at 5.7x is enormous).
REGRESSION_FROM = STEPS_PER_DOUBLING // 2
REGRESSION_WIDTH = STEPS_PER_DOUBLING
# Clear-pass alternatives: from PASS_MIN_RATIO up to (not including) the margin.
PASS_MIN_RATIO = 0.25

_STATE_VERSION = 2


@dataclasses.dataclass(frozen=True)
class Evidence:
    """Tempered log-likelihood ratios on the grid, and what they were built from.

    ``totals`` holds (canary requests, canary events, primary requests, primary events) over the
    intervals counted, for the rates printed beside the verdict.
    """

    log_lr: tuple[float, ...]
    totals: tuple[int, int, int, int]
    intervals: int

    def to_dict(self) -> dict[str, object]:
        """The JSON-serialisable form the controller stores between ticks."""
        return {
            "version": _STATE_VERSION,
            "logLR": [round(v, 9) for v in self.log_lr],
            "totals": list(self.totals),
            "intervals": self.intervals,
        }


def start() -> Evidence:
    """Evidence before any data: ``L(rho) = 1`` everywhere."""
    return Evidence(log_lr=tuple(0.0 for _ in BASE_GRID), totals=(0, 0, 0, 0), intervals=0)


def restore(state: Mapping[str, object] | None) -> Evidence | None:
    """Read evidence stored by :meth:`Evidence.to_dict`; ``None`` if absent or malformed."""
    if not state or state.get("version") != _STATE_VERSION:
        return None
    log_lr, totals, intervals = state.get("logLR"), state.get("totals"), state.get("intervals")
    if not (isinstance(log_lr, list) and len(log_lr) == len(BASE_GRID)):
        return None
    if not all(isinstance(v, int | float) and not math.isnan(v) for v in log_lr):
        return None
    if not (isinstance(totals, list) and len(totals) == 4):
        return None
    if not all(isinstance(v, int) and v >= 0 for v in totals):
        return None
    if not isinstance(intervals, int) or intervals < 0:
        return None
    return Evidence(
        log_lr=tuple(float(v) for v in log_lr),
        totals=(totals[0], totals[1], totals[2], totals[3]),
        intervals=intervals,
    )


def add(
    evidence: Evidence,
    *,
    canary: tuple[int, int],
    primary: tuple[int, int],
    dispersion: float = 1.0,
) -> Evidence:
    """Fold in one interval: each side's (requests, bad events), tempered by ``dispersion``."""
    n_c, x_c = canary
    n_p, x_p = primary
    x_c, x_p = min(x_c, n_c), min(x_p, n_p)
    totals = (
        evidence.totals[0] + n_c,
        evidence.totals[1] + x_c,
        evidence.totals[2] + n_p,
        evidence.totals[3] + x_p,
    )
    total = x_c + x_p
    if total == 0 or n_c == 0 or n_p == 0:
        # No events, or one side alone: the canary's share is fixed whatever rho is.
        return Evidence(evidence.log_lr, totals, evidence.intervals + 1)
    share = n_c / (n_c + n_p)
    weight = 1.0 / max(dispersion, 1.0)
    log_lr = tuple(
        prior + weight * (x_c * math.log(rho) - total * math.log1p((rho - 1.0) * share))
        for rho, prior in zip(BASE_GRID, evidence.log_lr, strict=True)
    )
    return Evidence(log_lr, totals, evidence.intervals + 1)


def grid_index(value: float) -> int:
    """The index of the largest grid ratio not above ``value`` (0 below the grid)."""
    below = [i for i, rho in enumerate(BASE_GRID) if rho <= value * (1 + 1e-12)]
    return max(below) if below else 0


def margin_index(margin: float) -> int:
    """The index of the largest grid ratio not above ``margin``, at least the one above 1."""
    return max(grid_index(margin), ONE + 1)


def regression_offsets(margin: float, top: float | None = None) -> range:
    """The regression family's offsets from the tested ratio: ``sqrt(2)`` to ``2 sqrt(2)``
    times the margin, or up to ``top`` when that is higher."""
    low = margin_index(margin) - ONE + REGRESSION_FROM
    high = low + REGRESSION_WIDTH
    if top is not None:
        high = max(high, grid_index(top) - ONE)
    return range(low, high + 1)


def _pass_offsets(margin: float) -> range:
    """Offsets below the tested ratio: from PASS_MIN_RATIO * (grid margin / margin) up to -1."""
    span = margin_index(margin) - grid_index(PASS_MIN_RATIO)
    return range(-span, 0)


def family_e_value(log_lr: Sequence[float], index: int, offsets: range) -> float:
    """Mean over the offsets of ``L(grid[index + o]) / L(grid[index])`` (in-grid terms only)."""
    values = [log_lr[index + o] - log_lr[index] for o in offsets if 0 <= index + o < len(log_lr)]
    return _exp(_log_mean_exp(values)) if values else 0.0


def regression_e_value(evidence: Evidence, margin: float, top: float | None = None) -> float:
    """E-value against "the canary is no worse" (``rho <= 1``)."""
    return family_e_value(evidence.log_lr, ONE, regression_offsets(margin, top))


def pass_e_value(evidence: Evidence, margin: float) -> float:
    """E-value against "the canary is worse by the margin or more" (``rho >= margin``).

    The null is tested at the largest grid ratio not above ``margin`` (conservative by < 19 %).
    """
    return family_e_value(evidence.log_lr, margin_index(margin), _pass_offsets(margin))


def confidence_bounds(
    evidence: Evidence, alpha: float, margin: float, top: float | None = None
) -> tuple[float | None, float | None]:
    """Anytime-valid bounds on ``rho`` at the grid's resolution: ``(lower, upper)``.

    ``lower``: the largest grid ratio ``r`` such that the regression family, shifted to test
    ``rho <= r'``, rejects every grid ``r' <= r`` at ``alpha``; ``upper`` the mirror with the pass
    family. Each side holds with probability at least ``1 - alpha`` at every tick, so both
    together with at least ``1 - 2 alpha``. ``None`` while a side is unbounded.
    """
    bar = 1.0 / alpha
    log_lr = evidence.log_lr
    lower: float | None = None
    offsets = regression_offsets(margin, top)
    for index in range(len(log_lr)):
        if family_e_value(log_lr, index, offsets) < bar:
            break
        lower = BASE_GRID[index]
    upper: float | None = None
    offsets = _pass_offsets(margin)
    for index in range(len(log_lr) - 1, -1, -1):
        if family_e_value(log_lr, index, offsets) < bar:
            break
        upper = BASE_GRID[index]
    return lower, upper


def most_likely(evidence: Evidence) -> float | None:
    """The ratio that the tempered likelihood favours most (parabolic refinement on the grid).

    ``None`` before any interval carried information.
    """
    log_lr = evidence.log_lr
    top = max(range(len(log_lr)), key=lambda i: log_lr[i])
    if all(abs(v) < 1e-12 for v in log_lr):
        return None
    if 0 < top < len(log_lr) - 1:
        left, middle, right = log_lr[top - 1], log_lr[top], log_lr[top + 1]
        curvature = left - 2 * middle + right
        if curvature < 0:
            shift = 0.5 * (left - right) / curvature
            return float(2.0 ** ((top - ONE + max(-0.5, min(0.5, shift))) / STEPS_PER_DOUBLING))
    return BASE_GRID[top]


def _exp(log_value: float) -> float:
    """``exp``, saturating at infinity: overwhelming evidence (a long, clear run) is no error."""
    return math.exp(log_value) if log_value < _LOG_MAX_FLOAT else math.inf


def _log_mean_exp(values: Sequence[float]) -> float:
    if not values:
        return -math.inf
    top = max(values)
    if top == math.inf:
        return math.inf
    return top + math.log(sum(math.exp(v - top) for v in values) / len(values))
