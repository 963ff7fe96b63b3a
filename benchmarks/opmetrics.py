"""The operators' own histograms as ``operator_scale.py`` reads them: scraped, summed, differenced.

:func:`scrape` reads every replica's ``/metrics`` and sums, over replicas and label values, tick
durations, tick lateness, garbage-collection pauses, Events dropped, and the histograms of where
a tick's time goes: Kubernetes requests (all verbs), their waits for the rate limiter, metric
queries (all providers) and event loop lag. A window's figures are the difference of two scrapes
(:meth:`Histogram.since`); quantiles are interpolated inside the buckets, as Prometheus'
``histogram_quantile`` does.
"""

from __future__ import annotations

import dataclasses

import httpx

from serinus.operator.selfmetrics import GC_PAUSE_BUCKETS, LATENESS_BUCKETS, WAIT_BUCKETS

BOUNDS = (*LATENESS_BUCKETS, float("inf"))
"""The bounds of the operator's tick lateness histogram, as its /metrics lists them."""
GC_BOUNDS = (*GC_PAUSE_BUCKETS, float("inf"))
"""The bounds of the operator's garbage-collection pause histogram."""
WAIT_BOUNDS = (*WAIT_BUCKETS, float("inf"))
"""The bounds of the request, rate-limit, query and loop-lag histograms."""

TIMINGS = {
    "request": "serinus_kube_request_duration_seconds",
    "wait": "serinus_kube_rate_limiter_wait_seconds",
    "query": "serinus_metric_query_duration_seconds",
    "lag": "serinus_event_loop_lag_seconds",
}
"""Where a tick's time goes: short name -> histogram family."""


def quantile(q: float, buckets: list[float], bounds: tuple[float, ...] = BOUNDS) -> float:
    """The q-quantile of a cumulative histogram (counts per bound of ``bounds``), interpolated."""
    total = buckets[-1]
    if not total:
        return float("nan")
    rank, lower, below = q * total, 0.0, 0.0
    for bound, count in zip(bounds, buckets, strict=True):
        if count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = bound, count
    return lower


@dataclasses.dataclass
class Histogram:
    """One histogram family, summed over replicas and label values."""

    bounds: tuple[float, ...]
    total: float = 0.0
    count: float = 0.0
    buckets: list[float] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self.buckets = self.buckets or [0.0] * len(self.bounds)

    def add(self, line: str) -> None:
        """One exposed line of the family (``_bucket``, ``_sum`` or ``_count``)."""
        name, value = line.split("{", 1)[0].split(" ", 1)[0], float(line.rsplit(" ", 1)[-1])
        if name.endswith("_bucket"):
            bound = float(line.split('le="', 1)[1].split('"', 1)[0])
            self.buckets[self.bounds.index(bound)] += value
        elif name.endswith("_sum"):
            self.total += value
        elif name.endswith("_count"):
            self.count += value

    def since(self, before: Histogram) -> Histogram:
        return Histogram(
            self.bounds,
            self.total - before.total,
            self.count - before.count,
            [b - a for a, b in zip(before.buckets, self.buckets, strict=True)],
        )

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else float("nan")

    def quantile(self, q: float) -> float:
        return quantile(q, self.buckets, self.bounds)


@dataclasses.dataclass
class Scrape:
    duration_sum: float = 0.0
    duration_count: float = 0.0
    lateness: Histogram = dataclasses.field(default_factory=lambda: Histogram(BOUNDS))
    gc: Histogram = dataclasses.field(default_factory=lambda: Histogram(GC_BOUNDS))
    dropped: float = 0.0
    timings: dict[str, Histogram] = dataclasses.field(
        default_factory=lambda: {short: Histogram(WAIT_BOUNDS) for short in TIMINGS}
    )


def scrape(ports: list[int]) -> Scrape:
    """Tick durations (``flagger_canary_duration_seconds``), tick lateness
    (``serinus_tick_lateness_seconds``), garbage-collection pauses of every generation
    (``serinus_gc_pause_seconds``), Events dropped (``serinus_events_dropped_total``) and the
    :data:`TIMINGS` histograms, summed over the replicas."""
    found = Scrape()
    families = {
        "serinus_tick_lateness_seconds": found.lateness,
        "serinus_gc_pause_seconds": found.gc,
        **{family: found.timings[short] for short, family in TIMINGS.items()},
    }
    for port in ports:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=60).text
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            value = line.rsplit(" ", 1)[-1]
            if line.startswith("flagger_canary_duration_seconds_sum"):
                found.duration_sum += float(value)
            elif line.startswith("flagger_canary_duration_seconds_count"):
                found.duration_count += float(value)
            elif line.startswith("serinus_events_dropped_total"):
                found.dropped += float(value)
            else:
                family = line.split("{", 1)[0].split(" ", 1)[0].rsplit("_", 1)[0]
                if family in families:
                    families[family].add(line)
    return found
