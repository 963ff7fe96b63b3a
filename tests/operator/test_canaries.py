"""The real ``serinus operator`` process running the seed's Canary against the local API server.

Covers, with Linkerd's built-in metrics read by a real Prometheus from a Linkerd-shaped exporter:
* initialization of the seed's v1alpha3 Canary: the primary Deployment, the apex, ``-canary`` and
  ``-primary`` Services, the TrafficSplit at 100/0, the target scaled to 0, phase Initialized and
  ``kubectl get canary -n prod`` showing STATUS Initialized;
* a new image: phase Progressing, the TrafficSplit following stepWeight 5 up to 100, the seed's
  load-test webhook called on the analysis ticks, the template copied to the primary on promotion,
  traffic back to 100/0, the canary scaled to zero, phase Succeeded;
* a failing success rate on the next image: five failed checks, then the rollback to 100/0, the
  canary scaled to zero, phase Failed with the failed checks back at 0 (Flagger's), the primary
  still on the promoted image;
and, with MetricTemplates queried from a real Prometheus:
* an invalid Canary (stepWeight 500) and one that asks its router for what it cannot do (A/B
  testing of a Linkerd TrafficSplit) next to a valid one: each of the two gets a Promoted
  condition (False, InvalidSpec, naming ``spec.analysis.stepWeight`` or ``spec.analysis.match``)
  and one Warning event, and nothing is created for it, while the valid one initializes and runs
  a release to the end;
and, in this process: the tick of a Canary that is gone (read as nothing) does nothing.

The seed's Canary is used as ``examples/podinfo-canary.yaml`` holds it, with two changes: the
analysis interval is 1 s instead of 10 s (so the 20 steps take seconds), and the load-test
webhook's URL ``http://load-tester.prod/`` (a cluster DNS name) points at a local HTTP server
that answers like the load tester.
"""

from __future__ import annotations

import asyncio
import pathlib

import httpx
import pytest

from serinus.kube import Kube, KubeSettings
from serinus.operator.canaries import Canaries
from serinus.operator.selfmetrics import SelfMetrics
from serinus.operator.settings import OperatorSettings
from serinus.operator.wiring import Wiring
from serinus.sandbox.prometheus import Prometheus
from tests.operator.processes import Operator
from tests.operator.support import (
    CANARY,
    DEPLOYMENT,
    NS,
    SPLIT,
    Cluster,
    History,
    Kubelet,
    canary,
    deployment,
    eventually,
    get,
    image,
    metric_template,
    phase,
    replicas,
    seed_canary,
    set_image,
    split,
    split_weights,
    status,
    wait_phase,
)
from tests.operator.traffic import LinkerdExporter, LoadTester

pytestmark = pytest.mark.slow  # each test starts the operator process

SUCCESS_RATE = (
    'sum(rate(response_total{namespace="prod",deployment=~"podinfo",'
    'classification!="failure",direction="inbound"}[1m]))'
)


