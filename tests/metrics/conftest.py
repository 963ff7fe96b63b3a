"""Fixtures of the metrics tests: one real Prometheus per session, local HTTP servers, builders.

The Prometheus is started on backfilled blocks (promtool), so it serves from its first request and
every value is exact at the fixed evaluation time ``prometheus.time``: counters grow at a known rate
with a sample every 10 s, and queries run at the end of the data. Every dataset lives in its own
namespace label value, which is how tests stay apart while sharing one server:

- ``linkerd``: canary 9:1 success:failure per second, primary 99:1; canary latency all in
  (100, 200] ms, primary in (20, 30] ms.
- ``linkerd-flat``: the canary's counters exist but never move (0/0 = NaN).
- ``linkerd-stale``: the canary's series stopped two minutes before the evaluation time.
- ``linkerd-late``: canary and primary at 9:1, the primary's last two scrapes not in yet (its
  newest sample is 20 s before the evaluation time).
- ``istio``: canary 9:1 (200:503), primary 49:1; latency (250, 500] ms and (25, 50] ms; plus
  ``reporter="source"`` series the queries must ignore.
- ``nginx``: canary 8:2 with a mean latency of 250 ms, primary 10:0 at 100 ms.
- ``http``: podinfo-style ``http_request_duration_seconds``: canary 19:1 with latency in
  (0.5, 1] s, primary 10:0 in (0.05, 0.1] s;
- ``contour``, ``gloo``, ``kuma``, ``knative``, ``appmesh``, ``osm``, ``traefik``, ``apisix``,
  ``skipper``: each mesh's own series (:mod:`tests.metrics.meshes`).
"""

from __future__ import annotations

import dataclasses
import datetime
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from tests.metrics import meshes
from tests.support import loopback
from tests.support.prometheus import (
    SPAN,
    OpenMetrics,
    PrometheusServer,
    backfilled,
    data_start,
    free_port,
)

from serinus.apis.canary import Canary
from serinus.controller.memory import VirtualClock

PRIMARY = "podinfo-primary"


def _datasets(data: OpenMetrics) -> None:
    for deployment, ok, failed in (("podinfo", 9, 1), (PRIMARY, 99, 1)):
        for classification, rate in (("success", ok), ("failure", failed)):
            labels = {"namespace": "linkerd", "deployment": deployment, "direction": "inbound"}
            data.counter("response_total", {**labels, "classification": classification}, rate)
    latency = ["10", "20", "30", "50", "100", "200", "500"]
    linkerd = {"namespace": "linkerd", "direction": "inbound"}
    data.histogram("response_latency_ms", {**linkerd, "deployment": "podinfo"}, 10, latency, 5)
    data.histogram("response_latency_ms", {**linkerd, "deployment": PRIMARY}, 100, latency, 2)
    flat = {"namespace": "linkerd-flat", "deployment": "podinfo", "direction": "inbound"}
    data.counter("response_total", {**flat, "classification": "success"}, 0)
    stale = {"namespace": "linkerd-stale", "deployment": "podinfo", "direction": "inbound"}
    data.counter("response_total", {**stale, "classification": "success"}, 5, until=SPAN - 120)
    for deployment, until in (("podinfo", SPAN), (PRIMARY, SPAN - 20)):
        for classification, rate in (("success", 9), ("failure", 1)):
            labels = {"namespace": "linkerd-late", "deployment": deployment, "direction": "inbound"}
            data.counter(
                "response_total", {**labels, "classification": classification}, rate, until=until
            )
    _istio(data)
    _nginx(data)
    _http(data)
    meshes.add(data)


def _istio(data: OpenMetrics) -> None:
    for workload, ok, failed in (("podinfo", 9, 1), (PRIMARY, 49, 1)):
        labels = {"destination_workload_namespace": "istio", "destination_workload": workload}
        for code, rate in (("200", ok), ("503", failed)):
            data.counter(
                "istio_requests_total",
                {"reporter": "destination", **labels, "response_code": code},
                rate,
            )
        data.counter(
            "istio_requests_total", {"reporter": "source", **labels, "response_code": "500"}, 100
        )
    bounds = ["5", "10", "25", "50", "100", "250", "500", "1000"]
    name = "istio_request_duration_milliseconds"
    for workload, slot in (("podinfo", 6), (PRIMARY, 3)):
        labels = {
            "reporter": "destination",
            "destination_workload_namespace": "istio",
            "destination_workload": workload,
        }
        data.histogram(name, labels, 10, bounds, slot)


