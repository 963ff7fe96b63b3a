"""Issue 10, row 4: with ``revertOnDeletion: true``, deleting the target Deployment and then the
Canary left the Canary Terminating with its finalizer for ever, even across operator restarts.

Through the real operator, twice: once with the operator running throughout, and once with the
operator down while both are deleted (it then finds the Canary Terminating when it starts). In
both cases the Canary is gone soon after (the finalizer was removed), a Warning event and a log
line say what could not be given back (the target is gone), and what serinus created for the
Canary is gone too (the primary, the ``-canary`` and ``-primary`` Services, the TrafficSplit).
A good Canary next to it keeps releasing throughout.
"""

from __future__ import annotations

import pathlib

import pytest

from tests.hostile.cluster import Operated, canary, deployment, operated
from tests.operator.support import CANARY, DEPLOYMENT, NS, SPLIT, eventually

pytestmark = pytest.mark.slow  # starts the operator process

GONE_WITH_THE_CANARY = [
    ("apps/v1", "Deployment", "podinfo-primary"),
    ("v1", "Service", "podinfo-canary"),
    ("v1", "Service", "podinfo-primary"),
    (*SPLIT, "podinfo"),
]


async def _reverting_canary(cluster: Operated) -> None:
    await cluster.kube.create(deployment("podinfo"))
    manifest = canary("podinfo")
    manifest["spec"]["revertOnDeletion"] = True
    await cluster.kube.create(manifest)
    await cluster.wait_phase("podinfo", "Initialized")
    await eventually(
        lambda: cluster.canary("podinfo"),
        lambda found: (
            found is not None and "finalizer.flagger.app" in found["metadata"].get("finalizers", [])
        ),
        what="the revertOnDeletion finalizer",
    )


async def _delete_target_then_canary(cluster: Operated) -> None:
    await cluster.kube.delete(*DEPLOYMENT, "podinfo", NS)
    await cluster.kube.delete(*CANARY, "podinfo", NS)
    found = await cluster.canary("podinfo")
    assert found is None or found["metadata"].get("deletionTimestamp")


async def _finished(cluster: Operated) -> None:
    await eventually(
        lambda: cluster.canary("podinfo"),
        lambda found: found is None,
        what="the deleted Canary (its finalizer removed)",
        within=30,
    )
    warning = await cluster.wait_event("podinfo", "on deletion")
    assert "Could not give back" in warning["message"], warning["message"]
    assert "Deployment prod/podinfo not found" in warning["message"], warning["message"]
    assert "Could not give back" in cluster.log()
    for api_version, kind, name in GONE_WITH_THE_CANARY:
        await eventually(
            lambda api_version=api_version, kind=kind, name=name: cluster.kube.get(
                api_version, kind, name, NS
            ),
            lambda found: found is None,
            what=f"{kind} {name} deleted with the Canary",
        )
    assert "Traceback" not in cluster.log()


async def test_a_canary_whose_target_is_gone_can_still_be_deleted(
    tmp_path: pathlib.Path,
) -> None:
    async with operated(tmp_path) as cluster:
        await cluster.kube.create(deployment("good"))
        await cluster.kube.create(canary("good"))
        await _reverting_canary(cluster)
        await _delete_target_then_canary(cluster)
        await _finished(cluster)
        await cluster.release("good", "stefanprodan/podinfo:2.1.1")


async def test_an_operator_started_after_the_deletion_finishes_it(
    tmp_path: pathlib.Path,
) -> None:
    async with operated(tmp_path) as cluster:
        await _reverting_canary(cluster)
        cluster.operator.kill()
        await _delete_target_then_canary(cluster)
        cluster.operator.start()
        await _finished(cluster)
