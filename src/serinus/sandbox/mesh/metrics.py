"""The Linkerd proxy's HTTP metrics, as the mesh proxy exports them on ``/metrics``.

Flagger's Linkerd queries (and the Gateway API MetricTemplates of its tutorials) read three
families that the real proxy exports on the inbound side of the destination pod; this module keeps
them with Linkerd's names, labels and units:

* ``request_total`` (counter): endpoint labels;
* ``response_total`` (counter): endpoint labels, ``status_code``, ``classification``
  (``failure`` for 5xx or no response, else ``success``), ``grpc_status``, ``error``;
* ``response_latency_ms`` (histogram in whole milliseconds, Linkerd's 26 buckets from 1 to 50000
  and ``+Inf``, ``le`` written as integers): endpoint labels and ``status_code``. Latency is the
  time to the first byte of the response.

Endpoint labels are Linkerd's inbound ones (``direction="inbound"``, ``authority``,
``target_addr``/``target_ip``/``target_port``, ``tls="true"``, default server and route policy)
plus the labels linkerd-viz's Prometheus adds from the pod (``namespace``, ``deployment`` or
``statefulset``, ``pod``); the scrape config must keep them (``honor_labels: true``). A response
that never came (connection refused or reset, timeout) has an empty ``status_code``, which
Prometheus drops, and ``error`` says why, as in Linkerd; empty ``grpc_status``/``error`` (and
the ``deployment`` of a StatefulSet's pod, the ``statefulset`` of a Deployment's) vanish the same
way.

Each proxy owns a :class:`ProxyMetrics` with its own ``CollectorRegistry``, so two proxies in one
process (tests) never share series, and no ``*_created`` series are exported (Linkerd has none).
Requests an ingress rule routed (Contour's HTTPProxy) are also counted in Envoy's cluster
statistics (:attr:`ProxyMetrics.envoy`, :mod:`serinus.sandbox.mesh.envoy`), exported on the same
``/metrics``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from serinus.sandbox.mesh.envoy import EnvoyStats
from serinus.sandbox.mesh.workloads import Endpoint

LATENCY_BUCKETS_MS: tuple[int, ...] = (
    *(1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500),
    *(1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000),
)
"""Linkerd's latency bucket bounds in ms; ``+Inf`` follows."""

ENDPOINT_LABELS = (
    "direction",
    "authority",
    "target_addr",
    "target_ip",
    "target_port",
    "tls",
    "srv_kind",
    "srv_name",
    "route_kind",
    "route_name",
    "namespace",
    "deployment",
    "statefulset",
    "pod",
)
RESPONSE_LABELS = (*ENDPOINT_LABELS, "status_code", "classification", "grpc_status", "error")
LATENCY_LABELS = (*ENDPOINT_LABELS, "status_code")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[str, ...]


def inbound_labels(endpoint: Endpoint, authority: str) -> Labels:
    """The endpoint label values of a request served by ``endpoint``, in ENDPOINT_LABELS order."""
    return (
        "inbound",
        authority,
        endpoint.address,
        endpoint.ip,
        str(endpoint.port),
        "true",
        "default",
        "all-unauthenticated",
        "default",
        "default",
        endpoint.namespace,
        endpoint.deployment,
        endpoint.statefulset,
        endpoint.pod,
    )


def classify(status: int | None) -> str:
    """Linkerd's HTTP classification: failure for 5xx and for no response at all."""
    return "failure" if status is None or 500 <= status <= 599 else "success"


@dataclasses.dataclass
class _Histogram:
    counts: list[int] = dataclasses.field(
        default_factory=lambda: [0] * (len(LATENCY_BUCKETS_MS) + 1)
    )
    total: int = 0

    def observe(self, value: int) -> None:
        index = next(
            (i for i, bound in enumerate(LATENCY_BUCKETS_MS) if value <= bound),
            len(LATENCY_BUCKETS_MS),
        )
        self.counts[index] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, float]]:
        bounds = [str(bound) for bound in LATENCY_BUCKETS_MS] + ["+Inf"]
        running, buckets = 0, []
        for bound, count in zip(bounds, self.counts, strict=True):
            running += count
            buckets.append((bound, float(running)))
        return buckets


class ProxyMetrics(Collector):
    """The counters and histograms of one mesh proxy, exported in Prometheus text format."""

    def __init__(self) -> None:
        self._requests: dict[Labels, int] = {}
        self._responses: dict[Labels, int] = {}
        self._latency: dict[Labels, _Histogram] = {}
        self.envoy = EnvoyStats()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def request(self, labels: Labels) -> None:
        """Count a request forwarded to the endpoint ``labels`` describe."""
        self._requests[labels] = self._requests.get(labels, 0) + 1

    def response(
        self, labels: Labels, *, status: int | None, latency_ms: int | None, error: str = ""
    ) -> None:
        """Count a finished response (``status`` None: none came) and its time to first byte."""
        code = "" if status is None else str(status)
        key = (*labels, code, classify(status) if not error else "failure", "", error)
        self._responses[key] = self._responses.get(key, 0) + 1
        if latency_ms is not None:
            histogram = self._latency.setdefault((*labels, code), _Histogram())
            histogram.observe(latency_ms)

    def exposition(self) -> bytes:
        """The ``/metrics`` body (see :data:`CONTENT_TYPE`): Linkerd's, then Envoy's."""
        return generate_latest(self.registry) + self.envoy.exposition().encode()

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "request", "Total count of HTTP requests.", labels=ENDPOINT_LABELS
        )
        for labels, value in self._requests.items():
            requests.add_metric(labels, value)
        yield requests
        responses = CounterMetricFamily(
            "response", "Total count of HTTP responses.", labels=RESPONSE_LABELS
        )
        for labels, value in self._responses.items():
            responses.add_metric(labels, value)
        yield responses
        latency = HistogramMetricFamily(
            "response_latency_ms",
            "Elapsed times between a request's headers being received and its response stream "
            "completing",
            labels=LATENCY_LABELS,
        )
        for labels, histogram in self._latency.items():
            latency.add_metric(labels, histogram.cumulative(), float(histogram.total))
        yield latency