def _nginx(data: OpenMetrics) -> None:
    canary = {"namespace": "nginx", "ingress": "podinfo", "canary": "nginx-podinfo-canary-9898"}
    primary = {"namespace": "nginx", "ingress": "podinfo"}
    data.counter("nginx_ingress_controller_requests", {**canary, "status": "200"}, 8)
    data.counter("nginx_ingress_controller_requests", {**canary, "status": "500"}, 2)
    data.counter("nginx_ingress_controller_requests", {**primary, "status": "200"}, 10)
    name = "nginx_ingress_controller_response_duration_seconds"
    for labels, seconds in ((canary, 0.25), (primary, 0.1)):
        data.counter(f"{name}_count", labels, 10)
        data.counter(f"{name}_sum", labels, 10 * seconds)
    bounds = ["0.1", "0.25", "0.5", "1"]
    data.histogram(name, canary, 10, bounds, 1)
    data.histogram(name, primary, 10, bounds, 0)


def _http(data: OpenMetrics) -> None:
    pods = {"podinfo": "podinfo-7d9c8f5b4-x2k9q", PRIMARY: "podinfo-primary-6b8d9c7f5-q7w2z"}
    name = "http_request_duration_seconds"
    bounds = ["0.05", "0.1", "0.5", "1", "5"]
    for deployment, ok, failed, slot in (("podinfo", 19, 1, 3), (PRIMARY, 10, 0, 1)):
        labels = {"kubernetes_namespace": "http", "kubernetes_pod_name": pods[deployment]}
        data.counter(f"{name}_count", {**labels, "status": "200"}, ok)
        data.counter(f"{name}_count", {**labels, "status": "500"}, failed)
        data.histogram(name, labels, ok + failed, bounds, slot)


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A real Prometheus on backfilled blocks; stopped (SIGTERM) at the end of the session."""
    data = OpenMetrics(data_start())
    _datasets(data)
    with backfilled(tmp_path_factory.mktemp("prometheus"), data) as server:
        yield server


@pytest.fixture
def clock_at() -> Callable[[float], VirtualClock]:
    """Clocks stopped at a given epoch second."""
    return lambda at: VirtualClock(datetime.datetime.fromtimestamp(at, tz=datetime.UTC))


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    return free_port()


@dataclasses.dataclass
class Recorded:
    """One request a local server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Recorded], web.StreamResponse | Awaitable[web.StreamResponse]]


@dataclasses.dataclass
class LocalServer:
    address: str
    requests: list[Recorded]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[LocalServer]]]:
    """Start local HTTP servers that answer with ``handler`` and record every request."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> LocalServer:
        requests: list[Recorded] = []

        async def record(request: web.Request) -> web.StreamResponse:
            seen = Recorded(
                request.method,
                request.path,
                dict(request.query),
                dict(request.headers),
                await request.read(),
            )
            requests.append(seen)
            answer = handler(seen)
            return await answer if inspect.isawaitable(answer) else answer

        runner, url = await loopback.start(loopback.handling(record))
        runners.append(runner)
        return LocalServer(url, requests)

    yield start
    for runner in runners:
        await runner.cleanup()


def canary_of(namespace: str, metrics: list[dict[str, Any]], **spec: Any) -> Canary:
    """A Canary of the Deployment podinfo in ``namespace`` with these metrics."""
    return Canary.model_validate(
        {
            "metadata": {"name": "podinfo", "namespace": namespace},
            "spec": {
                "targetRef": {"kind": "Deployment", "name": "podinfo"},
                "service": {"port": 9898},
                "analysis": {"interval": "1m", "stepWeight": 10, "metrics": metrics},
                **spec,
            },
        }
    )


@pytest.fixture
def make_canary() -> Callable[..., Canary]:
    return canary_of
