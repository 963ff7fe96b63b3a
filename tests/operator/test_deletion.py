"""Deleting a Canary with ``revertOnDeletion`` (issue 10, row 4), against the real API server.

Covers: the target and the routes are given back and the finalizer removed; a target that is
gone is said in a Warning event, and the finalizer is removed anyway; an error that may pass
leaves the finalizer for the next tick, until progressDeadlineSeconds after the deletion, when
it is said and the finalizer removed; a Canary that may not touch its target gives nothing back
and lets go.
"""

from __future__ import annotations

import datetime

from serinus.apis.canary import Canary
from serinus.controller.memory import MemoryWorld
from serinus.errors import ServerError
from serinus.kube import KubeStatusStore
from serinus.operator import deletion
from tests.operator.support import CANARY, NS, Cluster, canary


async def _deleted(k8s: Cluster) -> Canary:
    manifest = canary("podinfo")
    manifest["metadata"]["finalizers"] = ["finalizer.flagger.app"]
    manifest["spec"]["progressDeadlineSeconds"] = 60
    await k8s.kube.create(manifest)
    await k8s.kube.delete(*CANARY, "podinfo", NS)
    found = await KubeStatusStore(k8s.kube).get(NS, "podinfo")
    assert found is not None
    assert found.metadata.deletion_timestamp is not None
    return found


def _after(found: Canary, seconds: float) -> datetime.datetime:
    stamp = str(found.metadata.deletion_timestamp).replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(stamp) + datetime.timedelta(seconds=seconds)


async def test_what_can_be_given_back_is_and_the_canary_goes(k8s: Cluster) -> None:
    found = await _deleted(k8s)
    world = MemoryWorld.for_canary(found)
    world.target.canary_replicas = 0
    done = await deletion.finalize(k8s.kube, world.ports, found, refusals=[], now=_after(found, 1))
    assert done
    assert world.target.canary_replicas == world.target.replicas
    assert await k8s.kube.get(*CANARY, "podinfo", NS) is None
    assert world.events.events == []


async def test_a_target_that_is_gone_is_said_and_the_canary_goes(k8s: Cluster) -> None:
    found = await _deleted(k8s)
    world = MemoryWorld.for_canary(found)
    world.target.exists = False
    assert await deletion.finalize(k8s.kube, world.ports, found, refusals=[], now=_after(found, 1))
    assert await k8s.kube.get(*CANARY, "podinfo", NS) is None
    [event] = world.events.events
    assert event.event_type == "Warning"
    assert event.message == (
        "Could not give back everything of podinfo.prod on deletion, removing the finalizer "
        "anyway: the target: Deployment prod/podinfo not found"
    )


async def test_an_error_that_may_pass_is_retried_until_the_deadline(k8s: Cluster) -> None:
    found = await _deleted(k8s)
    world = MemoryWorld.for_canary(found)

    async def busy(canary: Canary) -> None:
        raise ServerError("update Deployment prod/podinfo: etcdserver: leader changed (500)")

    world.target.finalize = busy  # type: ignore[method-assign]
    assert not await deletion.finalize(
        k8s.kube, world.ports, found, refusals=[], now=_after(found, 30)
    )
    assert await k8s.kube.get(*CANARY, "podinfo", NS) is not None
    assert world.events.events == []
    assert await deletion.finalize(k8s.kube, world.ports, found, refusals=[], now=_after(found, 61))
    assert await k8s.kube.get(*CANARY, "podinfo", NS) is None
    [event] = world.events.events
    assert "the target: update Deployment prod/podinfo: etcdserver: leader changed" in (
        event.message
    )


async def test_a_canary_on_someone_elses_workload_gives_nothing_back(k8s: Cluster) -> None:
    found = await _deleted(k8s)
    world = MemoryWorld.for_canary(found)
    world.target.canary_replicas = 0
    refusal = "spec.targetRef: Deployment prod/podinfo-primary is the primary copy that ..."
    assert await deletion.finalize(
        k8s.kube, world.ports, found, refusals=[refusal], now=_after(found, 1)
    )
    assert world.target.canary_replicas == 0  # untouched
    assert await k8s.kube.get(*CANARY, "podinfo", NS) is None
    [event] = world.events.events
    assert event.message == f"Not reverting podinfo.prod on deletion: {refusal}"
