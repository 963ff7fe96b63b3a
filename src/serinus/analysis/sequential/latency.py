"""The sequential judge for latency: the canary's tail against the primary's, from histograms.

Who uses it: the controller, once per tick per latency metric, with both sides' cumulative
histogram buckets since the analysis started (``sum by (le) (increase(<x>_bucket[...]))``: the
cumulative count per ``le`` upper bound, Prometheus style, ``+Inf`` included) and the state the
previous tick returned.

Method. A latency regression at quantile ``q`` (p99 by default) means more requests than before
land above the primary's q-quantile. So the judge picks a **boundary**: the histogram bucket bound
whose share of slower primary requests is closest to ``1 - q`` (or the one configured), fixes it
for the rest of the run, and from then on counts, on both sides, the requests slower than it.
Those counts go through the count judge's anytime-valid test
(:mod:`serinus.analysis.sequential.counts`): an exceedance is an "error". This tests the tail of
the distribution, not only its location, so a canary that grows more variable is caught too
(Kayenta #780), and it needs nothing but the buckets Prometheus already has.

The boundary is chosen from the primary's data up to the tick it is fixed, and the test only uses
data after that tick, so the choice cannot bias the test. It needs ``1 / (1 - q)`` primary
requests first (100 for p99); until then the judge says NOT_YET.

The smallest effect worth catching is set on the quantile (``min_relative_increase`` = 0.2: the
p99 grew by 20 %). A canary uniformly that much slower would have ``S(b / 1.2)`` requests above
the boundary ``b``, where ``S`` is the primary's share of slower requests; so the pass margin on
the exceedance ratio is ``S(b / (1 + d)) / S(b)``, read from the primary's histogram (log-linear
between bucket bounds) when the boundary is fixed. Coarse buckets make this margin coarse: say so
in the docs, not silently.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence

from serinus.analysis.sequential import evidence as ev
from serinus.analysis.sequential.counts import (
    CountConfig,
    Counts,
    Judgement,
    check_alpha,
    check_minimums,
    judge_rates,
)
from serinus.analysis.sequential.decision import Decision, Outcome
from serinus.errors import InvalidCanaryError, MetricsError

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


def judge_latency(
    canary: Buckets,
    primary: Buckets,
    *,
    config: LatencyConfig,
    state: Mapping[str, object] | None = None,
) -> Judgement:
    """Judge the canary's latency tail against the primary's at this tick."""
    canary_h = _validated(canary, "canary")
    primary_h = _validated(primary, "primary")
    q = config.quantile
    label = f"p{q * 100:g}"
    q_c, q_p = quantile(canary_h, q), quantile(primary_h, q)
    prefix = f"canary {label} {_ms(q_c)} vs primary {_ms(q_p)}; "
    boundary, margin, evidence = _restore(state)
    if boundary is None:
        boundary = config.boundary_ms or _pick_boundary(primary_h, q)
        if boundary is None:
            needed = math.ceil(1 / (1 - q))
            reason = (
                f"{prefix}{primary_h[-1][1]:,.0f} primary requests, {needed:,} needed to place "
                f"the {label} boundary: not yet"
            )
            return Judgement(_waiting(config, canary_h, primary_h, reason, q_c, q_p), {})
        # A picked boundary uses the data so far; the test starts after it (a configured one
        # is independent of the data, so the test uses everything).
        evidence = {} if config.boundary_ms else _baseline(canary_h, primary_h, boundary)
    if margin is None:
        margin = _tail_margin(primary_h, boundary, config.min_relative_increase)
    judgement = judge_rates(
        _exceedances(canary_h, boundary, "canary"),
        _exceedances(primary_h, boundary, "primary"),
        config=config.as_count_config(),
        state=evidence,
        margin=margin,
        metric=f"share slower than {_ms(boundary)}",
        event_noun="slow requests",
        prefix=prefix,
    )
    decision = dataclasses.replace(
        judgement.decision, boundary_ms=boundary, canary_quantile_ms=q_c, primary_quantile_ms=q_p
    )
    new_state: dict[str, object] = {"boundary": boundary, "evidence": judgement.state}
    if margin is not None:
        new_state["margin"] = margin
    return Judgement(decision, new_state)


def _restore(
    state: Mapping[str, object] | None,
) -> tuple[float | None, float | None, Mapping[str, object] | None]:
    if not state:
        return None, None, None
    boundary, margin, evidence = state.get("boundary"), state.get("margin"), state.get("evidence")
    if not isinstance(boundary, int | float) or not isinstance(evidence, dict):
        return None, None, None
    return float(boundary), float(margin) if isinstance(margin, int | float) else None, evidence


def _baseline(canary: Buckets, primary: Buckets, boundary: float) -> dict[str, object]:
    """Evidence that starts at the current counts, so the data used to pick the boundary is out."""
    c = _exceedances(canary, boundary, "canary").rounded("canary")
    p = _exceedances(primary, boundary, "primary").rounded("primary")
    start = dataclasses.replace(ev.start(), seen=(c[0], c[1], p[0], p[1]))
    return start.to_dict()


def _validated(buckets: Buckets, side: str) -> list[tuple[float, float]]:
    pairs = sorted((float(le), float(count)) for le, count in buckets)
    if not pairs or pairs[-1][0] != math.inf:
        raise MetricsError(
            f"{side} histogram: expected a +Inf bucket, got bounds {[le for le, _ in pairs]}"
        )
    previous = 0.0
    for le, count in pairs:
        if not math.isfinite(count) or count < previous - 1e-6:
            raise MetricsError(
                f"{side} histogram: expected cumulative counts that never decrease, "
                f"got {count!r} at le={le:g} after {previous!r}"
            )
        previous = max(previous, count)
    return pairs


def _exceedances(buckets: Sequence[tuple[float, float]], boundary: float, side: str) -> Counts:
    total = buckets[-1][1]
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


def _waiting(
    config: LatencyConfig,
    canary: Sequence[tuple[float, float]],
    primary: Sequence[tuple[float, float]],
    reason: str,
    q_c: float | None,
    q_p: float | None,
) -> Decision:
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
        canary_requests=round(canary[-1][1]),
        canary_events=0,
        primary_requests=round(primary[-1][1]),
        primary_events=0,
        canary_quantile_ms=q_c,
        primary_quantile_ms=q_p,
    )


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"
