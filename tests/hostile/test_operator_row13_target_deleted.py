"""Issue 10, row 13: with the target Deployment deleted mid-analysis, the Canary stayed
Progressing for 10+ minutes past progressDeadlineSeconds, with an empty message.

Through the real operator: Canary ``podinfo`` (progressDeadlineSeconds 10) is mid-analysis,
held at its first weight by a confirm-traffic-increase gate that opened once and then closed,
when its target Deployment is deleted. Within the deadline (plus a few ticks) the run has
failed: phase Failed, a message and a Warning event naming the missing Deployment, traffic back
on the primary (TrafficSplit 100/0), and the primary still serving with its replicas. A good
Canary next to it releases meanwhile.
"""

from __future__ import annotations

import pathlib
import time

import pytest

from tests.hostile.cluster import canary, deployment, operated
from tests.operator.support import DEPLOYMENT, NS, eventually, set_image, split
from tests.support.receiver import serving

pytestmark = pytest.mark.slow  # starts the operator process

DEADLINE = 10


async def test_a_run_whose_target_was_deleted_fails_within_the_deadline(
    tmp_path: pathlib.Path,
) -> None:
    async with serving() as gate, operated(tmp_path) as cluster:
        gate.answer(200, "open")  # the first step
        gate.always(403, "closed")
        kube = cluster.kube
        manifest = canary("podinfo", step_weight=10)
        manifest["spec"]["progressDeadlineSeconds"] = DEADLINE
        manifest["spec"]["analysis"]["webhooks"] = [
            {"name": "more", "type": "confirm-traffic-increase", "url": gate.url}
        ]
        for name in ("good", "podinfo"):
            await kube.create(deployment(name))
        await kube.create(canary("good"))
        await kube.create(manifest)
        await cluster.wait_phase("podinfo", "Initialized")
        await set_image(kube, "podinfo", "stefanprodan/podinfo:2.1.1")
        await eventually(
            lambda: split(kube, "podinfo"),
            lambda weights: weights == (90, 10),
            what="the first step of the analysis",
        )

        await kube.delete(*DEPLOYMENT, "podinfo", NS)
        deleted = time.monotonic()
        failed = await cluster.wait_phase("podinfo", "Failed", within=DEADLINE + 20)
        assert time.monotonic() - deleted < DEADLINE + 15
        assert "Deployment prod/podinfo" in failed.get("message", ""), failed
        await cluster.wait_event("podinfo", "Deployment prod/podinfo")
        assert await split(kube, "podinfo") == (100, 0)
        primary = await kube.get(*DEPLOYMENT, "podinfo-primary", NS)
        assert primary is not None
        assert primary["spec"]["replicas"] == 2
        await cluster.release("good", "stefanprodan/podinfo:2.1.1")
        assert "Traceback" not in cluster.log()
