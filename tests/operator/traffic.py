"""What Linkerd and the load tester would be in a cluster: real HTTP servers the test controls.

:class:`LinkerdExporter` serves Linkerd's proxy metrics in Prometheus text, as a real Prometheus
scrapes them from the meshed pods: ``response_total`` (``namespace``, ``deployment``,
``direction="inbound"``, ``classification`` success|failure, ``status_code``) and the
``response_latency_ms`` histogram, for each workload the test names. Each workload serves a steady
request rate; the test sets its share of failures and its latency at any moment
(:meth:`LinkerdExporter.set`), and the counters grow from then on with the new shape, exactly as
the proxy's would. So the operator runs Linkerd's real PromQL against a real Prometheus.

:class:`LoadTester` stands in for the seed's ``http://load-tester.prod/``: it answers every
webhook call with 200 and keeps the payloads, so a test can show the hook was called.

Both are threaded ``http.server`` servers, so they keep serving between tests while a module's
shared Prometheus scrapes them.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import threading
import time
from typing import Any

BUCKETS = (10, 50, 100, 250, 500, 1000, 2500, 5000)


@dataclasses.dataclass
class _Workload:
    rps: float
    failures: float = 0.0
    latency_ms: float = 240.0
    success: float = 0.0
    failure: float = 0.0
    buckets: dict[float, float] = dataclasses.field(default_factory=dict)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class _Background:
    """A threaded HTTP server on a free loopback port."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def __enter__(self) -> Any:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class LinkerdExporter(_Background):
    """Linkerd-shaped proxy metrics for workloads of one namespace."""

    def __init__(self, namespace: str, workloads: dict[str, float]) -> None:
        """``workloads`` maps a deployment name to its requests per second."""
        super().__init__(_MetricsHandler)
        self.namespace = namespace
        self._lock = threading.Lock()
        self._at = time.monotonic()
        self._workloads = {name: _Workload(rps) for name, rps in workloads.items()}

    def set(self, deployment: str, *, failures: float, latency_ms: float = 240.0) -> None:
        """From now on, ``failures`` of the deployment's requests fail, in ``latency_ms``."""
        with self._lock:
            self._advance()
            workload = self._workloads[deployment]
            workload.failures, workload.latency_ms = failures, latency_ms

    def _advance(self) -> None:
        now = time.monotonic()
        elapsed, self._at = now - self._at, now
        for workload in self._workloads.values():
            count = workload.rps * elapsed
            workload.failure += count * workload.failures
            workload.success += count * (1 - workload.failures)
            for bound in (*BUCKETS, float("inf")):
                if workload.latency_ms <= bound:
                    workload.buckets[bound] = workload.buckets.get(bound, 0.0) + count

    def text(self) -> str:
        with self._lock:
            self._advance()
            lines = ["# TYPE response_total counter", "# TYPE response_latency_ms histogram"]
            for name, workload in self._workloads.items():
                base = f'namespace="{self.namespace}",deployment="{name}",direction="inbound"'
                lines.append(
                    f'response_total{{{base},classification="success",status_code="200"}} '
                    f"{workload.success:.3f}"
                )
                lines.append(
                    f'response_total{{{base},classification="failure",status_code="500"}} '
                    f"{workload.failure:.3f}"
                )
                total = 0.0
                for bound in (*BUCKETS, float("inf")):
                    total = workload.buckets.get(bound, 0.0)
                    le = "+Inf" if bound == float("inf") else f"{bound:g}"
                    lines.append(f'response_latency_ms_bucket{{{base},le="{le}"}} {total:.3f}')
                lines.append(f"response_latency_ms_count{{{base}}} {total:.3f}")
            return "\n".join(lines) + "\n"


class _MetricsHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        exporter: LinkerdExporter = self.server.owner  # type: ignore[attr-defined]
        body = exporter.text().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LoadTester(_Background):
    """Answers webhook calls with 200 and keeps their JSON payloads."""

    def __init__(self) -> None:
        super().__init__(_HookHandler)
        self.calls: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://{self.address}/"


class _HookHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        tester: LoadTester = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        tester.calls.append(json.loads(self.rfile.read(length) or b"{}"))
        body = b'{"message": "command queued"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass
