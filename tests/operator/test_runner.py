"""The operator process as a cluster runs it: two replicas with leader election, a flaky API.

Covers:
* two replicas at once (``--enable-leader-election``): the Lease names the first one; the follower
  reports ready but not leading, and sends no write at all to the API server (each replica talks
  through its own recording proxy) while the leader moves the release; SIGKILL on the leader (no
  release of the Lease) hands over to the follower once the Lease expires, and the run goes on
  where it was: the TrafficSplit steps never go back, and the release is promoted;
* an API server that answers 500 or 429 (with Retry-After) to a share of requests, loses the
  answers of some writes it applied, and cuts every watch stream after a few seconds (cleanly or
  by dropping the connection): the operator keeps running, finishes a healthy release
  (Succeeded) and a failing one (Failed) with routes and scales right, and still sees a Canary
  created in the middle of it all; meanwhile its /metrics counts garbage collections, Kubernetes
  requests (GET and PUT) and their rate-limiter waits, Prometheus queries, and event loop lag
  observations that keep coming while it runs.
"""

from __future__ import annotations

import asyncio
import pathlib
import random
import time

import httpx
import pytest

from serinus.kube import Kube
from serinus.sandbox.apiserver import write_kubeconfig
from serinus.sandbox.prometheus import Prometheus
from tests.operator.faults import Faults, FaultyProxy
from tests.operator.processes import Operator
from tests.operator.support import (
    SPLIT,
    Cluster,
    History,
    Kubelet,
    canary,
    deployment,
    eventually,
    image,
    metric_template,
    replicas,
    set_image,
    split,
    split_weights,
    wait_phase,
    wait_status,
)

pytestmark = pytest.mark.slow  # each test starts the operator process

LEASE_NS = "serinus-system"
LEASE = ("coordination.k8s.io/v1", "Lease")


async def holder(kube: Kube) -> str | None:
    lease = await kube.get(*LEASE, "serinus-leader-election", LEASE_NS)
    return None if lease is None else (lease.get("spec") or {}).get("holderIdentity")


async def readyz(operator: Operator) -> dict[str, object]:
    port = await operator.metrics_port()
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{port}/readyz")
    found: dict[str, object] = answer.json()
    return found


async def counted(operator: Operator, series: str) -> float:
    """The value of one series (``name{labels}``, as exposed) of the operator's /metrics."""
    port = await operator.metrics_port()
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    return sum(
        float(line.removeprefix(series).strip())
        for line in text.splitlines()
        if line.startswith(f"{series} ")
    )


async def collections(operator: Operator) -> float:
    """How many young-generation collections the operator's /metrics counts."""
    return await counted(operator, 'serinus_gc_pause_seconds_count{generation="0"}')


def replica(
    directory: pathlib.Path, proxy: FaultyProxy, identity: str, prometheus: Prometheus
) -> Operator:
    kubeconfig = write_kubeconfig(directory / f"kubeconfig-{identity}", proxy.url)
    election = (
        "--enable-leader-election",
        "--leader-election-namespace",
        LEASE_NS,
        "--identity",
        identity,
    )
    return Operator(
        kubeconfig,
        directory / f"operator-{identity}.log",
        metrics_server=prometheus.url,
        extra=election,
    )


