"""What a sequential judge says at one tick, with the numbers behind it.

Who uses it: the count and latency judges build a :class:`Decision`; the controller acts on
``outcome`` and writes ``reason`` (and the numbers) to the log, the Kubernetes Event and the Canary
status. Every field a platform engineer needs to check the verdict by hand is here: both sides'
estimates, the effect and its anytime-valid bounds, the e-values against the 1/alpha bar and the
samples seen, so a verdict never reads as a bare "High" (Kayenta #521, #803).
"""

from __future__ import annotations

import dataclasses
import enum
import math


class Outcome(enum.StrEnum):
    """The three answers of a sequential judge."""

    #: The canary is worse than the primary, with the false-alarm rate bounded by alpha.
    REGRESSION = "regression"
    #: Any regression at least as large as the smallest effect worth catching is ruled out.
    NO_REGRESSION = "no-regression"
    #: Not enough evidence either way yet: keep going. Never a failure, whatever the data.
    NOT_YET = "not-yet"


@dataclasses.dataclass(frozen=True)
class Decision:
    """One metric's verdict at one tick.

    ``canary_rate`` / ``primary_rate`` are the tested rates over the intervals counted (errors
    per request, or the share of requests slower than ``boundary_ms`` for latency). ``ratio`` is
    the canary-over-primary rate ratio the evidence favours most, and ``ratio_lower`` /
    ``ratio_upper`` its anytime-valid bounds (``None`` while unbounded): each side holds with
    probability at least ``1 - alpha``, both with ``1 - 2 alpha`` (``level``). The bounds always
    contain ``ratio``; the lower one is at least 1 exactly when the regression e-value reached
    its bar. ``e_value`` measures evidence of a regression and ``pass_e_value`` evidence that no
    regression of the smallest size worth catching exists; each is compared with ``threshold``
    = 1/alpha.
    """

    metric: str
    outcome: Outcome
    reason: str
    canary_rate: float | None
    primary_rate: float | None
    ratio: float | None
    ratio_lower: float | None
    ratio_upper: float | None
    e_value: float
    pass_e_value: float
    threshold: float
    canary_requests: int
    canary_events: int
    primary_requests: int
    primary_events: int
    intervals: int = 0
    level: float = 0.9
    # Latency only: the boundary tested and the quantile estimates (histogram interpolation).
    boundary_ms: float | None = None
    canary_quantile_ms: float | None = None
    primary_quantile_ms: float | None = None

    @property
    def is_regression(self) -> bool:
        return self.outcome is Outcome.REGRESSION


def explain(
    *,
    metric: str,
    outcome: Outcome,
    verdict: str,
    prefix: str,
    totals: tuple[int, int, int, int],
    intervals: int,
    estimate: float | None,
    bounds: tuple[float | None, float | None],
    alpha: float,
    e_values: tuple[float, float],
    threshold: float,
) -> Decision:
    """The decision with its one-sentence reason, numbers included."""
    n_c, x_c, n_p, x_p = totals
    rate_c = x_c / n_c if n_c else None
    rate_p = x_p / n_p if n_p else None
    lower, upper = bounds
    if n_c == 0:
        reason = f"{prefix}no canary requests yet ({n_p:,} primary requests): not yet"
    else:
        ratio = "ratio unknown" if estimate is None else f"ratio {number(estimate)}x"
        reason = (
            f"{prefix}canary {metric} {percent(rate_c)} vs primary {percent(rate_p)} over "
            f"{n_c:,} vs {n_p:,} requests in {intervals} interval{'' if intervals == 1 else 's'}: "
            f"{ratio}, "
            f"{bounds_text(lower, upper, alpha)}, {verdict}"
        )
    return Decision(
        metric=metric,
        outcome=outcome,
        reason=reason,
        canary_rate=rate_c,
        primary_rate=rate_p,
        ratio=estimate,
        ratio_lower=lower,
        ratio_upper=upper,
        e_value=e_values[0],
        pass_e_value=e_values[1],
        threshold=threshold,
        canary_requests=n_c,
        canary_events=x_c,
        primary_requests=n_p,
        primary_events=x_p,
        intervals=intervals,
        level=level(alpha),
    )


def level(alpha: float) -> float:
    """The two-sided level of bounds whose sides each hold at ``1 - alpha``."""
    return 1.0 - 2.0 * alpha


def percent(value: float | None) -> str:
    """``0.0210`` -> ``2.10%``; ``None`` -> ``n/a``."""
    return "n/a" if value is None else f"{value * 100:.2f}%"


def number(value: float) -> str:
    """A readable e-value or ratio: ``27.3``, ``1.2e+06``, ``0.041``."""
    if math.isinf(value):
        return "inf"
    if value >= 1e5:
        return f"{value:.1e}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2g}" if value < 1 else f"{value:.2f}"


def bounds_text(lower: float | None, upper: float | None, alpha: float) -> str:
    """The confidence sequence as a phrase: ``in [2.00x, 9.51x] (90% anytime-valid)``.

    The level is the two-sided one: each side at ``1 - alpha``, the same test as the verdict.
    """
    low = "0" if lower is None else f"{number(lower)}x"
    high = "unbounded" if upper is None else f"{number(upper)}x"
    return f"in [{low}, {high}] ({level(alpha) * 100:.4g}% anytime-valid)"
