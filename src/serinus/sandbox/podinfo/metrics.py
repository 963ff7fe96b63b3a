"""podinfo's own Prometheus series and the rule that names a route in the ``path`` label.

podinfo exports ``http_request_duration_seconds{method,path,status}`` (client_golang's default
buckets) and ``http_requests_total{status}``, plus process metrics. ``path`` is the route's name
when it has one (``status``, ``delay``), else its template with every run of non-alphanumeric
characters turned into ``_``, trimmed and lowercased, ``root`` when nothing is left: so
``/status/500`` counts as ``status`` and ``/api/info`` as ``api_info``, and dashboards built on
podinfo keep working. Only matched routes are counted, as with podinfo's mux middleware.

Each app gets its own registry, so several apps in one test process do not share counters.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

import prometheus_client
from aiohttp import web

CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def path_label(route_name: str | None, template: str) -> str:
    """The ``path`` label of a route: its name, else its sanitised template."""
    if route_name:
        return route_name
    cleaned = re.sub(r"[^a-zA-Z0-9]+", "_", template).strip("_").lower()
    return cleaned or "root"


class Metrics:
    """The series of one app and the middleware that fills them."""

    def __init__(self) -> None:
        self.registry = prometheus_client.CollectorRegistry()
        self.duration = prometheus_client.Histogram(
            "http_request_duration_seconds",
            "Seconds spent serving HTTP requests.",
            ["method", "path", "status"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.requests = prometheus_client.Counter(
            "http_requests_total",
            "The total number of HTTP requests.",
            ["status"],
            registry=self.registry,
        )
        prometheus_client.ProcessCollector(registry=self.registry)

    def exposition(self) -> bytes:
        return prometheus_client.generate_latest(self.registry)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route
        resource = route.resource
        if resource is None or request.match_info.http_exception is not None:
            return await handler(request)
        label = path_label(resource.name, resource.canonical)
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as error:
            status = error.status
            raise
        finally:
            elapsed = time.perf_counter() - started
            self.duration.labels(request.method, label, str(status)).observe(elapsed)
            self.requests.labels(str(status)).inc()
