"""The two judges of benchmarks/judgement.py, vectorised over releases.

* :class:`Flagger`: Flagger 1.44's fixed thresholds on the canary alone, read as Flagger reads
  them (``sum(rate(ok[1m])) / sum(rate(all[1m]))`` and ``histogram_quantile(0.99, ...)`` over the
  last minute at the tick, through the scrape model when the row has one).
* :class:`Serinus`: the judged seed Canary: the sequential comparison on both metrics plus both
  thresholds as anytime-valid guards, one alpha for the release
  (:mod:`serinus.analysis.sequential.release`), each interval's evidence tempered by the
  dispersion estimated from the primary's history. It is a numpy twin of
  :mod:`serinus.analysis.sequential`; ``benchmarks/judgement.py --check`` replays recorded runs
  through the shipped code and reports any run where the two disagree.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt
from judgement_traffic import BOUNDS_MS, Floats

from serinus.analysis.sequential import evidence as ev
from serinus.analysis.sequential import guard, release
from serinus.analysis.sequential.dispersion import MIN_WINDOWS, SAFETY_SE

GRID = np.array(ev.BASE_GRID)
LOG_GRID = np.log(GRID)
ONE = ev.ONE
RATIOS = np.array(guard.RATIOS)
BOUNDARY_MS = 300.0  # where the primary's p99 falls; the judge picks it from the history
GUARD_MS = 500.0  # Flagger's request-duration threshold in the seed
SUCCESS_LIMIT = 0.01  # Flagger's request-success-rate threshold 99 %
ALPHA = 0.05


def dispersion_beta(n: Floats, x: Floats, seconds: float) -> Floats:
    """:func:`serinus.analysis.sequential.dispersion.estimate`, for every run (rows)."""
    x = np.minimum(x, n)
    used = n > 0
    windows = used.sum(1)
    requests, events = (n * used).sum(1), (x * used).sum(1)
    mu = events / np.maximum(requests, 1e-12)
    squares = (n * n * used).sum(1)
    excess = (((x - n * mu[:, None]) ** 2 - n * mu[:, None]) * used).sum(1)
    v = np.maximum(excess, 0.0) / np.maximum(squares, 1e-12)
    spread = ((2 * (n * mu[:, None] + n * n * v[:, None]) ** 2 + n * mu[:, None]) * used).sum(1)
    v = v + SAFETY_SE * np.sqrt(spread) / np.maximum(squares, 1e-12)
    beta = seconds * v / np.maximum(mu, 1e-12)
    return np.where((windows >= MIN_WINDOWS) & (events > 0), beta, 0.0)


def side_factor(beta: Floats, requests: Floats, seconds: float) -> Floats:
    return 1.0 + beta * requests / seconds


def share_factor(beta: Floats, n_c: Floats, n_p: Floats, seconds: float) -> Floats:
    total = n_c + n_p
    share = np.where(total > 0, n_c / np.maximum(total, 1e-12), 0.0)
    return (1 - share) * side_factor(beta, n_c, seconds) + share * side_factor(beta, n_p, seconds)


@dataclasses.dataclass
class Comparison:
    """One comparison test per run: tempered log-likelihood ratios and totals."""

    runs: int
    alpha: float
    beta: Floats
    offsets: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]  # regression family per run

    def __post_init__(self) -> None:
        self.log_lr = np.zeros((self.runs, GRID.size))
        self.totals = np.zeros((self.runs, 4), dtype=np.int64)
        low, high = self.offsets
        k = np.arange(GRID.size)[None, :] - ONE
        self.family = (k >= low[:, None]) & (k <= high[:, None])
        self.parts: list[tuple[Floats, Floats, Floats, Floats]] = []  # for the last look

    def last_look(self, alpha: float, runs: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """:func:`serinus.analysis.sequential.lastlook.tail` for ``runs``: True where it
        finds a regression at ``alpha`` (with the sequential test's minimums)."""
        out = np.zeros(self.runs, dtype=bool)
        if not self.parts:
            return out
        x_c, events, share, phi = (np.stack(a, axis=1) for a in zip(*self.parts, strict=True))
        minimums = (self.totals[:, 1] >= 2) & (self.totals[:, 0] >= 5)
        for run in np.nonzero(runs & minimums)[0]:
            used = events[run] > 0
            out[run] = (
                last_look_p(x_c[run, used], events[run, used], share[run, used], phi[run, used])
                <= alpha
            )
        return out

    def add(self, n_c: Floats, x_c: Floats, n_p: Floats, x_p: Floats, seconds: float) -> None:
        n_c, n_p = _rounded(n_c), _rounded(n_p)
        x_c, x_p = np.minimum(_rounded(x_c), n_c), np.minimum(_rounded(x_p), n_p)
        self.totals += np.stack([n_c, x_c, n_p, x_p], axis=1).astype(np.int64)
        events = x_c + x_p
        useful = (events > 0) & (n_c > 0) & (n_p > 0)
        share = n_c / np.maximum(n_c + n_p, 1)
        phi = np.maximum(share_factor(self.beta, n_c, n_p, seconds), 1.0)
        lr = x_c[:, None] * LOG_GRID - events[:, None] * np.log1p((GRID - 1) * share[:, None])
        self.log_lr += np.where(useful[:, None], lr / phi[:, None], 0.0)
        self.parts.append((x_c, np.where(useful, events, 0.0), share, phi))

    def e_value(self) -> Floats:
        with np.errstate(over="ignore"):
            terms = np.where(self.family, np.exp(np.minimum(self.log_lr, 700.0)), 0.0)
        return terms.sum(1) / self.family.sum(1)

    def regression(self) -> npt.NDArray[np.bool_]:
        e_value = self.e_value()
        n_c, x_c, n_p, x_p = self.totals.T
        excess = x_c / np.maximum(n_c, 1) - x_p / np.maximum(n_p, 1)
        return (e_value >= 1 / self.alpha) & (x_c >= 2) & (n_c >= 5) & (excess >= 0)


@dataclasses.dataclass
class Guard:
    """One SLO guard per run: the canary's tempered events and non-events (beyond the limit?)
    and a comparison with the primary on the same counts (worse than the primary?)."""

    runs: int
    alpha: float
    limit: float
    beta: Floats

    def __post_init__(self) -> None:
        self.x = np.zeros(self.runs)
        self.y = np.zeros(self.runs)
        self.events = np.zeros(self.runs, dtype=np.int64)
        ratios = RATIOS[self.limit * RATIOS < 1]
        self.log_r = np.log(ratios)
        self.log_q = np.log1p(-self.limit * ratios) - math.log1p(-self.limit)
        worse = guard.WORSE_OFFSETS
        offsets = np.full(self.runs, worse.start), np.full(self.runs, worse.stop - 1)
        self.worse = Comparison(self.runs, self.alpha, self.beta, offsets)

    def add(self, n: Floats, x: Floats, n_p: Floats, x_p: Floats, seconds: float) -> None:
        self.worse.add(n, x, n_p, x_p, seconds)
        n = _rounded(n)
        x = np.minimum(_rounded(x), n)
        phi = side_factor(self.beta, n, seconds)
        self.x += x / phi
        self.y += (n - x) / phi
        self.events += x.astype(np.int64)

    def violated(self) -> npt.NDArray[np.bool_]:
        logs = self.x[:, None] * self.log_r + self.y[:, None] * self.log_q
        with np.errstate(over="ignore"):
            e_value = np.exp(np.minimum(logs, 700.0)).mean(1)
        beyond = (e_value >= 1 / self.alpha) & (self.events >= 2)
        return beyond & (self.worse.e_value() >= 1 / self.alpha)


_LOG_FACTORIAL = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, 20_001)))])


