"""Rolling updates, scaling and progress deadlines (covers
``serinus/sandbox/workloads/deployments.py`` and ``replicasets.py`` against a real API server).

Covers:
- a new image rolls the pods to the new version without ever having fewer ready pods than
  ``replicas - maxUnavailable`` nor more pods than ``replicas + maxSurge``; the old ReplicaSet is
  kept at zero and the revision annotations count up;
- ``kubectl scale`` to 0 stops every pod process, and back to 2 brings two ready pods;
- a rollout whose pods never become ready keeps the old pods serving and turns Progressing to
  False/ProgressDeadlineExceeded after ``progressDeadlineSeconds``, with Available reporting
  MinimumReplicasUnavailable when the minimum is not met;
- ``kubectl rollout undo`` makes the old ReplicaSet current again with the next revision;
- with ``minReadySeconds`` a ready pod is not yet available; ``Recreate`` stops the old pods before
  starting new ones.
"""

from __future__ import annotations

import httpx

from serinus.kube import Kube
from serinus.sandbox.workloads import WorkloadRunner
from tests.sandbox.workloads.support import (
    Kubectl,
    Recorder,
    eventually,
    podinfo,
    pods,
    ready,
    ready_pods,
)


async def versions(kube: Kube) -> list[str]:
    found = []
    async with httpx.AsyncClient() as http:
        for pod in await pods(kube, "podinfo"):
            if ready(pod):
                try:
                    answer = await http.get(f"http://{pod['status']['podIP']}:9898/version")
                except (httpx.ConnectError, httpx.RemoteProtocolError):
                    # listed as ready a moment before the rollout stopped it (refused, or closed
                    # while answering): ask again
                    found.append("stopping")
                    continue
                found.append(answer.json()["version"])
    return sorted(found)


def deployment_conditions(found: dict | None) -> list[dict]:
    return ((found or {}).get("status") or {}).get("conditions") or []


async def complete(kube: Kube, name: str = "podinfo") -> dict | None:
    found = await kube.get("apps/v1", "Deployment", name, "prod")
    status = (found or {}).get("status") or {}
    conditions = {c["type"]: c for c in status.get("conditions") or []}
    done = (conditions.get("Progressing") or {}).get("reason") == "NewReplicaSetAvailable"
    current = status.get("observedGeneration") == (found or {})["metadata"]["generation"]
    return found if done and current else None


async def test_new_image_rolls_without_dropping_below_availability(
    kube: Kube, runner: WorkloadRunner
) -> None:
    await kube.create(podinfo(tag="6.0.0", replicas=4))
    await eventually(lambda: ready_pods(kube, "podinfo", 4), what="4 ready pods")
    await eventually(lambda: complete(kube), what="the first rollout")
    recorder = Recorder(kube, "v1", "Pod")
    try:
        patch = {"spec": {"template": {"spec": {"containers": [
            {"name": "podinfod", "image": "stefanprodan/podinfo:6.0.1"}
        ]}}}}  # fmt: skip
        await kube.patch("apps/v1", "Deployment", "podinfo", "prod", patch, patch_type="strategic")

        async def rolled() -> list[str] | None:
            found = await versions(kube)
            return found if found == ["6.0.1"] * 4 and await complete(kube) else None

        await eventually(rolled, what="every pod on 6.0.1")
    finally:
        await recorder.close()
    states = recorder.states()[4:]  # from the moment the recorder knew all 4 pods
    assert min(sum(ready(pod) for pod in state.values()) for state in states) >= 3
    assert max(len(state) for state in states) <= 5
    sets = await kube.list("apps/v1", "ReplicaSet", "prod")
    by_revision = {
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs["spec"]["replicas"]
        for rs in sets
    }
    assert by_revision == {"1": 0, "2": 4}
    deployment = await kube.get("apps/v1", "Deployment", "podinfo", "prod")
    assert deployment is not None
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"


async def test_scale_to_zero_and_back(kube: Kube, runner: WorkloadRunner, kubectl: Kubectl) -> None:
    await kube.create(podinfo())
    before = await eventually(lambda: ready_pods(kube, "podinfo", 2), what="2 ready pods")
    await kubectl.run("-n", "prod", "scale", "deployment/podinfo", "--replicas=0")

    async def gone() -> bool:
        return not await pods(kube, "podinfo")

    await eventually(gone, what="no pods")

    async def stopped() -> bool:
        async with httpx.AsyncClient() as http:
            for pod in before:
                try:
                    await http.get(f"http://{pod['status']['podIP']}:9898/healthz", timeout=2)
                except httpx.ConnectError:
                    continue
                except httpx.TransportError:  # shutting down: accepted, then closed
                    return False
                return False
        return True

    await eventually(stopped, what="every pod process to stop listening")

    async def zero() -> dict | None:
        found = await kube.get("apps/v1", "Deployment", "podinfo", "prod")
        status = (found or {}).get("status") or {}
        return found if status.get("replicas") == 0 and "readyReplicas" in status else None

    status = (await eventually(zero, what="status at zero"))["status"]
    assert (status["readyReplicas"], status["availableReplicas"]) == (0, 0)
    await kubectl.run("-n", "prod", "scale", "deployment/podinfo", "--replicas=2")
    await eventually(lambda: ready_pods(kube, "podinfo", 2), what="2 ready pods again")


