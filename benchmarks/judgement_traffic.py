"""Simulated traffic for benchmarks/judgement.py: who gets how many requests, errors and how slow.

Traffic is Poisson with a daily curve ``c(t) = 1 + 0.5 sin(2 pi t / 1 day)``: each run starts at
a uniformly random time of day ``t0`` and its mean rate is ``rps * c(t0 + t) / c(t0)``, so "20
requests/s" is the traffic at the moment of the release and the curve moves it from there (a few
tenths of a percent over a 4-minute release, more over a long one). Errors are Bernoulli per
request. Latency is log-normal (median 60 ms, sigma 0.69, so the primary's p99 is 300 ms),
reported as Linkerd's ``response_latency_ms`` buckets; a latency regression multiplies the
canary's latencies by a factor (p99 +20 % = every request 1.2x slower). Everything is drawn for
all runs of a tick at once with numpy.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

INTERVAL_S = 10.0
DAY_S = 86_400.0
DAILY_AMPLITUDE = 0.5

LATENCY_MEDIAN_MS = 60.0
LATENCY_SIGMA = 0.69
# Linkerd's proxy latency buckets (ms), then +Inf.
BUCKETS_MS: tuple[float, ...] = (
    1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500,
    1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000, math.inf,
)  # fmt: skip

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One row of the table: what the canary does wrong (if anything) and from when."""

    name: str
    metric: str  # "errors" or "latency"
    primary_error: float = 0.005
    canary_error: float = 0.005
    latency_factor: float = 1.0
    fault_at_weight: int = 5  # the fault starts when the canary weight reaches this

    @property
    def healthy(self) -> bool:
        return self.canary_error == self.primary_error and self.latency_factor == 1.0


def bucket_probabilities(factor: float) -> Floats:
    """Probability of each bucket (not cumulative) for latencies ``factor`` x the primary's."""
    median = LATENCY_MEDIAN_MS * factor
    cdf = [
        1.0
        if math.isinf(le)
        else 0.5 * math.erfc(-math.log(le / median) / (LATENCY_SIGMA * math.sqrt(2)))
        for le in BUCKETS_MS
    ]
    return np.diff(np.array([0.0, *cdf]))


def _curve(t: Floats) -> Floats:
    return 1 + DAILY_AMPLITUDE * np.sin(2 * np.pi * t / DAY_S)


class Traffic:
    """Draws one interval of traffic for every run of a simulation."""

    def __init__(self, *, rps: float, runs: int, rng: np.random.Generator) -> None:
        self.rps = rps
        self.rng = rng
        self.phase = rng.uniform(0.0, DAY_S, runs)

    def requests(self, tick: int, weight: Ints) -> tuple[Ints, Ints]:
        """Requests to (canary, primary) during the interval that ends at ``tick``."""
        middle = (tick - 0.5) * INTERVAL_S
        rate = self.rps * _curve(self.phase + middle) / _curve(self.phase)
        share = weight / 100.0
        canary = self.rng.poisson(rate * share * INTERVAL_S)
        primary = self.rng.poisson(rate * (1 - share) * INTERVAL_S)
        return canary, primary

    def errors(self, requests: Ints, rate: Floats | float) -> Ints:
        return self.rng.binomial(requests, rate)

    def buckets(self, requests: Ints, probabilities: Floats) -> Ints:
        """Per-bucket (non-cumulative) counts, shape (runs, buckets)."""
        return self.rng.multinomial(requests, probabilities)
