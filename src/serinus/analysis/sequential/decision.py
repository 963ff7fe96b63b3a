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

    ``canary_rate`` / ``primary_rate`` are the tested rates (errors per request, or the share of
    requests slower than ``boundary_ms`` for latency); ``ratio`` is canary over primary (``None``
    when the primary has no bad events yet) and ``ratio_lower`` / ``ratio_upper`` its anytime-valid
    confidence bounds (``None`` while unbounded). ``e_value`` measures evidence of a regression
    and ``pass_e_value`` evidence that no regression of the smallest size worth catching exists;
    each is compared with ``threshold`` = 1/alpha.
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
    # Latency only: the boundary tested and the quantile estimates (histogram interpolation).
    boundary_ms: float | None = None
    canary_quantile_ms: float | None = None
    primary_quantile_ms: float | None = None

    @property
    def is_regression(self) -> bool:
        return self.outcome is Outcome.REGRESSION


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


def times(ratio: float | None) -> str:
    """How much higher the canary is: ``4.4x higher``, ``0.52x (lower)``, or why it is unknown."""
    if ratio is None:
        return "primary has none, ratio undefined"
    if ratio >= 1:
        return f"{number(ratio)}x higher"
    return f"{number(ratio)}x (lower)"


def bounds_text(lower: float | None, upper: float | None, alpha: float) -> str:
    """The confidence sequence as a phrase: ``ratio 2.0x..9.5x (95% anytime)``."""
    level = f"{(1 - alpha) * 100:g}%"
    low = "0" if lower is None else f"{number(lower)}x"
    high = "unbounded" if upper is None else f"{number(upper)}x"
    return f"ratio in [{low}, {high}] ({level} anytime-valid)"
