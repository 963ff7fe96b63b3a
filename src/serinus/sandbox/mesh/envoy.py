"""Envoy's upstream cluster statistics, for requests an ingress rule routed (Contour's HTTPProxy).

Flagger's contour queries read two families of Envoy's Prometheus statistics, per upstream
cluster:

* ``envoy_cluster_upstream_rq`` (counter): requests answered, by ``envoy_response_code``;
* ``envoy_cluster_upstream_rq_time`` (histogram, milliseconds, Envoy's default bounds).

Both are labelled ``envoy_cluster_name``, which Contour writes ``<namespace>_<service>_<port>``
(``prod_podinfo-canary_9898``). Envoy exports them in the Prometheus text format with counters
typed ``counter`` but named without ``_total``, so this module writes that text itself rather than
through ``prometheus_client``, which would add the suffix. A request that got no response is
counted with code 503, as Envoy answers it (upstream connect failure). Latency is the time to the
first byte of the response.
"""

from __future__ import annotations

import dataclasses
import threading

BUCKETS_MS: tuple[float, ...] = (
    *(0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000),
    *(300000, 600000, 1800000, 3600000),
)
"""Envoy's default histogram bounds, in milliseconds; ``+Inf`` follows."""


def cluster_name(namespace: str, service: str, port: int) -> str:
    """Contour's name of the Envoy cluster of a Service port."""
    return f"{namespace}_{service}_{port}"


@dataclasses.dataclass
class _Histogram:
    counts: list[int] = dataclasses.field(default_factory=lambda: [0] * (len(BUCKETS_MS) + 1))
    total: float = 0.0

    def observe(self, value: float) -> None:
        index = next((i for i, b in enumerate(BUCKETS_MS) if value <= b), len(BUCKETS_MS))
        self.counts[index] += 1
        self.total += value


class EnvoyStats:
    """The cluster statistics of the ingress rules one mesh proxy served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str], int] = {}
        self._latency: dict[str, _Histogram] = {}

    def response(self, cluster: str, *, status: int | None, latency_ms: float | None) -> None:
        """Count one upstream request of ``cluster`` (``status`` None: no response came)."""
        code = "503" if status is None else str(status)
        with self._lock:
            self._requests[(cluster, code)] = self._requests.get((cluster, code), 0) + 1
            if latency_ms is not None:
                self._latency.setdefault(cluster, _Histogram()).observe(latency_ms)

    def exposition(self) -> str:
        """The statistics in Envoy's Prometheus text (empty when nothing was routed)."""
        with self._lock:
            requests = sorted(self._requests.items())
            latency = sorted(self._latency.items())
        if not requests and not latency:
            return ""
        lines = ["# TYPE envoy_cluster_upstream_rq counter"]
        for (cluster, code), count in requests:
            labels = f'envoy_response_code="{code}",envoy_cluster_name="{cluster}"'
            lines.append(f"envoy_cluster_upstream_rq{{{labels}}} {count}")
        lines.append("# TYPE envoy_cluster_upstream_rq_time histogram")
        for cluster, histogram in latency:
            running = 0
            for bound, count in zip([*BUCKETS_MS, None], histogram.counts, strict=True):
                running += count
                le = "+Inf" if bound is None else f"{bound:g}"
                labels = f'envoy_cluster_name="{cluster}",le="{le}"'
                lines.append(f"envoy_cluster_upstream_rq_time_bucket{{{labels}}} {running}")
            name = f'envoy_cluster_name="{cluster}"'
            lines.append(f"envoy_cluster_upstream_rq_time_sum{{{name}}} {histogram.total:g}")
            lines.append(f"envoy_cluster_upstream_rq_time_count{{{name}}} {running}")
        return "\n".join(lines) + "\n"