async def kubectl(cluster: Cluster, *args: str) -> str:
    """Run the machine's kubectl (asynchronously: the API server lives in this event loop)."""
    process = await asyncio.create_subprocess_exec(
        "kubectl",
        "--kubeconfig",
        str(cluster.kubeconfig),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_the_seeds_canary_initializes_promotes_and_rolls_back(
    k8s: Cluster,
    kubelet: Kubelet,
    linkerd: tuple[LinkerdExporter, Prometheus],
    tmp_path: pathlib.Path,
) -> None:
    exporter, prom = linkerd
    for workload in ("podinfo", "podinfo-primary"):
        exporter.set(workload, failures=0.0)
    kube = k8s.kube
    with LoadTester() as tester:
        manifest = seed_canary()
        manifest["spec"]["canaryAnalysis"]["interval"] = "1s"
        manifest["spec"]["canaryAnalysis"]["webhooks"][0]["url"] = tester.url
        await kube.create(deployment("podinfo", image="stefanprodan/podinfo:2.1.0"))
        await kube.create(manifest)
        log = tmp_path / "operator.log"
        with Operator(k8s.kubeconfig, log, metrics_server=prom.url) as operator:
            # initialization
            await wait_phase(kube, "podinfo", "Initialized")
            assert await image(kube, "podinfo-primary") == "stefanprodan/podinfo:2.1.0"
            for name, selected in [
                ("podinfo", "podinfo-primary"),
                ("podinfo-canary", "podinfo"),
                ("podinfo-primary", "podinfo-primary"),
            ]:
                service = await get(kube, "v1", "Service", name)
                assert service["spec"]["selector"] == {"app": selected}
            assert await split(kube, "podinfo") == (100, 0)
            assert await replicas(kube, "podinfo") == 0
            rows = [
                line.split()
                for line in (await kubectl(k8s, "get", "canary", "-n", NS)).splitlines()
            ]
            assert rows[0][:3] == ["NAME", "STATUS", "WEIGHT"]
            assert rows[1][:3] == ["podinfo", "Initialized", "0"]
            await prom.wait_for_series(SUCCESS_RATE, within=30)

            # a new image: analysis step by step, then promotion
            async with History(kube, *SPLIT, "podinfo", split_weights) as weights:
                await set_image(kube, "podinfo", "stefanprodan/podinfo:2.1.1")
                await wait_phase(kube, "podinfo", "Progressing")
                await wait_phase(kube, "podinfo", "Succeeded", "Failed", within=120)
                await asyncio.sleep(0.2)  # let the watch deliver the last write
            assert await phase(kube, "podinfo") == "Succeeded", operator.tail()
            steps = [(100 - w, w) for w in range(5, 101, 5)]
            assert weights.values == [(100, 0), *steps, (100, 0)]
            assert await image(kube, "podinfo-primary") == "stefanprodan/podinfo:2.1.1"
            assert await replicas(kube, "podinfo") == 0
            hooks = [call for call in tester.calls if call["name"] == "podinfo"]
            assert hooks
            assert hooks[0]["metadata"] == {"cmd": "hey -z 2m -q 10 -c 2 http://podinfo:9898/"}
            assert {call["phase"] for call in hooks} == {"Progressing"}

            # the next image fails: rolled back after five failed checks
            exporter.set("podinfo", failures=0.4)
            await set_image(kube, "podinfo", "stefanprodan/podinfo:2.1.2")
            await wait_phase(kube, "podinfo", "Progressing")
            await wait_phase(kube, "podinfo", "Succeeded", "Failed", within=120)
        assert await phase(kube, "podinfo") == "Failed", operator.tail()
        assert await split(kube, "podinfo") == (100, 0)
        assert await replicas(kube, "podinfo") == 0
        assert await image(kube, "podinfo-primary") == "stefanprodan/podinfo:2.1.1"
        assert (await status(kube, "podinfo"))["failedChecks"] == 0  # Flagger's failed status
        messages = operator.messages()
        assert any(m.startswith("Halt podinfo.prod advancement success rate") for m in messages)
        assert "Rolling back podinfo.prod failed checks threshold reached 5" in messages
        assert "Canary failed! Scaling down podinfo.prod" in messages


async def test_an_invalid_canary_is_reported_while_the_others_run(
    k8s: Cluster, kubelet: Kubelet, prometheus: Prometheus, tmp_path: pathlib.Path
) -> None:
    kube = k8s.kube
    await kube.create(metric_template("success-rate", "vector(99.9)", address=prometheus.url))
    for name in ("good", "bad", "ab"):
        await kube.create(deployment(name))
    await kube.create(canary("good"))
    await kube.create(canary("bad", step_weight=500))
    match = [{"headers": {"x-canary": {"exact": "insider"}}}]
    await kube.create(canary("ab", iterations=3, match=match))  # a TrafficSplit cannot match
    log = tmp_path / "operator.log"
    with Operator(k8s.kubeconfig, log, metrics_server=prometheus.url) as operator:
        await wait_phase(kube, "good", "Initialized")
        condition = await eventually(
            lambda: promoted(kube, "bad"), lambda c: c is not None, what="bad's condition"
        )
        refused = await eventually(
            lambda: promoted(kube, "ab"), lambda c: c is not None, what="ab's condition"
        )
        await set_image(kube, "good", "stefanprodan/podinfo:2.1.1")
        await wait_phase(kube, "good", "Succeeded", within=60)
        assert operator.running()
    assert condition is not None
    assert condition["status"] == "False"
    assert condition["reason"] == "InvalidSpec"
    assert "spec.analysis.stepWeight" in condition["message"]
    assert "500" in condition["message"]
    assert refused is not None
    assert (refused["status"], refused["reason"]) == ("False", "InvalidSpec")
    assert refused["message"].startswith("spec.analysis.match: A/B testing needs a provider")
    events = await kube.list("v1", "Event", NS)
    for name, field in (("bad", "spec.analysis.stepWeight"), ("ab", "spec.analysis.match")):
        about = [e for e in events if e["involvedObject"]["name"] == name]
        assert [e["type"] for e in about] == ["Warning"], name  # once, not every tick
        assert field in about[0]["message"]
        assert await kube.get(*DEPLOYMENT, f"{name}-primary", NS) is None  # nothing acted on it
        assert (await get(kube, *CANARY, name)).get("status", {}).get("phase") is None
    assert await kube.get("v1", "Service", "ab-canary", NS) is None
    assert await image(kube, "good-primary") == "stefanprodan/podinfo:2.1.1"


async def promoted(kube: Kube, name: str) -> dict[str, str] | None:
    found = await status(kube, name)
    conditions = [c for c in found.get("conditions") or [] if c.get("type") == "Promoted"]
    return conditions[0] if conditions else None


async def test_a_tick_of_a_canary_that_is_gone_does_nothing(k8s: Cluster) -> None:
    settings = OperatorSettings(kube=KubeSettings(server=k8s.api.url), mesh_provider="linkerd")
    async with httpx.AsyncClient() as http:
        wiring = Wiring(settings, k8s.kube, http)
        canaries = Canaries(
            kube=k8s.kube,
            wiring=wiring,
            metrics=SelfMetrics(mesh_provider="linkerd"),
            min_interval=1,
        )
        try:
            await canaries.tick(NS, "gone")
        finally:
            await wiring.aclose()
    assert await k8s.kube.list("v1", "Event", NS) == []
    assert await k8s.kube.list(*DEPLOYMENT, NS) == []
