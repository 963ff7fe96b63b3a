"""The sequential judge for latency: the canary's tail against the primary's, from histograms.

Who uses it: the controller, once per tick per judged latency metric, with the intervals read
since the previous tick (both sides' histograms over the same window: the cumulative count per
``le`` bound, Prometheus style, ``+Inf`` included) and the state the previous tick returned.

Method. A latency regression at quantile ``q`` (p99 by default) means more requests than before
land above the primary's q-quantile. So the judge fixes a **boundary**: the histogram bucket bound
whose share of slower primary requests is closest to ``1 - q`` (or the one configured), and
counts, on both sides, the requests slower than it. Those counts go through the count judge's
anytime-valid test (:mod:`serinus.analysis.sequential.counts`): an exceedance is an "error". This
tests the tail of the distribution, not only its location, so a canary that grows more variable
is caught too (Kayenta #780), and it needs nothing but the buckets Prometheus already has.

The boundary is placed from the primary's **history** before the release (the same read that
estimates the dispersion), so the test counts the release's first interval. Without a history
(a new service) it is placed from the primary's first intervals of the release, which are then
left out of the test so that the choice cannot bias it; it needs ``1 / (1 - q)`` primary
requests (100 for p99), and until then the judge says NOT_YET.

The smallest effect worth catching is set on the quantile (``min_relative_increase`` = 0.2: the
p99 grew by 20 %). A canary uniformly that much slower would have ``S(b / 1.2)`` requests above
the boundary ``b``, where ``S`` is the primary's share of slower requests; so the pass margin on
the exceedance ratio is ``S(b / (1 + d)) / S(b)``, read from the primary's histogram (log-linear
between bucket bounds). Coarse buckets make this margin coarse. The regression test's
alternatives reach up to the ratio of a canary ``2 (1 + d)`` times slower, ``S(b / (2 (1 + d))) /
S(b)``, when that is above the count judge's own top (``2 sqrt(2)`` times the margin): the
exceedance ratio grows steeply with a slowdown (a canary twice as slow has about 9 times the
primary's share above a log-normal p99), and such a canary is a regression to catch fast.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence

from serinus.analysis.sequential.counts import (
    CountConfig,
    Counts,
    Interval,
    Judgement,
    check_alpha,
    check_minimums,
    judge_rates,
)
from serinus.analysis.sequential.decision import Decision, Outcome
from serinus.analysis.sequential.dispersion import Dispersion, estimate
from serinus.errors import InvalidCanaryError, MetricsError

#: The regression test's highest alternative: a canary TOP_SLOWDOWN times the pass margin's
#: slowdown slower (2.4 times slower for the default 20 %).
TOP_SLOWDOWN = 2.0

#: One histogram: ``(le, cumulative count)`` pairs; ``le`` may be ``math.inf`` (``+Inf``).
Buckets = Sequence[tuple[float, float]]


@dataclasses.dataclass(frozen=True)
class LatencyConfig:
    """Per-metric settings of the latency judge.

    ``quantile``: the tail that matters (0.99 = p99). ``min_relative_increase``: the smallest
    increase of that quantile worth catching (0.2 = 20 % slower). ``boundary_ms``: test this
    bucket bound instead of picking the primary's quantile bucket (it must be a bucket bound).
    """

    alpha: float = 0.05
    quantile: float = 0.99
    min_relative_increase: float = 0.2
    early_pass: bool = False
    boundary_ms: float | None = None
    min_events: int = 2
    min_requests: int = 5

    def __post_init__(self) -> None:
        check_alpha(self.alpha)
        if not 0.5 <= self.quantile < 1:
            raise InvalidCanaryError(
                f"quantile: expected a value in [0.5, 1), got {self.quantile!r}"
            )
        if not 0.01 <= self.min_relative_increase <= 10:
            raise InvalidCanaryError(
                "min_relative_increase: expected a relative increase between 0.01 and 10 "
                f"(0.2 = 20% slower), got {self.min_relative_increase!r}"
            )
        if self.boundary_ms is not None and not (
            math.isfinite(self.boundary_ms) and self.boundary_ms > 0
        ):
            raise InvalidCanaryError(
                f"boundary_ms: expected a positive bucket bound, got {self.boundary_ms!r}"
            )
        check_minimums(self.min_events, self.min_requests)

    def as_count_config(self) -> CountConfig:
        return CountConfig(
            alpha=self.alpha,
            early_pass=self.early_pass,
            min_events=self.min_events,
            min_requests=self.min_requests,
        )


@dataclasses.dataclass(frozen=True)
class HistogramInterval:
    """Both sides' latency histograms over one window with one traffic split, and its length.

    Each histogram holds the cumulative count per ``le`` of the requests *in the window*.
    """

    canary: Buckets
    primary: Buckets
    seconds: float


def judge_latency(
    intervals: Sequence[HistogramInterval],
    *,
    config: LatencyConfig,
    state: Mapping[str, object] | None = None,
    history: Sequence[Buckets] = (),
    history_seconds: float = 0.0,
) -> Judgement:
    """Fold this tick's intervals into the evidence and judge the canary's latency tail.

    ``history``: the primary's histograms in consecutive ``history_seconds`` windows before the
    release, used on the first tick to place the boundary and estimate the dispersion.
    """
    label = f"p{config.quantile * 100:g}"
    stored = dict(state or {})
    checked = [
        HistogramInterval(
            _validated(i.canary, "canary"), _validated(i.primary, "primary"), i.seconds
        )
        for i in intervals
    ]
    boundary, margin, top, test_state = _restore(stored)
    dispersion: Dispersion | None = None
    if boundary is None:
        pending = [_validated(h, "primary") for h in _histograms(stored.get("placing"))]
        windows = [_validated(h, "history") for h in history]
        placed = _place(config, windows, pending, checked)
        if placed is None:
            pending += [list(i.primary) for i in checked]
            seen = _sum(pending)
            needed = math.ceil(1 / (1 - config.quantile))
            reason = (
                f"{seen[-1][1] if seen else 0:,.0f} primary requests, {needed:,} needed to place "
                f"the {label} boundary: not yet"
            )
            return Judgement(_waiting(config, reason), {"placing": [_plain(h) for h in pending]})
        boundary, margin, top, used = placed
        checked = checked[used:]
        if windows and history_seconds > 0:
            dispersion = estimate(
                [_exceedances(w, boundary, "history").rounded("history") for w in windows],
                history_seconds,
            )
    judgement = judge_rates(
        [
            Interval(
                _exceedances(i.canary, boundary, "canary"),
                _exceedances(i.primary, boundary, "primary"),
                i.seconds,
            )
            for i in checked
        ],
        config=config.as_count_config(),
        state=test_state,
        dispersion=dispersion,
        margin=margin,
        metric=f"share slower than {_ms(boundary)}",
        event_noun="slow requests",
        prefix=f"{label}: ",
        top=top,
    )
    decision = dataclasses.replace(judgement.decision, boundary_ms=boundary)
    new_state: dict[str, object] = {"boundary": boundary, "test": judgement.state}
    if margin is not None:
        new_state["margin"] = margin
    if top is not None:
        new_state["top"] = top
    return Judgement(decision, new_state)


def _place(
    config: LatencyConfig,
    history: list[list[tuple[float, float]]],
    pending: list[list[tuple[float, float]]],
    intervals: list[HistogramInterval],
) -> tuple[float, float | None, float | None, int] | None:
    """The boundary, the pass margin, the regression test's top ratio, and how many of
    ``intervals`` placing it used up.

    A configured boundary, or one placed from the history, uses no interval of the release.
    """
    q, d = config.quantile, config.min_relative_increase
    reference = _sum(history)
    picked = _pick_boundary(reference, q) if reference else None
    if config.boundary_ms is not None:
        source = reference or _sum([*pending, *(i.primary for i in intervals)])
        if not source:
            return config.boundary_ms, None, None, 0
        return config.boundary_ms, *_margins(source, config.boundary_ms, d), 0
    if picked is not None:
        return picked, *_margins(reference, picked, d), 0
    for used in range(1, len(intervals) + 1):
        seen = _sum([*pending, *(i.primary for i in intervals[:used])])
        boundary = _pick_boundary(seen, q)
        if boundary is not None:
            return boundary, *_margins(seen, boundary, d), used
    return None


def _margins(
    primary: Sequence[tuple[float, float]], boundary: float, d: float
) -> tuple[float | None, float | None]:
    """The pass margin (a canary ``1 + d`` times slower) and the regression test's top ratio
    (``TOP_SLOWDOWN (1 + d)`` times slower)."""
    top = _tail_margin(primary, boundary, TOP_SLOWDOWN * (1 + d) - 1)
    return _tail_margin(primary, boundary, d), top


def _restore(
    state: Mapping[str, object],
) -> tuple[float | None, float | None, float | None, Mapping[str, object] | None]:
    boundary, margin, test = state.get("boundary"), state.get("margin"), state.get("test")
    top = state.get("top")
    if not isinstance(boundary, int | float) or not isinstance(test, dict):
        return None, None, None, None
    return (
        float(boundary),
        float(margin) if isinstance(margin, int | float) else None,
        float(top) if isinstance(top, int | float) else None,
        test,
    )


def _histograms(value: object) -> list[list[tuple[float, float]]]:
    """Histograms stored by :func:`_plain`; anything malformed is dropped."""
    if not isinstance(value, list):
        return []
    out = []
    for item in value:
        pairs = (
            [p for p in item if isinstance(p, list) and len(p) == 2]
            if isinstance(item, list)
            else []
        )
        if pairs and all(isinstance(v, int | float) for p in pairs for v in p):
            out.append([(math.inf if le < 0 else float(le), float(c)) for le, c in pairs])
    return out


def _plain(histogram: Sequence[tuple[float, float]]) -> list[list[float]]:
    """JSON-safe: +Inf stored as -1."""
    return [[-1.0 if math.isinf(le) else le, count] for le, count in histogram]


def _sum(histograms: Sequence[Sequence[tuple[float, float]]]) -> list[tuple[float, float]]:
    """Bucket-wise sum of histograms."""
    totals: dict[float, float] = {}
    for histogram in histograms:
        for le, count in histogram:
            totals[le] = totals.get(le, 0.0) + count
    return sorted(totals.items())


def _waiting(config: LatencyConfig, reason: str) -> Decision:
    return Decision(
        metric=f"p{config.quantile * 100:g} latency",
        outcome=Outcome.NOT_YET,
        reason=reason,
        canary_rate=None,
        primary_rate=None,
        ratio=None,
        ratio_lower=None,
        ratio_upper=None,
        e_value=1.0,
        pass_e_value=0.0,
        threshold=1 / config.alpha,
        canary_requests=0,
        canary_events=0,
        primary_requests=0,
        primary_events=0,
    )


def _validated(buckets: Buckets, side: str) -> list[tuple[float, float]]:
    """Sorted buckets, made cumulative from the top down.

    ``increase()`` extrapolates every ``le`` series on its own, so a window's bucket counts can
    dip by a fraction of a request from one bound to the next; a lower bucket is capped at the
    one above it, which keeps the total and never makes an exceedance negative.
    """
    pairs = sorted((float(le), float(count)) for le, count in buckets)
    if not pairs:
        # No series answered: nothing was served in the window (Prometheus has no bucket yet).
        return [(math.inf, 0.0)]
    if pairs[-1][0] != math.inf:
        raise MetricsError(
            f"{side} histogram: expected a +Inf bucket, got bounds {[le for le, _ in pairs]}"
        )
    for le, count in pairs:
        if not math.isfinite(count) or count < 0:
            raise MetricsError(
                f"{side} histogram: expected counts >= 0, got {count!r} at le={le:g}"
            )
    capped: list[tuple[float, float]] = []
    ceiling = math.inf
    for le, count in reversed(pairs):
        ceiling = min(ceiling, count)
        capped.append((le, ceiling))
    return capped[::-1]


def _exceedances(buckets: Sequence[tuple[float, float]], boundary: float, side: str) -> Counts:
    total = buckets[-1][1]
    if total <= 0:
        return Counts(requests=0.0, events=0.0)
    for le, count in buckets:
        if math.isclose(le, boundary, rel_tol=1e-9):
            return Counts(requests=total, events=max(total - count, 0.0))
    raise MetricsError(f"{side} histogram: no bucket with le={boundary:g}")


def _pick_boundary(primary: Sequence[tuple[float, float]], q: float) -> float | None:
    """The finite bound whose primary tail share is closest (in log) to ``1 - q``."""
    total = primary[-1][1]
    if total < 1 / (1 - q):
        return None
    best: tuple[float, float] | None = None
    for le, count in primary[:-1]:
        tail = (total - count) / total
        if tail <= 0:
            continue
        distance = abs(math.log(tail / (1 - q)))
        if best is None or distance < best[0]:
            best = (distance, le)
    return None if best is None else best[1]


def _tail_margin(primary: Sequence[tuple[float, float]], boundary: float, d: float) -> float | None:
    """``S(b / (1 + d)) / S(b)``: how many more requests a (1 + d)x slower canary has above b."""
    total = primary[-1][1]
    if total <= 0:
        return None
    points = [(0.0, 1.0)] + [(le, (total - c) / total) for le, c in primary[:-1]]
    at_b = _survival(points, boundary)
    if at_b <= 0:
        return None
    return min(max(_survival(points, boundary / (1 + d)) / at_b, 1.05), 100.0)


def _survival(points: Sequence[tuple[float, float]], x: float) -> float:
    """Share slower than ``x``: log-linear between bucket bounds (linear below the first)."""
    for (lo, s_lo), (hi, s_hi) in itertools.pairwise(points):
        if lo <= x <= hi:
            if lo <= 0 or s_lo <= 0 or s_hi <= 0:
                return s_lo + (s_hi - s_lo) * (x - lo) / (hi - lo)
            return math.exp(
                math.log(s_lo) + math.log(s_hi / s_lo) * math.log(x / lo) / math.log(hi / lo)
            )
    return points[-1][1]


def quantile(buckets: Sequence[tuple[float, float]], q: float) -> float | None:
    """Prometheus ``histogram_quantile``: linear in the bucket, the last finite bound in +Inf."""
    total = buckets[-1][1]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return lower
            if count == below:
                return le
            return lower + (le - lower) * (rank - below) / (count - below)
        lower, below = le, count
    return lower


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"
