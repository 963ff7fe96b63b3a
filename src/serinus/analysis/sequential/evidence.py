"""Anytime-valid evidence about a rate ratio: the e-process behind the sequential judges.

Who uses it: :mod:`serinus.analysis.sequential.counts` (errors per request) and
:mod:`serinus.analysis.sequential.latency` (requests slower than a boundary per request). Both
reduce their metric to the same question: *is the canary's rate of bad events higher than the
primary's, and by how much?* The parameter is the rate ratio ``rho = canary rate / primary rate``.

The method (Lindon & Malek, "Anytime-Valid Inference for Multinomial Count Data", NeurIPS 2022;
Lindon, Sanden & Shirikian, "Rapid Regression Detection in Software Deployments through Sequential
Testing", KDD 2022):

* Work per analysis interval ``k``. Condition on the requests each side served in the interval
  (``nc_k``, ``np_k``) and on the interval's total bad events ``E_k``. If bad events are Poisson
  thinnings of the requests with rates ``p_c = rho * p_p`` (the common rate ``p_p`` may change from
  interval to interval: a daily curve, an incident downstream), the canary's share ``x_k`` of
  the ``E_k`` events is ``Binomial(E_k, theta_k(rho))`` with
  ``theta_k(rho) = rho * s_k / (rho * s_k + 1 - s_k)`` and ``s_k = nc_k / (nc_k + np_k)``, the
  canary's share of the traffic. The nuisance ``p_p`` is gone: a primary with zero errors needs
  no special case, and an interval without events carries no information (factor 1).
* The likelihood ratio of ``rho`` against ``rho = 1`` over all intervals is
  ``L(rho) = rho ** X * prod_k (1 + (rho - 1) * s_k) ** -E_k`` with ``X = sum x_k``. For every
  fixed ``rho`` it is a nonnegative martingale under ``rho = 1`` with mean 1, so Ville's
  inequality bounds the chance that it *ever* exceeds ``1/alpha`` by ``alpha``, however often it
  is looked at. Mixing over ``rho`` with fixed weights keeps that property.
* ``L`` cannot be summarised by a few cumulative numbers when the traffic split changes, so it is
  kept on a fixed grid of ``rho`` values (57 log-spaced points from 1/16 to 1024, 2 ** (1/4)
  apart). The grid's log-values are the judge's whole memory: a small
  JSON-serialisable dict (:class:`Evidence`), stored by the controller in the Canary status.
* One-sided tests follow from the monotone likelihood ratio of the binomial: a mixture over
  ``rho_j > r`` of ``L(rho_j) / L(r)`` is an e-process for the composite null ``rho <= r``, and a
  mixture over ``rho_j < r`` is one for ``rho >= r``. The first gives "regression" (``r = 1``),
  the second a "clear pass" (``r = 1 + smallest effect worth catching``); inverting them on the
  grid gives the anytime-valid confidence sequence reported with every verdict.

Assumptions, said plainly: within one interval both sides see the same conditions (the split is
what differs), requests fail independently given the conditions, and bad events are rare enough
that the Poisson view of each side holds. With frequent events (a 30 % error rate) the exact
conditional law is hypergeometric, which is less spread than the binomial used here, so the
regression test stays valid (conservative) there.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping, Sequence

_LOG_MAX_FLOAT = math.log(sys.float_info.max)

# The grid: rho = 2 ** (k / 4) for k = -16 .. 40, i.e. 1/16 .. 1024, ratio 1.19 between points.
_STEPS_PER_DOUBLING = 4
_GRID_K = range(-4 * _STEPS_PER_DOUBLING, 10 * _STEPS_PER_DOUBLING + 1)
BASE_GRID: tuple[float, ...] = tuple(2.0 ** (k / _STEPS_PER_DOUBLING) for k in _GRID_K)

# Regression alternatives: the grid ratios from the smallest effect worth catching (the pass
# margin) up to REGRESSION_SPAN times it, weighted equally in log-ratio. Effects outside still
# build evidence (a 60x fault's likelihood at 8x is enormous; a 1.5x one's at 2x grows), but the
# weight sits where power is hardest to get: within 11 % of a likelihood-ratio test that knew the
# true effect, in the benchmark's 0.5% -> 2% release at 20 requests/s.
REGRESSION_SPAN = 4.0
# Clear-pass alternatives: grid ratios from 1/4 up to (not including) the pass margin.
PASS_MIN_RATIO = 0.25

_STATE_VERSION = 1


@dataclasses.dataclass(frozen=True)
class Evidence:
    """Log-likelihood ratios ``log L(rho)`` on the grid, plus the cumulative counts seen so far.

    ``seen`` holds the cumulative (canary requests, canary events, primary requests, primary
    events) that the evidence already includes, so the next call can take increments.
    """

    grid: tuple[float, ...]
    log_lr: tuple[float, ...]
    seen: tuple[int, int, int, int]
    intervals: int

    def to_dict(self) -> dict[str, object]:
        """The JSON-serialisable form the controller stores between ticks."""
        return {
            "version": _STATE_VERSION,
            "grid": [round(r, 12) for r in self.grid],
            "logLR": [round(v, 9) for v in self.log_lr],
            "seen": list(self.seen),
            "intervals": self.intervals,
        }


def start() -> Evidence:
    """Evidence before any data: ``L(rho) = 1`` everywhere."""
    return Evidence(
        grid=BASE_GRID, log_lr=tuple(0.0 for _ in BASE_GRID), seen=(0, 0, 0, 0), intervals=0
    )


def restore(state: Mapping[str, object] | None) -> Evidence | None:
    """Read evidence stored by :meth:`Evidence.to_dict`; ``None`` if absent or malformed.

    The caller then starts afresh: the cumulative counts become one interval, which is still a
    valid (if less robust to a changing common rate) test.
    """
    grid = BASE_GRID
    if not state or state.get("version") != _STATE_VERSION:
        return None
    stored_grid, log_lr, seen = state.get("grid"), state.get("logLR"), state.get("seen")
    intervals = state.get("intervals", 0)
    if not (_floats(stored_grid, len(grid)) and _floats(log_lr, len(grid))):
        return None
    if not _floats(seen, 4) or not isinstance(intervals, int):
        return None
    if not (isinstance(stored_grid, list) and isinstance(log_lr, list) and isinstance(seen, list)):
        return None
    if any(abs(a - b) > 1e-9 * b for a, b in zip(stored_grid, grid, strict=True)):
        return None
    counts = tuple(int(v) for v in seen)
    if any(v < 0 for v in counts):
        return None
    return Evidence(
        grid=grid,
        log_lr=tuple(float(v) for v in log_lr),
        seen=(counts[0], counts[1], counts[2], counts[3]),
        intervals=intervals,
    )


def _floats(value: object, length: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) == length
        and all(isinstance(v, int | float) and math.isfinite(v) for v in value)
    )


def update(evidence: Evidence, *, canary: tuple[int, int], primary: tuple[int, int]) -> Evidence:
    """Fold in the interval between the counts already seen and these cumulative counts.

    Counts that went down (a counter reset, an extrapolation wobble in ``increase()``) add
    nothing and are not subtracted: the high-water mark is kept.
    """
    old = evidence.seen
    new = (
        max(old[0], canary[0]),
        max(old[1], canary[1]),
        max(old[2], primary[0]),
        max(old[3], primary[1]),
    )
    n_c, n_p = new[0] - old[0], new[2] - old[2]
    # An interval cannot hold more bad events than requests (scrape skew between two series).
    x_c, x_p = min(new[1] - old[1], n_c), min(new[3] - old[3], n_p)
    total = x_c + x_p
    if total == 0 or n_c + n_p == 0:
        return dataclasses.replace(evidence, seen=new, intervals=evidence.intervals + 1)
    share = n_c / (n_c + n_p)
    log_lr = tuple(
        prior + _interval_log_lr(rho, share, x_c, total)
        for rho, prior in zip(evidence.grid, evidence.log_lr, strict=True)
    )
    return Evidence(grid=evidence.grid, log_lr=log_lr, seen=new, intervals=evidence.intervals + 1)


def _interval_log_lr(rho: float, share: float, canary_events: int, total: int) -> float:
    """log of ``rho ** x / (1 + (rho - 1) s) ** E``; the limits s = 0 and s = 1 carry no news.

    With no canary traffic every event is the primary's whatever ``rho`` is, and with no primary
    traffic every event is the canary's (the caller clips events to requests, so ``x`` matches).
    """
    if share <= 0.0 or share >= 1.0:
        return 0.0
    return canary_events * math.log(rho) - total * math.log1p((rho - 1.0) * share)


def regression_e_value(evidence: Evidence, margin: float) -> float:
    """E-value against "the canary is no worse" (``rho <= 1``).

    The mean of ``L(rho)`` over the grid ratios above 1 from ``margin`` (or the grid point just
    below it) up to ``REGRESSION_SPAN * margin``.
    """
    low = max(rho for rho in evidence.grid if rho <= margin * (1 + 1e-12))
    high = REGRESSION_SPAN * margin * (1 + 1e-12)
    values = [
        lr
        for rho, lr in zip(evidence.grid, evidence.log_lr, strict=True)
        if low <= rho <= high and rho > 1.0 + 1e-12
    ]
    return _exp(_log_mean_exp(values))


def pass_e_value(evidence: Evidence, margin: float) -> float:
    """E-value against "the canary is worse by the margin or more" (``rho >= margin``).

    The null is tested at the largest grid ratio not above ``margin``: ruling out every ratio
    from there up also rules out every ratio from ``margin`` up (conservative by < 19 %).
    """
    index = max(i for i, rho in enumerate(evidence.grid) if rho <= margin * (1 + 1e-12))
    at_margin = evidence.log_lr[index]
    values = [
        lr - at_margin
        for rho, lr in zip(evidence.grid[:index], evidence.log_lr[:index], strict=True)
        if rho >= PASS_MIN_RATIO * (1 - 1e-12)
    ]
    return _exp(_log_mean_exp(values)) if values else 0.0


def _exp(log_value: float) -> float:
    """``exp``, saturating at infinity: overwhelming evidence (a long, clear run) is no error."""
    return math.exp(log_value) if log_value < _LOG_MAX_FLOAT else math.inf


def confidence_bounds(evidence: Evidence, alpha: float) -> tuple[float | None, float | None]:
    """Anytime-valid bounds on ``rho`` at the grid's resolution: ``(lower, upper)``.

    ``lower`` is the largest grid ratio ``r`` that the one-sided test of ``rho <= r`` rejects;
    ``upper`` the smallest ``r`` that the test of ``rho >= r`` rejects. Either is ``None`` while
    the data cannot bound the ratio on that side. Each side runs at ``alpha``.
    """
    grid, log_lr = evidence.grid, evidence.log_lr
    threshold = math.log(1.0 / alpha)
    size = len(grid)
    lower: float | None = None
    suffix = _running_log_mean_exp(list(reversed(log_lr)))[::-1]
    for i in range(size - 1):
        if suffix[i + 1] - log_lr[i] >= threshold:
            lower = grid[i]
    upper: float | None = None
    prefix = _running_log_mean_exp(list(log_lr))
    for i in range(size - 1, 0, -1):
        if prefix[i - 1] - log_lr[i] >= threshold:
            upper = grid[i]
    return lower, upper


def _running_log_mean_exp(values: Sequence[float]) -> list[float]:
    """``log(mean(exp(values[:i + 1])))`` for every ``i``, without overflow."""
    out: list[float] = []
    top = -math.inf
    acc = 0.0
    for count, value in enumerate(values, start=1):
        if value > top:
            acc = acc * math.exp(top - value) + 1.0 if top > -math.inf else 1.0
            top = value
        else:
            acc += math.exp(value - top)
        out.append(top + math.log(acc / count))
    return out


def _log_mean_exp(values: Sequence[float]) -> float:
    if not values:
        return -math.inf
    top = max(values)
    if top == math.inf:
        return math.inf
    return top + math.log(sum(math.exp(v - top) for v in values) / len(values))