def last_look_p(x_c: Floats, events: Floats, share: Floats, phi: Floats) -> float:
    """The tempered exact p-value of :func:`serinus.analysis.sequential.lastlook.tail`, with
    numpy (no trimming): the upper tail of a sum of binomials at the canary's events."""
    keep = (share > 0) & (share < 1)
    x_c, events, share, phi = x_c[keep], events[keep].astype(np.int64), share[keep], phi[keep]
    observed = int(x_c.sum())
    expected = float((events * share).sum())
    if events.sum() == 0 or observed <= expected:
        return 1.0
    pmf = np.ones(1)
    for total, s in zip(events, share, strict=True):
        k = np.arange(total + 1)
        log = _LOG_FACTORIAL[total] - _LOG_FACTORIAL[k] - _LOG_FACTORIAL[total - k]
        pmf = np.convolve(pmf, np.exp(log + k * math.log(s) + (total - k) * math.log1p(-s)))
    p_value = min(1.0, float(pmf[observed:].sum()))
    variance = events * share * (1 - share)
    mean_phi = float((variance * np.maximum(phi, 1.0)).sum() / variance.sum())
    return p_value ** (1.0 / mean_phi)


def _rounded(values: Floats) -> Floats:
    return np.round(np.maximum(values, 0.0))


