"""Simulated traffic for benchmarks/judgement.py, second by second, for many releases at once.

Requests are Poisson with a daily curve ``c(t) = 1 + 0.5 sin(2 pi t / 1 day)`` around the
release's rate. Each second, each side's requests fail with that second's error probability,
which the **traffic model** sets:

* ``independent``: a constant rate (the textbook case);
* ``beta-shared-K`` / ``beta-indep-K``: the per-second rate is Beta-distributed with the healthy
  mean and concentration K (20: bursty, 200: mildly bursty), the same draw for both sides
  (a shared dependency) or separate draws per side (each side's own bursts);
* ``outages-shared`` / ``outages-primary`` / ``outages-canary-pod``: 5-second outages in which
  half the requests fail, starting on average every 2 minutes, hitting both sides, the primary
  only, or one of the canary's two pods (a quarter of the canary's requests fail then);
* ``startup-60s``: the canary takes 60 s to become ready, so the run's first step comes 60 s after
  it started (with shared outages, which is where counting from the start hurt);
* every model can be read through the **scrape model** (:class:`Scrapes`): each side's counters
  are scraped every 10 s or 30 s at its own random offset, a counter's series only exists from
  its first event, and counts are Prometheus' ``increase()`` with its extrapolation to the
  window's edges.

Latency is log-normal (median 60 ms, sigma 0.69, so the primary's p99 is 300 ms), counted in the
bucket bounds that matter (Linkerd's 200, 300, 400, 500 and 1000 ms, +Inf); a slower canary
multiplies its latencies.
The history before the release is simulated with the primary alone carrying the traffic.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

DAY_S = 86_400.0
DAILY_AMPLITUDE = 0.5
LATENCY_MEDIAN_MS = 60.0
LATENCY_SIGMA = 0.69
BOUNDS_MS: tuple[float, ...] = (200.0, 300.0, 400.0, 500.0, 1000.0, math.inf)
OUTAGE_GAP_S, OUTAGE_S, OUTAGE_ERRORS = 120.0, 5, 0.5

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class Model:
    """A traffic model: how errors vary, and how the counts are read."""

    name: str
    beta: str = ""  # "", "shared" or "indep"
    concentration: float = 0.0
    outages: str = ""  # "", "shared", "primary" or "canary-pod"
    startup_s: int = 0
    scrape_s: int = 0  # 0: counts read exactly; else the scrape interval


MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        Model("independent"),
        Model("beta-shared-20", beta="shared", concentration=20),
        Model("beta-shared-200", beta="shared", concentration=200),
        Model("beta-indep-20", beta="indep", concentration=20),
        Model("beta-indep-200", beta="indep", concentration=200),
        Model("outages-shared", outages="shared"),
        Model("outages-primary", outages="primary"),
        Model("outages-canary-pod", outages="canary-pod"),
        Model("startup-60s", outages="shared", startup_s=60),
        Model("scrape-10s", scrape_s=10),
        Model("scrape-10s-outages", outages="shared", scrape_s=10),
        Model("scrape-30s-outages", outages="shared", scrape_s=30),
    )
}


def bucket_probabilities(factor: float) -> Floats:
    """Probability of each bin between consecutive bounds of BOUNDS_MS."""
    median = LATENCY_MEDIAN_MS * factor
    cdf = [
        1.0
        if math.isinf(le)
        else 0.5 * math.erfc(-math.log(le / median) / (LATENCY_SIGMA * math.sqrt(2)))
        for le in BOUNDS_MS
    ]
    return np.diff(np.array([0.0, *cdf]))


def _outages(rng: np.random.Generator, runs: int, seconds: int) -> npt.NDArray[np.bool_]:
    """Seconds inside an outage: starts as a Poisson process, each lasting OUTAGE_S."""
    starts = rng.random((runs, seconds)) < 1.0 / OUTAGE_GAP_S
    inside = np.zeros((runs, seconds), dtype=bool)
    for lag in range(OUTAGE_S):
        inside[:, lag:] |= starts[:, : seconds - lag]
    return inside


class Traffic:
    """Every second of every run: request rates, error probabilities, cumulative counts.

    ``cum[name][:, t]`` holds the count up to the end of second ``t - 1`` (``cum[:, 0] = 0``), for
    ``c_req``, ``c_err``, ``p_req``, ``p_err`` and ``c_slow``/``p_slow`` (per bound, shape
    ``(runs, seconds + 1, bounds)``). Seconds are drawn in order as the schedule sets the weight.
    """

    def __init__(
        self, model: Model, *, rps: float, mu: float, runs: int, seconds: int, seed: int
    ) -> None:
        self.model, self.rps, self.mu, self.runs, self.seconds = model, rps, mu, runs, seconds
        self.rng = np.random.default_rng(seed)
        rng = self.rng
        phase = rng.uniform(0.0, DAY_S, runs)[:, None]
        t = np.arange(seconds)[None, :]
        curve = 1 + DAILY_AMPLITUDE * np.sin(2 * np.pi * (phase + t) / DAY_S)
        self.rate = rps * curve / curve[:, :1]
        self.p_primary = np.full((runs, seconds), mu)
        self.p_canary = np.full((runs, seconds), mu)
        if model.beta:
            a, b = mu * model.concentration, (1 - mu) * model.concentration
            self.p_primary = rng.beta(a, b, (runs, seconds))
            self.p_canary = (
                self.p_primary.copy() if model.beta == "shared" else rng.beta(a, b, (runs, seconds))
            )
        if model.outages:
            down = _outages(rng, runs, seconds)
            if model.outages in ("shared", "primary"):
                self.p_primary = np.where(down, OUTAGE_ERRORS, self.p_primary)
            if model.outages == "shared":
                self.p_canary = np.where(down, OUTAGE_ERRORS, self.p_canary)
            if model.outages == "canary-pod":
                # One of two pods fails half its requests: a quarter of the canary's fail.
                self.p_canary = np.where(down, OUTAGE_ERRORS / 2, self.p_canary)
        width = len(BOUNDS_MS) - 1
        self.cum = {
            name: np.zeros((runs, seconds + 1), dtype=np.int32)
            for name in ("c_req", "c_err", "p_req", "p_err")
        }
        self.slow = {
            name: np.zeros((runs, seconds + 1, width), dtype=np.int32)
            for name in ("c_slow", "p_slow")
        }
        self.drawn = 0

    def draw(
        self,
        until: int,
        weight: Ints,
        *,
        canary_error: Floats | None = None,
        latency_factor: Floats | None = None,
    ) -> None:
        """Draw seconds ``drawn .. until - 1`` with the canary at ``weight`` percent.

        ``canary_error``: per-run error rate replacing the canary's healthy one (a fault), NaN
        where healthy; ``latency_factor``: per-run slowdown of the canary (1 where healthy).
        """
        start, rng = self.drawn, self.rng
        if until <= start:
            return
        span = slice(start, until)
        share = (weight / 100.0)[:, None]
        total = rng.poisson(self.rate[:, span])
        n_c = rng.binomial(total, np.broadcast_to(share, total.shape))
        n_p = total - n_c
        p_c = self.p_canary[:, span]
        if canary_error is not None:
            faulty = ~np.isnan(canary_error)
            p_c = np.where(faulty[:, None], np.maximum(p_c, canary_error[:, None]), p_c)
        e_c = rng.binomial(n_c, p_c)
        e_p = rng.binomial(n_p, self.p_primary[:, span])
        for name, values in (("c_req", n_c), ("c_err", e_c), ("p_req", n_p), ("p_err", e_p)):
            cum = self.cum[name]
            cum[:, start + 1 : until + 1] = cum[:, start : start + 1] + np.cumsum(values, axis=1)
        healthy = bucket_probabilities(1.0)
        factors = np.ones(self.runs) if latency_factor is None else latency_factor
        for name, counts, probs in (
            ("c_slow", n_c, None),
            ("p_slow", n_p, healthy),
        ):
            if probs is None:
                bins = np.zeros((*counts.shape, len(BOUNDS_MS)), dtype=np.int64)
                for factor in np.unique(factors):
                    rows = factors == factor
                    bins[rows] = rng.multinomial(counts[rows], bucket_probabilities(factor))
            else:
                bins = rng.multinomial(counts, probs)
            # Requests slower than each finite bound: the bins above it.
            above = np.cumsum(bins[:, :, ::-1], axis=2)[:, :, ::-1][:, :, 1:]
            slow = self.slow[name]
            slow[:, start + 1 : until + 1] = slow[:, start : start + 1] + np.cumsum(above, axis=1)
        self.drawn = until


class Scrapes:
    """Prometheus' view of the counters: scraped every ``interval`` s at a per-run, per-side
    offset; ``increase()`` over ``(start, end]`` with Prometheus' extrapolation."""

    def __init__(self, interval: int, runs: int, rng: np.random.Generator) -> None:
        self.interval = interval
        self.offset = {
            "c": rng.integers(0, interval, runs),
            "p": rng.integers(0, interval, runs),
        }

    def increase(
        self,
        cum: npt.NDArray[np.int32],
        side: str,
        start: Ints,
        end: Ints,
        born: npt.NDArray[np.int32] | None = None,
    ) -> Floats:
        """``increase(x[end - start] @ end)`` per run; 0 where the range has < 2 samples.

        ``cum``: the cumulative counter (runs, seconds + 1); samples at ``offset + k interval``
        read ``cum[:, t]``; a sample exists only once the series is born: once ``born`` (the
        counter itself by default) is above zero, as a series is created by its first event.
        """
        birth = cum if born is None else born
        step, offset = self.interval, self.offset[side]
        runs = np.arange(cum.shape[0])
        first_k = np.floor((start - offset) / step).astype(np.int64) + 1
        last_k = np.floor((end - offset) / step).astype(np.int64)
        first_t = np.clip(offset + first_k * step, 0, cum.shape[1] - 1)
        last_t = np.clip(offset + last_k * step, 0, cum.shape[1] - 1)
        first_v = cum[runs, first_t].astype(float)
        last_v = cum[runs, last_t].astype(float)
        # The series is born at its first event: move the first sample to the first one > 0.
        alive = birth[runs, first_t] > 0
        if not alive.all():
            k_born = _first_positive_sample(birth, offset, step, first_k, last_k)
            first_k = np.where(alive, first_k, k_born)
            first_t = np.clip(offset + first_k * step, 0, cum.shape[1] - 1)
            first_v = cum[runs, first_t].astype(float)
        samples = last_k - first_k + 1
        ok = samples >= 2
        sampled = np.maximum((last_k - first_k) * step, 1).astype(float)
        result = last_v - first_v
        to_start = (offset + first_k * step - start).astype(float)
        to_end = (end - (offset + last_k * step)).astype(float)
        average = sampled / np.maximum(samples - 1, 1)
        zero_at = np.where(result > 0, sampled * first_v / np.maximum(result, 1e-12), np.inf)
        to_start = np.minimum(to_start, zero_at)
        threshold = average * 1.1
        extended = sampled.copy()
        extended += np.where(to_start < threshold, to_start, average / 2)
        extended += np.where(to_end < threshold, to_end, average / 2)
        return np.where(ok, result * extended / sampled, 0.0)

    def last_time(self, side: str, at: Ints) -> Ints:
        """The time of the last sample of ``side`` at or before ``at``."""
        step, offset = self.interval, self.offset[side]
        return offset + np.floor((at - offset) / step).astype(np.int64) * step

    def last_value(self, cum: npt.NDArray[np.int32], side: str, at: Ints) -> Floats:
        """``sum(x)`` at ``at``: the last sample at or before it (0 before the first)."""
        step, offset = self.interval, self.offset[side]
        k = np.floor((at - offset) / step).astype(np.int64)
        t = np.clip(offset + k * step, 0, cum.shape[1] - 1)
        return np.where(k >= 0, cum[np.arange(cum.shape[0]), t], 0).astype(float)


def _first_positive_sample(
    cum: npt.NDArray[np.int32], offset: Ints, step: int, first_k: Ints, last_k: Ints
) -> Ints:
    """Per run, the first sample index in ``first_k .. last_k`` whose value is above zero."""
    runs = np.arange(cum.shape[0])
    k = first_k.copy()
    found = np.zeros(cum.shape[0], dtype=bool)
    for _ in range(int(np.max(last_k - first_k, initial=0)) + 1):
        t = np.clip(offset + k * step, 0, cum.shape[1] - 1)
        found |= cum[runs, t] > 0
        k = np.where(found | (k > last_k), k, k + 1)
        if found.all():
            break
    return k
