"""The kubelet's and the scheduler's Events about pods (covers ``serinus/sandbox/workloads/
events.py`` and the Events recorded by ``containers.py``, ``probing.py`` and ``pods.py``).

Covers:
- a new pod gets, in order, ``Scheduled`` (from default-scheduler, "Successfully assigned
  prod/NAME to sandbox"), ``Pulling`` and ``Pulled`` ("Successfully pulled image ..."), then
  ``Created`` ("Created container: podinfod") and ``Started``, from the kubelet on node
  ``sandbox``, naming the container in ``fieldPath``; the next pod of the same image finds it
  "already present on machine"; ``kubectl describe pod`` lists them in its Events block and
  ``kubectl get events`` lists them too;
- a readiness probe that fails is one ``Unhealthy`` Warning ("Readiness probe failed: HTTP probe
  failed with statuscode: 503") whose count grows; one that finds nothing listening says so as
  the kubelet does ("dial tcp ...: connect: connection refused");
- a container that keeps exiting gets a ``BackOff`` Warning ("Back-off restarting failed
  container crash in pod NAME_prod(UID)");
- a failing liveness probe is recorded as ``Killing`` ("Container podinfod failed liveness probe,
  will be restarted"), and deleting a pod as ``Killing`` ("Stopping container podinfod");
- an unmapped image gives ``Failed`` Warnings ("Failed to pull image ...", "Error:
  ErrImagePull"), a missing ConfigMap ``Failed`` ("Error: configmap "settings" not found").
"""

from __future__ import annotations

from typing import Any

from serinus.kube import Kube
from serinus.sandbox.workloads import WorkloadRunner
from tests.sandbox.workloads.support import (
    Kubectl,
    deployment,
    eventually,
    podinfo,
    pods,
    ready_pods,
    shell,
)


async def events_of(kube: Kube, pod: str) -> list[dict[str, Any]]:
    found = [
        event
        for event in await kube.list("v1", "Event", "prod")
        if event["involvedObject"]["kind"] == "Pod" and event["involvedObject"]["name"] == pod
    ]
    return sorted(found, key=lambda e: e["metadata"]["name"])  # <pod>.<nanoseconds>: in order


def reasons(events: list[dict[str, Any]]) -> list[str]:
    return [event["reason"] for event in events]


def messages(events: list[dict[str, Any]], reason: str) -> list[str]:
    return [event["message"] for event in events if event["reason"] == reason]


async def test_a_new_pod_is_scheduled_pulled_created_and_started(
    kube: Kube, runner: WorkloadRunner, kubectl: Kubectl
) -> None:
    await kube.create(podinfo(tag="2.1.1", replicas=1))
    [pod] = await eventually(lambda: ready_pods(kube, "podinfo", 1), what="a ready pod")
    name = pod["metadata"]["name"]

    async def all_five() -> list[dict[str, Any]] | None:
        found = await events_of(kube, name)
        return found if len(found) >= 5 else None

    found = await eventually(all_five, what="five events")
    # (a first readiness probe before podinfo listens may add an Unhealthy, as in a cluster)
    assert reasons(found)[:5] == ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
    scheduled, pulling, pulled, created, started = found[:5]
    assert scheduled["message"] == f"Successfully assigned prod/{name} to sandbox"
    assert scheduled["source"] == {"component": "default-scheduler"}
    assert "fieldPath" not in scheduled["involvedObject"]
    assert pulling["message"] == 'Pulling image "stefanprodan/podinfo:2.1.1"'
    assert pulled["message"].startswith(
        'Successfully pulled image "stefanprodan/podinfo:2.1.1" in '
    )
    assert created["message"] == "Created container: podinfod"
    assert started["message"] == "Started container podinfod"
    for event in (pulling, pulled, created, started):
        assert event["type"] == "Normal"
        assert event["source"] == {"component": "kubelet", "host": "sandbox"}
        assert event["involvedObject"]["fieldPath"] == "spec.containers{podinfod}"
        assert event["involvedObject"]["uid"] == pod["metadata"]["uid"]

    described = (await kubectl.run("-n", "prod", "describe", "pod", name)).stdout
    events_block = described.split("Events:", 1)[1]
    for reason in ("Scheduled", "Pulling", "Pulled", "Created", "Started"):
        assert reason in events_block
    assert "default-scheduler" in events_block
    assert "Started container podinfod" in events_block
    listed = (await kubectl.run("-n", "prod", "get", "events")).stdout
    assert f"pod/{name}" in listed
    assert "Created container: podinfod" in listed

    await kubectl.run("-n", "prod", "scale", "deployment/podinfo", "--replicas=2")
    await eventually(lambda: ready_pods(kube, "podinfo", 2), what="a second ready pod")
    [second] = [p for p in await pods(kube, "podinfo") if p["metadata"]["name"] != name]

    async def pulled_again() -> list[str] | None:
        found = messages(await events_of(kube, second["metadata"]["name"]), "Pulled")
        return found or None

    again = await eventually(pulled_again, what="the second pod's Pulled event")
    assert again == ['Container image "stefanprodan/podinfo:2.1.1" already present on machine']

    await kube.delete("v1", "Pod", name, "prod")

    async def killed() -> list[str] | None:
        return messages(await events_of(kube, name), "Killing") or None

    assert await eventually(killed, what="a Killing event") == ["Stopping container podinfod"]