def regression_offsets(
    margin: Floats, top: Floats | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The regression family's grid offsets for each run's margin and top (as evidence.py)."""
    index = np.floor(np.log2(margin) * ev.STEPS_PER_DOUBLING + 1e-9).astype(np.int64)
    low = np.maximum(index, 1) + ev.REGRESSION_FROM
    high = low + ev.REGRESSION_WIDTH
    if top is not None:
        top_index = np.floor(np.log2(top) * ev.STEPS_PER_DOUBLING + 1e-9).astype(np.int64)
        high = np.maximum(high, top_index)
    return low, high


def tail_margin(slow: Floats, total: Floats, d: float = 0.2) -> Floats:
    """:func:`serinus.analysis.sequential.latency._tail_margin` at the 300 ms boundary.

    ``slow``: history requests slower than each finite bound (runs, bounds); ``total``: requests.
    S(250) is log-linear between the 200 and 300 ms bounds.
    """
    s200 = slow[:, 0] / np.maximum(total, 1)
    s300 = slow[:, 1] / np.maximum(total, 1)
    x = BOUNDARY_MS / (1 + d)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(s200) + np.log(s300 / s200) * math.log(x / 200) / math.log(300 / 200)
        margin = np.exp(log_s) / s300
    return np.clip(np.nan_to_num(margin, nan=2.0, posinf=100.0), 1.05, 100.0)


def release_alphas() -> tuple[float, float, float]:
    """(comparison's sequential part, comparison's last look, guard) alpha of the seed's four
    tests."""
    tests = [release.Kind.COMPARISON] * 2 + [release.Kind.GUARD] * 2
    shares = release.shares(ALPHA, tests)
    sequential, last = release.split(shares[0], LAST_LOOK_SHARE)
    return sequential, last, shares[-1]


LAST_LOOK_SHARE = release.LAST_LOOK_SHARE
"""The comparison's share given to the last look (``--last-look`` sets it to measure a split)."""


def histogram_p99(le_counts: Floats) -> Floats:
    """Prometheus histogram_quantile(0.99) over cumulative counts per bound (runs, bounds)."""
    bounds = np.array(BOUNDS_MS)
    total = le_counts[:, -1]
    rank = 0.99 * total
    index = np.argmax(le_counts >= rank[:, None] - 1e-9, axis=1)
    lower = np.where(index > 0, bounds[np.maximum(index - 1, 0)], 0.0)
    below = np.where(
        index > 0, np.take_along_axis(le_counts, np.maximum(index - 1, 0)[:, None], 1)[:, 0], 0
    )
    count = np.take_along_axis(le_counts, index[:, None], 1)[:, 0]
    upper = bounds[index]
    inside = lower + (upper - lower) * (rank - below) / np.maximum(count - below, 1e-9)
    return np.where(np.isinf(upper), lower, inside)
