"""Containers as local processes: probes, restarts, environment, unmapped images (covers
``serinus/sandbox/workloads/containers.py``, ``pods.py``, ``probes.py`` and ``env.py`` against a
real API server and real processes).

Covers:
- a readiness probe that keeps failing keeps the pod unready (0/1) while it runs, and a pod that
  stops being ready (podinfo's ``/readyz/disable``) turns unready, then ready again;
- exec readiness probes run in the pod's directory;
- a command that exits is restarted and then shows CrashLoopBackOff with its restart count and
  last exit code, in the API and in ``kubectl get pods``; ``kubectl logs --previous`` shows the
  earlier run;
- a failing liveness probe restarts the container;
- an image the image map does not know leaves the pod Pending with ErrImagePull naming it;
- the environment: plain values with ``$(VAR)``, fieldRef, ConfigMap and Secret keys, envFrom
  with a prefix; a missing ConfigMap shows CreateContainerConfigError until it is created;
- a bare Pod with ``restartPolicy: Never`` that exits 0 ends Succeeded.
"""

from __future__ import annotations

import base64
import re

import httpx

from serinus.kube import Kube
from serinus.sandbox.workloads import WorkloadRunner
from tests.sandbox.workloads.support import (
    Kubectl,
    deployment,
    eventually,
    podinfo,
    pods,
    ready,
    ready_pods,
    shell,
)


async def one_pod(kube: Kube, app: str) -> dict | None:
    found = await pods(kube, app)
    return found[0] if len(found) == 1 and found[0].get("status", {}).get("podIP") else None


def container_status(pod: dict) -> dict:
    return (pod.get("status") or {}).get("containerStatuses", [{}])[0]


async def readyz_failures(address: str) -> int:
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"http://{address}:9898/metrics")).text
    found = re.search(r'http_requests_total\{status="503"\} (\d+)', text)
    return int(found.group(1)) if found else 0


async def test_failing_readiness_keeps_the_pod_unready(
    kube: Kube, runner: WorkloadRunner, kubectl: Kubectl
) -> None:
    unready = podinfo(replicas=1)
    container = unready["spec"]["template"]["spec"]["containers"][0]
    container["env"].append({"name": "PODINFO_UNREADY", "value": "true"})
    await kube.create(unready)
    pod = await eventually(lambda: one_pod(kube, "podinfo"), what="a pod with an address")
    address = pod["status"]["podIP"]

    async def probed_three_times() -> bool:
        try:
            return await readyz_failures(address) >= 3
        except httpx.HTTPError:
            return False

    await eventually(probed_three_times, what="three failed readiness probes")
    [pod] = await pods(kube, "podinfo")
    assert pod["status"]["phase"] == "Running"
    assert not ready(pod)
    assert container_status(pod)["ready"] is False
    assert container_status(pod)["started"] is True
    row = (await kubectl.run("-n", "prod", "get", "pods", "--no-headers")).stdout.split()
    assert row[1:3] == ["0/1", "Running"]


async def test_pod_that_stops_being_ready_turns_unready(kube: Kube, runner: WorkloadRunner) -> None:
    await kube.create(podinfo(replicas=1))
    [pod] = await eventually(lambda: ready_pods(kube, "podinfo", 1), what="a ready pod")
    url = f"http://{pod['status']['podIP']}:9898"
    async with httpx.AsyncClient(base_url=url) as http:
        await http.post("/readyz/disable")

        async def unready() -> bool:
            return not any(ready(p) for p in await pods(kube, "podinfo"))

        await eventually(unready, what="the pod to turn unready")
        await http.post("/readyz/enable")
    await eventually(lambda: ready_pods(kube, "podinfo", 1), what="the pod ready again")


async def test_exec_probe_runs_in_the_pod_directory(kube: Kube, runner: WorkloadRunner) -> None:
    probe = {"exec": {"command": ["test", "-f", "ready"]}, "periodSeconds": 1}
    script = "sleep 1; touch ready; exec sleep 60"
    await kube.create(deployment("marker", [shell("main", script, readinessProbe=probe)], grace=1))
    [pod] = await eventually(lambda: ready_pods(kube, "marker", 1), what="the marker pod ready")
    assert container_status(pod)["ready"] is True


