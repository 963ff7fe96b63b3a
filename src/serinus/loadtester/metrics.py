"""The load tester's own Prometheus metrics, served on ``/metrics``.

Each app gets its own :class:`prometheus_client.CollectorRegistry`, so two load testers in one
process (tests do this) never share counters, and nothing lands in the global registry that the
operator's self-metrics use. Series:

- ``serinus_loadtester_commands_started_total{type}``, ``..._skipped_total{type}`` (a ``cmd``
  already running for that canary), ``..._failed_total{type}`` (non-zero exit, timeout, or
  killed) and the gauge ``serinus_loadtester_commands_running{type}``;
- ``serinus_loadtester_requests_rejected_total{reason}``: ``bad_request``, ``namespace`` or
  ``command`` (refused by ``--allow-command``);
- from the parsed hey summaries, per canary: ``serinus_loadtester_hey_runs_total``,
  ``serinus_loadtester_hey_failed_runs_total`` (runs where not one request succeeded),
  ``serinus_loadtester_hey_requests_total{code}`` (``code="error"`` for requests that got no
  response), and the last run's ``serinus_loadtester_hey_requests_per_second`` and
  ``serinus_loadtester_hey_latency_seconds{quantile}`` (``quantile="1"`` is the slowest request).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import generate_latest

from serinus.loadtester.hey import HeyReport

CONTENT_TYPE = CONTENT_TYPE_LATEST


class LoadTesterMetrics:
    """Counters and gauges for one load tester app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        prefix = "serinus_loadtester"
        self.started = Counter(
            f"{prefix}_commands_started",
            "Commands started, by task type.",
            ["type"],
            registry=self.registry,
        )
        self.skipped = Counter(
            f"{prefix}_commands_skipped",
            "cmd tasks not started because the same command for the same canary was running.",
            ["type"],
            registry=self.registry,
        )
        self.failed = Counter(
            f"{prefix}_commands_failed",
            "Commands that exited non-zero, timed out or were killed, by task type.",
            ["type"],
            registry=self.registry,
        )
        self.running = Gauge(
            f"{prefix}_commands_running",
            "Commands running now, by task type.",
            ["type"],
            registry=self.registry,
        )
        self.rejected = Counter(
            f"{prefix}_requests_rejected",
            "Requests refused before anything ran, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self._hey_metrics(prefix)

    def _hey_metrics(self, prefix: str) -> None:
        self.hey_runs = Counter(
            f"{prefix}_hey_runs",
            "hey runs whose summary was read.",
            ["canary"],
            registry=self.registry,
        )
        self.hey_failed_runs = Counter(
            f"{prefix}_hey_failed_runs",
            "hey runs in which not one request succeeded (hey itself still exits 0).",
            ["canary"],
            registry=self.registry,
        )
        self.hey_requests = Counter(
            f"{prefix}_hey_requests",
            'Requests made by hey, by response status code ("error": no response).',
            ["canary", "code"],
            registry=self.registry,
        )
        self.hey_rate = Gauge(
            f"{prefix}_hey_requests_per_second",
            "Requests per second of the last hey run.",
            ["canary"],
            registry=self.registry,
        )
        self.hey_latency = Gauge(
            f"{prefix}_hey_latency_seconds",
            'Latency percentiles of the last hey run ("1" is the slowest request).',
            ["canary", "quantile"],
            registry=self.registry,
        )

    def record_hey(self, canary: str, report: HeyReport) -> None:
        """Add one parsed hey run to the series."""
        self.hey_runs.labels(canary=canary).inc()
        if report.all_failed:
            self.hey_failed_runs.labels(canary=canary).inc()
        for code, count in report.status_codes.items():
            self.hey_requests.labels(canary=canary, code=str(code)).inc(count)
        if report.failed_requests:
            self.hey_requests.labels(canary=canary, code="error").inc(report.failed_requests)
        if report.requests_per_second is not None:
            self.hey_rate.labels(canary=canary).set(report.requests_per_second)
        for percent, seconds in report.percentiles.items():
            self.hey_latency.labels(canary=canary, quantile=f"{percent / 100:g}").set(seconds)
        if report.slowest is not None and report.responses:
            self.hey_latency.labels(canary=canary, quantile="1").set(report.slowest)

    def render(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)
