"""The operator's own Prometheus metrics, with Flagger's names so dashboards and alerts keep
working.

``flagger_info``, ``flagger_canary_total``, ``flagger_canary_status`` (0 Progressing, 2 Failed, 1
any other phase), ``flagger_canary_weight`` (per workload: ``<target>-primary`` and ``<target>``),
``flagger_canary_duration_seconds`` (tick duration), ``flagger_canary_metric_analysis`` (each
metric's last value) and ``flagger_canary_successes_total`` / ``flagger_canary_failures_total``;
and serinus's own ``serinus_tick_lateness_seconds``: how late each tick started after its due time
(the promise of the analysis interval, kept or not), and ``serinus_gc_pause_seconds`` (per
generation: how long each garbage collection stopped the process, every tick due meanwhile
included; :mod:`serinus.gcpauses`) and ``serinus_events_dropped_total`` (Kubernetes Events
dropped because the queue of Events waiting to be written was full, :mod:`serinus.kube.eventsink`).
They are recorded from the Canary's status after each tick, so the controller itself knows nothing
of them.

Where a tick's time goes, as client-go's ``rest_client_*`` histograms tell it of Flagger:
``serinus_kube_request_duration_seconds`` (per ``verb``, the HTTP method: each exchange with the
Kubernetes API server, each try of a retried request on its own, after the rate limiter; watches
not included), ``serinus_kube_rate_limiter_wait_seconds`` (each try's wait for the client-side
rate limit, ``--kube-api-qps``; about zero while under it), both told by the client
(:mod:`serinus.kube.timing`, :class:`KubeTimes`); ``serinus_metric_query_duration_seconds``
(per ``provider``, the MetricTemplate's type: each HTTP exchange with a metrics backend, queries
and online checks, :attr:`serinus.metrics.providers.base.ProviderSettings.timed`); and
``serinus_event_loop_lag_seconds`` (how late the event loop ran a timer due every 100 ms: every
tick, answer and timeout due meanwhile waited as long, :mod:`serinus.looplag`).

serinus adds three per Canary, for the alerts in ``deploy/monitoring``:
``serinus_canary_last_tick_timestamp_seconds`` and ``serinus_canary_interval_seconds`` (a Canary
whose last tick is several intervals old is not being ticked: the operator is stuck or gone),
``serinus_canary_deadline_timestamp_seconds`` (when the current run should have ended at the
latest, :func:`serinus.operating.progress.deadline`; 0 when none applies) and
``serinus_canary_paused`` (1 while a person holds the run).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from serinus import __version__
from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase
from serinus.operating import progress

LATENESS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
"""Upper bounds (seconds) of ``serinus_tick_lateness_seconds``; the scale benchmark reads them."""
GC_PAUSE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
"""Upper bounds (seconds) of ``serinus_gc_pause_seconds``; the scale benchmark reads them."""
WAIT_BUCKETS = LATENESS_BUCKETS
"""Upper bounds (seconds) of the request, rate-limit, query and loop-lag histograms: from a
loopback exchange (1 ms) to a timed-out one; the scale benchmark reads them."""
VERBS = ("GET", "PUT", "POST", "PATCH", "DELETE")
"""The methods the client sends (their series are there from the start, at zero)."""


class KubeTimes:
    """The client's request times (:class:`serinus.kube.timing.RequestTimes`) into the two
    histograms; each verb's series is looked up once, not at each request."""

    def __init__(self, requests: Histogram, waits: Histogram) -> None:
        self._requests = requests
        self._verbs = {verb: requests.labels(verb) for verb in VERBS}
        self.rate_limited = waits.observe

    def requested(self, verb: str, seconds: float) -> None:
        series = self._verbs.get(verb)
        if series is None:  # another method: a series of its own, looked up once too
            series = self._verbs[verb] = self._requests.labels(verb)
        series.observe(seconds)


@dataclasses.dataclass(frozen=True)
class _Series:
    """One Canary's series of the per-Canary families (``labels()`` looked up once)."""

    status: Gauge
    duration: Histogram
    last_tick: Gauge
    interval: Gauge
    deadline: Gauge
    paused: Gauge
    target: str
    primary_weight: Gauge
    canary_weight: Gauge