async def test_rollout_that_never_gets_ready_exceeds_its_deadline(
    kube: Kube, runner: WorkloadRunner
) -> None:
    await kube.create(podinfo(progressDeadlineSeconds=2))
    old = await eventually(lambda: ready_pods(kube, "podinfo", 2), what="2 ready pods")
    await eventually(lambda: complete(kube), what="the first rollout")
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "podinfod", "env": [{"name": "PODINFO_UNREADY", "value": "true"}]}
    ]}}}}  # fmt: skip
    await kube.patch("apps/v1", "Deployment", "podinfo", "prod", patch, patch_type="strategic")

    async def exceeded() -> dict | None:
        found = await kube.get("apps/v1", "Deployment", "podinfo", "prod")
        conditions = {c["type"]: c for c in deployment_conditions(found)}
        return conditions if conditions["Progressing"]["status"] == "False" else None

    conditions = await eventually(exceeded, what="ProgressDeadlineExceeded")
    progressing = conditions["Progressing"]
    assert progressing["reason"] == "ProgressDeadlineExceeded"
    assert progressing["message"].endswith("has timed out progressing.")
    assert conditions["Available"]["status"] == "True"  # the old pods still serve
    names = {pod["metadata"]["name"] for pod in await pods(kube, "podinfo") if ready(pod)}
    assert names == {pod["metadata"]["name"] for pod in old}


async def test_unavailable_minimum_is_reported(kube: Kube, runner: WorkloadRunner) -> None:
    deployment = podinfo(replicas=1, progressDeadlineSeconds=2)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["env"].append({"name": "PODINFO_UNREADY", "value": "true"})
    await kube.create(deployment)

    async def reported() -> dict | None:
        found = await kube.get("apps/v1", "Deployment", "podinfo", "prod")
        conditions = {c["type"]: c for c in deployment_conditions(found)}
        exceeded = (conditions.get("Progressing") or {}).get("status") == "False"
        return conditions if exceeded else None

    conditions = await eventually(reported, what="ProgressDeadlineExceeded")
    assert (conditions["Available"]["status"], conditions["Available"]["reason"]) == (
        "False",
        "MinimumReplicasUnavailable",
    )


async def test_min_ready_seconds_delays_availability(kube: Kube, runner: WorkloadRunner) -> None:
    recorder = Recorder(kube, "apps/v1", "ReplicaSet")
    try:
        await kube.create(podinfo(replicas=1, minReadySeconds=2))

        async def available() -> bool:
            return any(
                (rs.get("status") or {}).get("availableReplicas") == 1
                for state in recorder.states()
                for rs in state.values()
            )

        await eventually(available, what="an available replica")
    finally:
        await recorder.close()
    seen = [
        (
            (rs.get("status") or {}).get("readyReplicas"),
            (rs.get("status") or {}).get("availableReplicas"),
        )
        for state in recorder.states()
        for rs in state.values()
    ]
    assert (1, 0) in seen  # ready, not yet available


async def test_recreate_stops_old_pods_before_new_ones(kube: Kube, runner: WorkloadRunner) -> None:
    await kube.create(podinfo(strategy={"type": "Recreate"}))
    await eventually(lambda: ready_pods(kube, "podinfo", 2), what="2 ready pods")
    await eventually(lambda: complete(kube), what="the first rollout")
    recorder = Recorder(kube, "v1", "Pod")
    try:
        patch = {"spec": {"template": {"metadata": {"labels": {"app": "podinfo", "v": "2"}}}}}
        await kube.patch("apps/v1", "Deployment", "podinfo", "prod", patch)

        async def rolled() -> bool:
            found = await pods(kube, "podinfo")
            return all(p["metadata"]["labels"].get("v") == "2" for p in found) and bool(
                await complete(kube)
            )

        await eventually(rolled, what="the recreated pods")
    finally:
        await recorder.close()
    for state in recorder.states():
        labels = {pod["metadata"]["labels"].get("v") for pod in state.values()}
        assert labels != {None, "2"}, "old and new pods ran at the same time"


async def test_rollout_undo_brings_the_old_replica_set_back(
    kube: Kube, runner: WorkloadRunner, kubectl: Kubectl
) -> None:
    await kube.create(podinfo(tag="6.0.0"))
    await eventually(lambda: complete(kube), what="the first rollout")
    await kubectl.run(
        "-n", "prod", "set", "image", "deployment/podinfo", "podinfod=stefanprodan/podinfo:6.0.1"
    )

    async def on(version: str) -> list[str] | None:
        found = await versions(kube)
        return found if found == [version] * 2 and await complete(kube) else None

    await eventually(lambda: on("6.0.1"), what="every pod on 6.0.1")
    await kubectl.run("-n", "prod", "rollout", "undo", "deployment/podinfo")
    await eventually(lambda: on("6.0.0"), what="every pod back on 6.0.0")
    sets = await kube.list("apps/v1", "ReplicaSet", "prod")
    assert len(sets) == 2
    revisions = {
        rs["spec"]["template"]["spec"]["containers"][0]["image"].rsplit(":", 1)[1]: rs["metadata"][
            "annotations"
        ]["deployment.kubernetes.io/revision"]
        for rs in sets
    }
    assert revisions == {"6.0.0": "3", "6.0.1": "2"}
    history = (await kubectl.run("-n", "prod", "rollout", "history", "deployment/podinfo")).stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]