async def test_failing_probes_and_crashes_are_warnings(kube: Kube, runner: WorkloadRunner) -> None:
    unready = podinfo("unready", replicas=1)
    spec = unready["spec"]["template"]["spec"]["containers"][0]
    spec["env"] = [{"name": "PODINFO_UNREADY", "value": "true"}]
    await kube.create(unready)
    await kube.create(deployment("crash", [shell("crash", "exit 3")]))
    dying = podinfo("dying", replicas=1)
    dying["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "PODINFO_UNHEALTHY", "value": "true"}
    ]
    dying["spec"]["template"]["spec"]["containers"][0]["livenessProbe"] = {
        "httpGet": {"path": "/healthz", "port": 9898},
        "periodSeconds": 1,
        "failureThreshold": 2,
    }
    await kube.create(dying)

    async def event(
        app: str, reason: str, count: int = 1, start: str = ""
    ) -> dict[str, Any] | None:
        for pod in await pods(kube, app):
            for found in await events_of(kube, pod["metadata"]["name"]):
                if (
                    found["reason"] == reason
                    and found["count"] >= count
                    and found["message"].startswith(start)
                ):
                    return found
        return None

    unhealthy = await eventually(
        lambda: event("unready", "Unhealthy", 3, "Readiness probe failed: HTTP"), what="Unhealthy"
    )
    assert unhealthy["type"] == "Warning"
    assert unhealthy["message"] == "Readiness probe failed: HTTP probe failed with statuscode: 503"
    [waiting] = await pods(kube, "unready")
    refused = await event("unready", "Unhealthy", start="Readiness probe failed: Get")
    if refused is not None:  # a probe that came before podinfo listened
        address = waiting["status"]["podIP"]
        assert refused["message"] == (
            f'Readiness probe failed: Get "http://{address}:9898/readyz": '
            f"dial tcp {address}:9898: connect: connection refused"
        )

    backoff = await eventually(lambda: event("crash", "BackOff"), what="BackOff")
    [crashing] = await pods(kube, "crash")
    meta = crashing["metadata"]
    assert backoff["type"] == "Warning"
    assert backoff["message"] == (
        f"Back-off restarting failed container crash in pod {meta['name']}_prod({meta['uid']})"
    )

    killing = await eventually(lambda: event("dying", "Killing"), what="Killing", seconds=60)
    assert killing["message"] == "Container podinfod failed liveness probe, will be restarted"
    liveness = await event("dying", "Unhealthy", start="Liveness probe failed: HTTP")
    assert liveness is not None
    assert liveness["message"] == "Liveness probe failed: HTTP probe failed with statuscode: 503"


async def test_images_and_config_that_cannot_be_had_are_failed_events(
    kube: Kube, runner: WorkloadRunner
) -> None:
    await kube.create(deployment("web", [{"name": "web", "image": "nginx:alpine"}]))
    configured = shell("app", "sleep 60")
    configured["envFrom"] = [{"configMapRef": {"name": "settings"}}]
    await kube.create(deployment("configured", [configured]))

    async def failed(app: str, count: int) -> list[str] | None:
        found = [
            message
            for pod in await pods(kube, app)
            for message in messages(await events_of(kube, pod["metadata"]["name"]), "Failed")
        ]
        return found if len(found) >= count else None

    pull = await eventually(lambda: failed("web", 2), what="two Failed pull events")
    assert pull[0].startswith('Failed to pull image "nginx:alpine": ')
    assert "'nginx:alpine' is not in the sandbox image map" in pull[0]
    assert pull[1] == "Error: ErrImagePull"
    config = await eventually(lambda: failed("configured", 1), what="a Failed config event")
    assert config == ['Error: configmap "settings" not found']