class SelfMetrics:
    """Flagger's self-metrics in a registry of their own."""

    def __init__(self, *, mesh_provider: str) -> None:
        self.mesh_provider = mesh_provider
        self.registry = CollectorRegistry()
        info = Gauge(
            "flagger_info",
            "serinus version and mesh provider",
            ["version", "mesh_provider"],
            registry=self.registry,
        )
        info.labels(__version__, mesh_provider).set(1)
        self.total = Gauge(
            "flagger_canary_total", "Canaries per namespace", ["namespace"], registry=self.registry
        )
        self.status = Gauge(
            "flagger_canary_status",
            "Canary status: 0 progressing, 1 other, 2 failed",
            ["name", "namespace"],
            registry=self.registry,
        )
        self.weight = Gauge(
            "flagger_canary_weight",
            "Traffic weight per workload",
            ["workload", "namespace"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "flagger_canary_duration_seconds",
            "Duration of one canary tick",
            ["name", "namespace"],
            registry=self.registry,
        )
        self.analysis = Gauge(
            "flagger_canary_metric_analysis",
            "Last value of each metric",
            ["name", "namespace", "metric"],
            registry=self.registry,
        )
        self.lateness = Histogram(
            "serinus_tick_lateness_seconds",
            "How late ticks started after their due time (pool, event loop and rate limit)",
            buckets=LATENESS_BUCKETS,
            registry=self.registry,
        )
        self.gc_pauses = Histogram(
            "serinus_gc_pause_seconds",
            "How long each garbage collection stopped the operator",
            ["generation"],
            buckets=GC_PAUSE_BUCKETS,
            registry=self.registry,
        )
        self._timing_families()
        self.events_dropped = Counter(
            "serinus_events_dropped",
            "Kubernetes Events dropped: the queue of Events waiting to be written was full",
            registry=self.registry,
        )
        labels = ["name", "namespace", "deployment_strategy", "analysis_status"]
        self.successes = Counter(
            "flagger_canary_successes", "Promotions", labels, registry=self.registry
        )
        self.failures = Counter(
            "flagger_canary_failures", "Rollbacks", labels, registry=self.registry
        )
        per_canary = ["name", "namespace"]
        self.last_tick = Gauge(
            "serinus_canary_last_tick_timestamp_seconds",
            "When the Canary was last ticked (Unix time)",
            per_canary,
            registry=self.registry,
        )
        self.interval = Gauge(
            "serinus_canary_interval_seconds",
            "Seconds between two ticks of the Canary",
            per_canary,
            registry=self.registry,
        )
        self.deadline = Gauge(
            "serinus_canary_deadline_timestamp_seconds",
            "When the current run should have ended at the latest (Unix time; 0: no deadline)",
            per_canary,
            registry=self.registry,
        )
        self.paused = Gauge(
            "serinus_canary_paused",
            "1 while the run is paused by hand",
            per_canary,
            registry=self.registry,
        )
        self._per_canary = (
            self.status, self.duration, self.last_tick, self.interval, self.deadline, self.paused
        )  # fmt: skip
        self._series: dict[tuple[str, str], _Series] = {}
        self._analysed: dict[tuple[str, str], set[str]] = {}
        """The metric names of each Canary's ``flagger_canary_metric_analysis`` series."""

    def _timing_families(self) -> None:
        """Where a tick's time goes (module docstring)."""
        self.kube = KubeTimes(
            Histogram(
                "serinus_kube_request_duration_seconds",
                "Each request to the Kubernetes API server (each try), after the rate limiter",
                ["verb"],
                buckets=WAIT_BUCKETS,
                registry=self.registry,
            ),
            Histogram(
                "serinus_kube_rate_limiter_wait_seconds",
                "How long each Kubernetes API request (each try) waited for the rate limiter",
                buckets=WAIT_BUCKETS,
                registry=self.registry,
            ),
        )
        self.queries = Histogram(
            "serinus_metric_query_duration_seconds",
            "Each request to a metrics provider (queries and online checks)",
            ["provider"],
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self._providers: dict[str, Histogram] = {}
        self.loop_lag = Histogram(
            "serinus_event_loop_lag_seconds",
            "How late the event loop ran a timer due every 100 ms",
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )

    def queried(self, provider: str, seconds: float) -> None:
        """One exchange with a metrics provider of type ``provider`` (a registry type: bounded)."""
        series = self._providers.get(provider)
        if series is None:
            series = self._providers[provider] = self.queries.labels(provider)
        series.observe(seconds)

    def gc_paused(self, generation: int, seconds: float) -> None:
        self.gc_pauses.labels(str(generation)).observe(seconds)

    def count(self, per_namespace: dict[str, int]) -> None:
        for namespace, count in per_namespace.items():
            self.total.labels(namespace).set(count)

    def forget(self, namespace: str, name: str) -> None:
        """The Canary is gone, or another replica acts on it now: drop its series (its counters
        of runs ended stay), so no two replicas report the same Canary."""
        series = self._series.pop((name, namespace), None)
        for family in self._per_canary:
            with contextlib.suppress(KeyError):
                family.remove(name, namespace)
        if series is not None:
            for workload in (f"{series.target}-primary", series.target):
                with contextlib.suppress(KeyError):
                    self.weight.remove(workload, namespace)
        for metric in self._analysed.pop((name, namespace), ()):
            with contextlib.suppress(KeyError):
                self.analysis.remove(name, namespace, metric)

    def record(
        self,
        canary: Canary,
        *,
        before: CanaryPhase | None,
        seconds: float,
        interval: float | None = None,
    ) -> None:
        """Record one tick of a Canary from the status it left behind."""
        name, namespace = canary.name, canary.namespace
        series = self._series_of(name, namespace, canary.spec.target_ref.name)
        series.last_tick.set(time.time())
        if interval is not None:
            series.interval.set(interval)
        status = canary.status
        if status is None or status.phase is None:
            return
        provider = canary.spec.provider or self.mesh_provider
        deadline = progress.deadline(canary, provider=provider)
        series.deadline.set(deadline.timestamp() if deadline else 0)
        paused = status.control is not None and status.control.paused is not None
        series.paused.set(1 if paused else 0)
        series.duration.observe(seconds)
        value = {CanaryPhase.PROGRESSING: 0, CanaryPhase.FAILED: 2}.get(status.phase, 1)
        series.status.set(value)
        series.primary_weight.set(100 - status.canary_weight)
        series.canary_weight.set(status.canary_weight)
        for metric in status.metrics or []:
            if metric.value is not None:
                self.analysis.labels(name, namespace, metric.name).set(metric.value)
                self._analysed.setdefault((name, namespace), set()).add(metric.name)
        if status.phase is before:
            return
        analysis = canary.spec.effective_analysis
        strategy = analysis.strategy.value if analysis is not None else "canary"
        skipped = "skipped" if canary.spec.skip_analysis or analysis is None else "completed"
        if status.phase is CanaryPhase.SUCCEEDED:
            self.successes.labels(name, namespace, strategy, skipped).inc()
        elif status.phase is CanaryPhase.FAILED:
            self.failures.labels(name, namespace, strategy, skipped).inc()

    def _series_of(self, name: str, namespace: str, target: str) -> _Series:
        """The Canary's series, looked up once (again when its target changes)."""
        series = self._series.get((name, namespace))
        if series is None or series.target != target:
            series = _Series(
                status=self.status.labels(name, namespace),
                duration=self.duration.labels(name, namespace),
                last_tick=self.last_tick.labels(name, namespace),
                interval=self.interval.labels(name, namespace),
                deadline=self.deadline.labels(name, namespace),
                paused=self.paused.labels(name, namespace),
                target=target,
                primary_weight=self.weight.labels(f"{target}-primary", namespace),
                canary_weight=self.weight.labels(target, namespace),
            )
            self._series[(name, namespace)] = series
        return series