async def test_only_the_leader_writes_and_a_killed_leader_hands_over(
    k8s: Cluster, kubelet: Kubelet, prometheus: Prometheus, tmp_path: pathlib.Path
) -> None:
    kube = k8s.kube
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": LEASE_NS}})
    await kube.create(metric_template("success-rate", "vector(99.9)", address=prometheus.url))
    await kube.create(deployment("podinfo"))
    await kube.create(canary("podinfo", step_weight=5, max_weight=50))
    async with FaultyProxy(k8s.api.url) as to_a, FaultyProxy(k8s.api.url) as to_b:
        with replica(tmp_path, to_a, "a", prometheus) as a:
            await eventually(lambda: holder(kube), lambda h: h == "a", what="Lease holder")
            with replica(tmp_path, to_b, "b", prometheus) as b:
                await eventually(
                    lambda: readyz(b), lambda r: r.get("status") == "ready", what="b ready"
                )
                assert (await readyz(b))["leader"] is False
                assert (await readyz(a))["leader"] is True
                await wait_phase(kube, "podinfo", "Initialized")
                async with History(kube, *SPLIT, "podinfo", split_weights) as weights:
                    await set_image(kube, "podinfo", "stefanprodan/podinfo:2.1.1")
                    await wait_status(
                        kube, "podinfo", lambda s: s["canaryWeight"] >= 15, what="canary weight"
                    )
                    # the follower has read the Lease, and written nothing at all
                    assert b.running()
                    assert to_b.writes() == []
                    assert {path for _, path, _ in to_b.requests} - {"/version"} == {
                        f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NS}/leases/"
                        "serinus-leader-election"
                    }
                    assert any("/canaries/podinfo/status" in p for _, p in to_a.writes())

                    killed = time.monotonic()
                    a.kill()
                    await eventually(
                        lambda: holder(kube), lambda h: h == "b", what="Lease holder", within=40
                    )
                    handover = time.monotonic() - killed
                    print(f"handover after SIGKILL: {handover:.1f}s")
                    await wait_phase(kube, "podinfo", "Succeeded", within=60)
                    await asyncio.sleep(0.2)  # let the watch deliver the last write
                assert (await readyz(b))["leader"] is True
    assert handover <= 15  # serinus promises a new leader within 15 s of the old one dying
    steps = [(100 - w, w) for w in range(5, 51, 5)]
    assert weights.values == [(100, 0), *steps, (100, 0)]
    assert any("/canaries/podinfo/status" in path for _, path in to_b.writes())
    assert await image(kube, "podinfo-primary") == "stefanprodan/podinfo:2.1.1"
    assert await replicas(kube, "podinfo") == 0
    assert "leading as b" in b.messages()


async def test_a_flaky_api_server_does_not_stop_the_operator(
    k8s: Cluster, kubelet: Kubelet, prometheus: Prometheus, tmp_path: pathlib.Path
) -> None:
    seed = random.randrange(2**32)
    print(f"fault seed {seed}")
    kube = k8s.kube
    faults = Faults(server_errors=0.1, throttled=0.05, lost_answers=0.1, cut_watches=1.0)
    for name, query in (("good", "vector(99.9)"), ("bad", "vector(50)"), ("late", "vector(99.9)")):
        await kube.create(metric_template(f"{name}-rate", query, address=prometheus.url))
        await kube.create(deployment(name))
    await kube.create(canary("good", template="good-rate"))
    await kube.create(canary("bad", template="bad-rate"))
    async with FaultyProxy(k8s.api.url, faults=faults, seed=seed) as proxy:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig-proxy", proxy.url)
        log = tmp_path / "operator.log"
        with Operator(kubeconfig, log, metrics_server=prometheus.url) as operator:
            for name in ("good", "bad"):
                await wait_phase(kube, name, "Initialized")
                await set_image(kube, name, "stefanprodan/podinfo:2.1.1")
            lag = "serinus_event_loop_lag_seconds_count"
            lagged = await counted(operator, lag)
            await kube.create(canary("late", template="late-rate"))
            for name, final in (("good", "Succeeded"), ("bad", "Failed"), ("late", "Initialized")):
                await wait_phase(kube, name, final, within=90)
            assert operator.running(), operator.tail()
            assert await collections(operator) > 0  # each collection's pause is on /metrics
            request = "serinus_kube_request_duration_seconds_count"
            for verb in ("GET", "PUT"):
                assert await counted(operator, f'{request}{{verb="{verb}"}}') > 0
            assert await counted(operator, "serinus_kube_rate_limiter_wait_seconds_count") > 0
            query = 'serinus_metric_query_duration_seconds_count{provider="prometheus"}'
            assert await counted(operator, query) > 0
            assert await counted(operator, lag) > lagged > 0
    assert all(count > 0 for count in proxy.injected.values()), proxy.injected
    for name in ("good", "bad", "late"):
        assert await split(kube, name) == (100, 0)
        assert await replicas(kube, name) == 0
    assert await image(kube, "good-primary") == "stefanprodan/podinfo:2.1.1"
    assert await image(kube, "bad-primary") == "stefanprodan/podinfo:2.1.0"
    assert await image(kube, "late-primary") == "stefanprodan/podinfo:2.1.0"
