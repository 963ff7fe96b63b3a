"""What the operator asks of the API server during a release, read from the server's request log.

Covers, for one Canary released in five weight steps by the operator's Canaries in this process
(informer caches on, as ``serinus operator`` runs): the Canaries are watched once (the watch that
schedules the ticks also keeps the cache the ticks read from, where there used to be two); the
run history ConfigMap is written when the run starts and at each new phase, not on every weight
step, each write one request (no read during the run), and still holds every step once the run
is over; the operator's ConfigMap informer never holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import pathlib

import httpx
import pytest

from serinus.kube import Kube, KubeSettings
from serinus.kube.history import HistoryStore
from serinus.operator.canaries import Canaries
from serinus.operator.history import HistoryRecorder
from serinus.operator.selfmetrics import SelfMetrics
from serinus.operator.settings import OperatorSettings
from serinus.operator.wiring import Wiring
from tests.operator.support import (
    NS,
    Kubelet,
    canary,
    cluster,
    deployment,
    set_image,
    wait_phase,
)

pytestmark = pytest.mark.slow  # a release at 1 s ticks
AGENT = "serinus/test (requests)"
WRITES = ("POST", "PUT", "PATCH")


async def test_one_canary_watch_and_the_history_written_per_phase_not_per_step(
    tmp_path: pathlib.Path,
) -> None:
    async with cluster(tmp_path, record=True) as k8s, Kubelet(k8s.kube):
        await k8s.kube.create(deployment())
        await k8s.kube.create(canary("podinfo", step_weight=10, max_weight=50, metrics=[]))
        settings = OperatorSettings(kube=KubeSettings(server=k8s.api.url), mesh_provider="linkerd")
        client = dataclasses.replace(
            KubeSettings.for_server(k8s.api.url, namespace=NS), user_agent=AGENT
        )
        async with Kube(client) as kube, httpx.AsyncClient() as http:
            kube.enable_cache((NS,))
            wiring = Wiring(settings, kube, http)
            canaries = Canaries(
                kube=kube,
                wiring=wiring,
                metrics=SelfMetrics(mesh_provider="linkerd"),
                min_interval=1,
                history=HistoryRecorder(HistoryStore(kube), clock=wiring.clock),
            )
            follow = asyncio.create_task(canaries.follow(NS))
            try:
                await wait_phase(k8s.kube, "podinfo", "Initialized")
                await set_image(k8s.kube, "podinfo", "stefanprodan/podinfo:2.1.1")
                await wait_phase(k8s.kube, "podinfo", "Succeeded")
                assert kube.cache is not None
                informer = kube.cache.informer("v1", "ConfigMap", True, NS, start=False)
                held = {name for _, name in informer.objects} if informer is not None else set()
            finally:
                follow.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follow
                await canaries.scheduler.stop()
                await wiring.aclose()
        history = await HistoryStore(k8s.kube).read(NS, "podinfo")
    mine = [r for r in k8s.api.requests if r.user_agent == AGENT]
    watches = [r for r in mine if r.path.endswith("/canaries") and "watch=" in r.query]
    assert len(watches) == 1
    histories = [
        r
        for r in mine
        if r.method in WRITES
        and (r.path.endswith("-serinus-history") or r.path.endswith("/configmaps"))
    ]
    # the run's start, then Promoting, Finalising and Succeeded: five steps, four writes
    assert 1 <= len(histories) <= 4, [(r.method, r.path) for r in histories]
    # read at the phase changes before the run (from the API server: not held in the cache),
    # then during the run each write is one request, no read
    exchanges = [
        (r.method, r.status)
        for r in mine
        if r.path.endswith("-serinus-history")
        or (r.path.endswith("/configmaps") and r.method == "POST")
    ]
    first = next(i for i, (method, _) in enumerate(exchanges) if method != "GET")
    assert exchanges[first:] == [("POST", 201)] + [("PUT", 200)] * (len(exchanges) - first - 1)
    assert "podinfo-serinus-history" not in held
    assert history is not None
    steps = [p.weight for p in history.runs[-1].points if p.phase == "Progressing"]
    assert sorted(set(steps) - {0}) == [10, 20, 30, 40, 50]
