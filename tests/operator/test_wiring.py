"""The operator's wiring of its Events and of its metric queries' times.

Covers: Events recorded through the world's sink return while the API server holds the first
write; beyond the queue's 1,000 the next one is dropped and ``serinus_events_dropped_total``
counts it; closing the wiring (what a graceful stop of the operator does after its last ticks)
writes what is queued before it returns. The API server sits behind a proxy that holds the first
Event POST until the test releases it. A Canary's metric checked through the wiring (its
MetricTemplate's Prometheus a local HTTP server) shows in
``serinus_metric_query_duration_seconds{provider="prometheus"}``, and the client's requests (the
template read, with the operator's client as the runner builds it) in
``serinus_kube_request_duration_seconds{verb="GET"}``.
"""

from __future__ import annotations

import asyncio

import httpx
from aiohttp import web
from prometheus_client import generate_latest

from serinus.kube import Kube, KubeSettings, KubeStatusStore
from serinus.kube.eventsink import CAPACITY
from serinus.operator.selfmetrics import SelfMetrics
from serinus.operator.settings import OperatorSettings
from serinus.operator.wiring import Wiring
from tests.kube.support import FaultProxy
from tests.operator.support import NS, Cluster, canary, metric_template
from tests.support import loopback


async def test_closing_writes_the_queued_events_and_counts_the_dropped(k8s: Cluster) -> None:
    await k8s.kube.create(canary("podinfo"))
    settings = OperatorSettings(kube=KubeSettings(server=k8s.api.url), mesh_provider="linkerd")
    metrics = SelfMetrics(mesh_provider="linkerd")
    released = asyncio.Event()

    async def hold() -> None:
        await released.wait()

    async with (
        FaultProxy(k8s.api.url) as proxy,
        Kube(KubeSettings.for_server(proxy.url, namespace=NS)) as kube,
        httpx.AsyncClient() as http,
    ):
        stored = await KubeStatusStore(kube).get(NS, "podinfo")
        assert stored is not None
        wiring = Wiring(settings, kube, http, metrics=metrics)
        events = wiring.world(stored).events
        proxy.before("POST", "/events", hold)

        async def records() -> None:
            for step in range(CAPACITY + 1):
                await events.record(stored, event_type="Normal", message=f"Advance {step}")

        recording = asyncio.create_task(records())
        try:
            await proxy.wait_seen("POST", "/events")
            assert recording.done()  # queued, none waited for the held write
            assert b"serinus_events_dropped_total 1.0" in generate_latest(metrics.registry)
            closing = asyncio.create_task(wiring.aclose())  # begins while the write is held
        finally:
            released.set()
        await closing  # the client closes right after: what is written was written by now
    found = await k8s.kube.list("v1", "Event", NS)
    # client-go's budget: 25 writes about one object at once; the rest are counted on them
    messages = sorted(e["message"] for e in found)
    assert len(proxy.seen("POST", "/events")) + len(proxy.seen("PATCH", "/events/")) == 25
    assert messages[0] == "(combined from similar events): Advance 24"
    assert "Advance 0" in messages


async def test_metric_queries_and_kube_requests_show_in_their_histograms(k8s: Cluster) -> None:
    async def prometheus(request: web.Request) -> web.Response:
        assert request.query["query"] == "vector(1)"  # the online check
        result = [{"metric": {}, "value": [0, "1"]}]
        return web.json_response(
            {"status": "success", "data": {"resultType": "vector", "result": result}}
        )

    settings = OperatorSettings(kube=KubeSettings(server=k8s.api.url), mesh_provider="linkerd")
    metrics = SelfMetrics(mesh_provider="linkerd")
    async with loopback.serving(loopback.handling(prometheus)) as address:
        await k8s.kube.create(metric_template("success-rate", "vector(1)", address=address))
        await k8s.kube.create(canary("podinfo"))
        async with (
            Kube(KubeSettings.for_server(k8s.api.url, namespace=NS), times=metrics.kube) as kube,
            httpx.AsyncClient() as http,
        ):
            stored = await KubeStatusStore(kube).get(NS, "podinfo")
            assert stored is not None
            wiring = Wiring(settings, kube, http, metrics=metrics)
            await wiring.metrics.check_online(stored)
            await wiring.aclose()

    def count(family: str, **labels: str) -> float:
        return metrics.registry.get_sample_value(f"{family}_count", labels) or 0.0

    assert count("serinus_metric_query_duration_seconds", provider="prometheus") == 1
    assert count("serinus_kube_request_duration_seconds", verb="GET") >= 2  # Canary, template
    assert count("serinus_kube_request_duration_seconds", verb="PUT") == 0
