"""How much more than binomial a side's bad-event counts vary: the judges' burst correction.

Who uses it: the controller estimates a :class:`Dispersion` once per release from the primary's
own counts before the release (:func:`estimate`), and every judge tempers each interval's
evidence by :meth:`Dispersion.factor` (:mod:`serinus.analysis.sequential.evidence`).

The model. Requests fail independently *given* the interval's error rate, but that rate itself
moves from second to second (a slow dependency, a GC pause, a bad pod): it has mean ``mu`` and,
averaged over an interval, variance ``v``. A side serving ``n`` requests in the interval then
counts ``n mu (1 + n v / mu)`` errors of variance: ``1 + n v / mu`` times the binomial variance.
When the rate's fluctuations are independent from second to second, ``n v`` depends only on the
side's requests *per second* ``m``, so the factor is ``1 + m beta`` with
``beta = seconds * v / mu``; that is the one number estimated. Fluctuations that last longer
than a second make the same data give a larger ``beta`` for the longer estimation windows, which
errs on the safe side.

For the conditional test of the canary's share ``s`` of the errors, the variance of
``x - s E`` is ``(1 - s) phi_canary + s phi_primary`` times the binomial one, which is the
factor :meth:`Dispersion.factor` returns. A canary that takes a small share has few requests per
second and a factor near 1; a primary carrying 100 requests per second with bursty errors may
have 5.

The estimate (:func:`estimate`) is the method of moments on the primary's counts in consecutive
windows before the release, ``v = sum((x - n mu)^2 - n mu) / sum(n^2)``, plus one of its own
standard errors, so that a short or quiet history errs towards more dispersion.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from serinus.errors import MetricsError

# How far the estimate is pushed up for its own sampling error, in standard errors.
SAFETY_SE = 1.0
# Windows with requests needed before the history says anything; with fewer, the default holds.
MIN_WINDOWS = 10


@dataclasses.dataclass(frozen=True)
class Dispersion:
    """``beta``: the excess variance per request per second (0 = binomial counts)."""

    beta: float = 0.0
    windows: int = 0
    rate: float | None = None

    def side(self, requests: float, seconds: float) -> float:
        """The factor of one side that served ``requests`` in ``seconds``."""
        if seconds <= 0:
            return 1.0
        return 1.0 + self.beta * requests / seconds

    def factor(self, canary: float, primary: float, seconds: float) -> float:
        """The dispersion factor of the canary's share of an interval's events."""
        total = canary + primary
        if total <= 0:
            return 1.0
        share = canary / total
        return (1 - share) * self.side(canary, seconds) + share * self.side(primary, seconds)

    def to_dict(self) -> dict[str, object]:
        return {"beta": round(self.beta, 9), "windows": self.windows, "rate": self.rate}

    @classmethod
    def from_dict(cls, state: Mapping[str, object] | None) -> Dispersion | None:
        if not state:
            return None
        beta, windows, rate = state.get("beta"), state.get("windows"), state.get("rate")
        if not isinstance(beta, int | float) or not math.isfinite(beta) or beta < 0:
            return None
        if not isinstance(windows, int) or windows < 0:
            return None
        if rate is not None and not isinstance(rate, int | float):
            return None
        return cls(float(beta), windows, None if rate is None else float(rate))


def estimate(history: Sequence[tuple[float, float]], seconds: float) -> Dispersion:
    """``beta`` from the primary's (requests, bad events) in consecutive ``seconds`` windows.

    Windows without requests are skipped. With fewer than ``MIN_WINDOWS`` left, or no bad event
    at all, the history cannot say anything and the counts are taken as binomial (``beta = 0``);
    the result says how many windows it saw.
    """
    if not (seconds > 0 and math.isfinite(seconds)):
        raise MetricsError(f"history window: expected a positive length, got {seconds!r} s")
    windows = [
        (n, min(x, n)) for n, x in history if math.isfinite(n) and math.isfinite(x) and n > 0
    ]
    requests = sum(n for n, _ in windows)
    events = sum(x for _, x in windows)
    if len(windows) < MIN_WINDOWS or events <= 0:
        return Dispersion(0.0, len(windows), events / requests if requests else None)
    mu = events / requests
    squares = sum(n * n for n, _ in windows)
    v = max(sum((x - n * mu) ** 2 - n * mu for n, x in windows), 0.0) / squares
    # Each window's term has variance about 2 (n mu + n^2 v)^2 + n mu: push the estimate up by
    # SAFETY_SE of its standard errors, so that a short or quiet history errs towards bursts.
    spread = sum(2 * (n * mu + n * n * v) ** 2 + n * mu for n, _ in windows)
    v += SAFETY_SE * math.sqrt(spread) / squares
    return Dispersion(seconds * v / mu, len(windows), mu)