async def test_exiting_command_goes_into_crash_loop_back_off(
    kube: Kube, runner: WorkloadRunner, kubectl: Kubectl
) -> None:
    script = 'echo "run $(ls main | wc -l)"; exit 3'
    await kube.create(deployment("crash", [shell("main", script)]))

    async def backing_off() -> dict | None:
        found = await one_pod(kube, "crash")
        waiting = (container_status(found or {}).get("state") or {}).get("waiting") or {}
        return found if waiting.get("reason") == "CrashLoopBackOff" else None

    pod = await eventually(backing_off, what="CrashLoopBackOff")
    status = container_status(pod)
    assert status["restartCount"] >= 1
    assert status["lastState"]["terminated"]["exitCode"] == 3
    assert status["lastState"]["terminated"]["reason"] == "Error"
    assert "back-off" in status["state"]["waiting"]["message"]
    assert not ready(pod)
    name = pod["metadata"]["name"]
    row = (await kubectl.run("-n", "prod", "get", "pod", name, "--no-headers")).stdout.split()
    assert row[1:3] == ["0/1", "CrashLoopBackOff"]
    latest = (await kubectl.run("-n", "prod", "logs", name)).stdout
    previous = (await kubectl.run("-n", "prod", "logs", name, "--previous")).stdout
    assert latest.startswith("run ")
    assert previous.startswith("run ")
    assert latest != previous


async def test_failing_liveness_probe_restarts_the_container(
    kube: Kube, runner: WorkloadRunner
) -> None:
    probe = {"tcpSocket": {"port": 1}, "periodSeconds": 1, "failureThreshold": 1}
    await kube.create(
        deployment("dead", [shell("main", "exec sleep 60", livenessProbe=probe)], grace=1)
    )

    async def restarted() -> dict | None:
        found = await one_pod(kube, "dead")
        return found if container_status(found or {}).get("restartCount", 0) >= 1 else None

    pod = await eventually(restarted, what="a restart after the liveness probe failed")
    assert container_status(pod)["lastState"]["terminated"]["exitCode"] != 0


async def test_unmapped_image_leaves_the_pod_pending(
    kube: Kube, runner: WorkloadRunner, kubectl: Kubectl
) -> None:
    container = {"name": "web", "image": "nginx:alpine", "ports": [{"containerPort": 8080}]}
    await kube.create(deployment("web", [container]))

    async def pulled() -> dict | None:
        found = await one_pod(kube, "web")
        waiting = (container_status(found or {}).get("state") or {}).get("waiting") or {}
        return found if waiting.get("reason") == "ErrImagePull" else None

    pod = await eventually(pulled, what="ErrImagePull")
    assert pod["status"]["phase"] == "Pending"
    message = container_status(pod)["state"]["waiting"]["message"]
    assert "'nginx:alpine' is not in the sandbox image map" in message
    row = (await kubectl.run("-n", "prod", "get", "pods", "--no-headers")).stdout.split()
    assert row[1:3] == ["0/1", "ErrImagePull"]


async def test_environment_from_values_fields_configmaps_and_secrets(
    kube: Kube, runner: WorkloadRunner, kubectl: Kubectl
) -> None:
    secret = base64.b64encode(b"s3cret").decode()
    await kube.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": "prod"},
            "data": {"password": secret},
        }
    )
    env = [
        {"name": "GREETING", "value": "hello"},
        {"name": "MESSAGE", "value": "$(GREETING) world"},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "color"}}},
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
    ]
    script = 'echo "$MESSAGE|$POD|$IP|$COLOR|$PASSWORD|$CFG_color|$HOSTNAME"; exec sleep 60'
    main = shell(
        "main", script, env=env, envFrom=[{"prefix": "CFG_", "configMapRef": {"name": "settings"}}]
    )
    await kube.create(deployment("env", [main], grace=1))

    async def config_error() -> dict | None:
        found = await one_pod(kube, "env")
        waiting = (container_status(found or {}).get("state") or {}).get("waiting") or {}
        return waiting if waiting.get("reason") == "CreateContainerConfigError" else None

    waiting = await eventually(config_error, what="CreateContainerConfigError")
    assert waiting["message"] == 'configmap "settings" not found'
    await kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "prod"},
            "data": {"color": "blue"},
        }
    )
    pod = await eventually(lambda: ready_pods(kube, "env", 1), what="the env pod running")
    name, address = pod[0]["metadata"]["name"], pod[0]["status"]["podIP"]

    async def printed() -> str | None:
        return (await kubectl.run("-n", "prod", "logs", name)).stdout.strip() or None

    line = await eventually(printed, what="the printed environment")
    assert line == f"hello world|{name}|{address}|blue|s3cret|blue|{name}"


async def test_bare_pod_that_exits_zero_succeeds(kube: Kube, runner: WorkloadRunner) -> None:
    await kube.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "job", "namespace": "prod", "labels": {"app": "job"}},
            "spec": {"restartPolicy": "Never", "containers": [shell("main", "echo done")]},
        }
    )

    async def succeeded() -> dict | None:
        found = await kube.get("v1", "Pod", "job", "prod")
        return found if (found or {}).get("status", {}).get("phase") == "Succeeded" else None

    pod = await eventually(succeeded, what="phase Succeeded")
    assert container_status(pod)["state"]["terminated"]["reason"] == "Completed"
    assert container_status(pod)["restartCount"] == 0
