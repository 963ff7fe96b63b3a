"""The workload runner end to end (covers ``serinus/sandbox/workloads/runner.py``).

Covers:
- a Deployment of podinfo with 2 replicas becomes 2 ready pods, each answering podinfo's JSON on
  its own pod IP with the image tag as version and the pod name as hostname;
- the Deployment's status (replicas, updated, ready, available, observedGeneration) and its
  conditions Available/MinimumReplicasAvailable and Progressing/NewReplicaSetAvailable; the
  ReplicaSet is ``<deploy>-<pod-template-hash>`` and owns the pods;
- ``kubectl get pods`` lists them 1/1 Running; ``kubectl get nodes`` lists the sandbox node;
  ``kubectl logs pod/NAME`` and ``kubectl logs deployment/NAME`` show a pod's output;
- a pod process resolves ``podinfo``, ``podinfo.prod``, ``podinfo.prod.svc`` and
  ``podinfo.prod.svc.cluster.local`` to the Service's clusterIP (getent and Python alike), other
  namespaces' Services only by their qualified names, and a Service created later as soon as it
  exists; the machine's /etc/hosts is left alone;
- Flagger's load tester image runs ``serinus loadtester`` on the pod's address;
- deleting the Deployment stops its processes; stopping the runner leaves no process behind,
  not even what a pod started in a session of its own (checked after every test by the
  ``runner`` fixture too); a runner stopped before it ran does nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import pathlib
import re

import httpx

from serinus.kube import Kube
from serinus.sandbox.workloads import ImageMap, WorkloadRunner
from tests.sandbox.workloads.conftest import survivors
from tests.sandbox.workloads.support import (
    Kubectl,
    deployment,
    eventually,
    podinfo,
    pods,
    ready_pods,
    service,
    shell,
)


async def test_two_replicas_become_two_ready_pods_on_their_own_ips(
    kube: Kube, runner: WorkloadRunner
) -> None:
    await kube.create(podinfo(tag="2.1.0"))
    found = await eventually(lambda: ready_pods(kube, "podinfo", 2), what="2 ready podinfo pods")
    addresses = {pod["status"]["podIP"] for pod in found}
    assert len(addresses) == 2
    async with httpx.AsyncClient() as http:
        for pod in found:
            body = (await http.get(f"http://{pod['status']['podIP']}:9898/")).json()
            assert body["version"] == "2.1.0"
            assert body["hostname"] == pod["metadata"]["name"]


async def test_deployment_status_and_conditions(kube: Kube, runner: WorkloadRunner) -> None:
    await kube.create(podinfo())

    async def settled() -> dict | None:
        found = await kube.get("apps/v1", "Deployment", "podinfo", "prod")
        status = (found or {}).get("status") or {}
        return found if status.get("availableReplicas") == 2 else None

    deployment = await eventually(settled, what="2 available replicas")
    status = deployment["status"]
    assert status["replicas"] == 2
    assert status["updatedReplicas"] == 2
    assert status["readyReplicas"] == 2
    assert status["unavailableReplicas"] == 0
    assert status["observedGeneration"] == deployment["metadata"]["generation"]
    conditions = {c["type"]: c for c in status["conditions"]}
    assert (conditions["Available"]["status"], conditions["Available"]["reason"]) == (
        "True",
        "MinimumReplicasAvailable",
    )
    progressing = conditions["Progressing"]
    assert (progressing["status"], progressing["reason"]) == ("True", "NewReplicaSetAvailable")
    [replicaset] = await kube.list("apps/v1", "ReplicaSet", "prod")
    template_hash = replicaset["metadata"]["labels"]["pod-template-hash"]
    assert replicaset["metadata"]["name"] == f"podinfo-{template_hash}"
    assert (
        f'ReplicaSet "podinfo-{template_hash}" has successfully progressed.'
        == (progressing["message"])
    )
    assert replicaset["metadata"]["ownerReferences"][0]["uid"] == deployment["metadata"]["uid"]
    for pod in await pods(kube, "podinfo"):
        assert pod["metadata"]["name"].startswith(f"podinfo-{template_hash}-")
        assert len(pod["metadata"]["name"]) == len(f"podinfo-{template_hash}-") + 5
        assert pod["metadata"]["ownerReferences"][0]["name"] == replicaset["metadata"]["name"]
        assert pod["metadata"]["labels"]["pod-template-hash"] == template_hash


async def test_kubectl_lists_running_pods_and_the_node(
    kube: Kube, runner: WorkloadRunner, kubectl: Kubectl
) -> None:
    await kube.create(podinfo())
    await eventually(lambda: ready_pods(kube, "podinfo", 2), what="2 ready pods")
    listing = (await kubectl.run("-n", "prod", "get", "pods", "--no-headers")).stdout
    rows = [line.split() for line in listing.splitlines()]
    assert len(rows) == 2
    assert all(row[1:4] == ["1/1", "Running", "0"] for row in rows), listing
    nodes = (await kubectl.run("get", "nodes", "--no-headers")).stdout.split()
    assert nodes[:2] == ["sandbox", "Ready"]
    rollout = await kubectl.run("-n", "prod", "rollout", "status", "deployment/podinfo")
    assert "successfully rolled out" in rollout.stdout


async def test_kubectl_logs_shows_the_pod_output(
    kube: Kube, runner: WorkloadRunner, kubectl: Kubectl
) -> None:
    await kube.create(podinfo(replicas=1))
    [pod] = await eventually(lambda: ready_pods(kube, "podinfo", 1), what="a ready pod")
    name = pod["metadata"]["name"]
    async with httpx.AsyncClient() as http:
        await http.get(f"http://{pod['status']['podIP']}:9898/status/418")

    async def logged(*target: str) -> str | None:
        text = (await kubectl.run("-n", "prod", "logs", *target)).stdout
        return text if '"uri": "/status/418"' in text else None

    by_pod = await eventually(lambda: logged(f"pod/{name}"), what="the request in the logs")
    assert "Starting podinfo v6.0.0" in by_pod
    assert "/status/418" in await eventually(
        lambda: logged("deployment/podinfo"), what="logs by deployment"
    )
    tail = (await kubectl.run("-n", "prod", "logs", f"pod/{name}", "--tail", "1")).stdout
    assert len(tail.splitlines()) == 1


async def test_deleting_the_deployment_stops_its_processes(
    kube: Kube, runner: WorkloadRunner
) -> None:
    await kube.create(podinfo(replicas=1))
    [pod] = await eventually(lambda: ready_pods(kube, "podinfo", 1), what="a ready pod")
    url = f"http://{pod['status']['podIP']}:9898/healthz"
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).status_code == 200
        await kube.delete("apps/v1", "Deployment", "podinfo", "prod")

        async def refused() -> bool:
            try:
                await http.get(url, timeout=1)
            except httpx.ConnectError:
                return True
            except httpx.TransportError:  # shutting down: accepted, then closed
                return False
            return False

        await eventually(refused, what="the pod's address to stop answering")
    assert await pods(kube, "podinfo") == []


async def sleepers(sandbox_dir: pathlib.Path) -> list[str] | None:
    found = [where for where in survivors(sandbox_dir) if re.fullmatch(r"\S+ sleep 300\d ", where)]
    return found if len(found) == 6 else None


def machine_hosts_file() -> str:
    return pathlib.Path("/etc/hosts").read_text()


RESOLVE = """
for name in podinfo podinfo.prod podinfo.prod.svc podinfo.prod.svc.cluster.local \\
    backend.other backend
do echo "$name=$(getent hosts $name | awk '{print $1}')"; done
python3 -c "import socket; print('python=' + socket.gethostbyname('podinfo'))"
until getent hosts late > /dev/null; do sleep 0.2; done
echo "late=$(getent hosts late | awk '{print $1}')"
exec sleep 60
"""


async def test_pod_processes_resolve_service_names(
    kube: Kube, runner: WorkloadRunner, kubectl: Kubectl
) -> None:
    machine_hosts = machine_hosts_file()
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    podinfo_ip = (await kube.create(service("podinfo")))["spec"]["clusterIP"]
    backend_ip = (await kube.create(service("backend", namespace="other")))["spec"]["clusterIP"]
    await kube.create(deployment("resolver", [shell("main", RESOLVE)], grace=1))
    [pod] = await eventually(lambda: ready_pods(kube, "resolver", 1), what="the resolver pod")
    late_ip = (await kube.create(service("late")))["spec"]["clusterIP"]

    async def printed() -> dict[str, str] | None:
        text = (await kubectl.run("-n", "prod", "logs", pod["metadata"]["name"])).stdout
        found = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        return found if "late" in found else None

    found = await eventually(printed, what="the resolved names")
    assert found == {
        "podinfo": podinfo_ip,
        "podinfo.prod": podinfo_ip,
        "podinfo.prod.svc": podinfo_ip,
        "podinfo.prod.svc.cluster.local": podinfo_ip,
        "backend.other": backend_ip,
        "backend": "",  # short names only for the pod's own namespace
        "python": podinfo_ip,
        "late": late_ip,
    }
    assert ipaddress.ip_address(podinfo_ip) in ipaddress.ip_network("127.96.0.0/12")
    assert machine_hosts_file() == machine_hosts


async def test_kubectl_logs_follow_ends_with_the_container(
    kube: Kube, runner: WorkloadRunner, kubectl: Kubectl
) -> None:
    script = "for i in 1 2 3; do echo line $i; sleep 0.3; done"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "counter", "namespace": "prod"},
        "spec": {"restartPolicy": "Never", "containers": [shell("main", script)]},
    }
    await kube.create(pod)

    async def started() -> bool:
        found = await kube.get("v1", "Pod", "counter", "prod")
        return bool((found or {}).get("status", {}).get("containerStatuses"))

    await eventually(started, what="the counter to start")
    followed = await kubectl.run("-n", "prod", "logs", "-f", "counter")
    assert followed.stdout == "line 1\nline 2\nline 3\n"


async def test_stop_leaves_no_process_behind(
    kube: Kube, runner: WorkloadRunner, sandbox_dir: pathlib.Path
) -> None:
    script = "setsid sleep 3001 & sleep 3002 & exec sleep 3003"
    await kube.create(deployment("sleepers", [shell("main", script)], replicas=2, grace=1))
    await eventually(lambda: ready_pods(kube, "sleepers", 2), what="2 sleeper pods")
    assert len(await eventually(lambda: sleepers(sandbox_dir), what="the sleepers")) == 6
    await runner.stop()
    assert survivors(sandbox_dir) == []


async def test_load_tester_image_runs_serinus_loadtester(
    kube: Kube, runner: WorkloadRunner
) -> None:
    container = {
        "name": "loadtester",
        "image": "ghcr.io/fluxcd/flagger-loadtester:0.38.0",
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1},
    }
    await kube.create(deployment("flagger-loadtester", [container]))
    [pod] = await eventually(
        lambda: ready_pods(kube, "flagger-loadtester", 1), what="a ready load tester"
    )
    async with httpx.AsyncClient() as http:
        gate = await http.post(f"http://{pod['status']['podIP']}:8080/gate/approve")
    assert gate.status_code == 200


async def test_stop_before_run_returns_at_once(kube: Kube, sandbox_dir: pathlib.Path) -> None:
    idle = WorkloadRunner(kube, sandbox_dir, ImageMap.bundled())
    await idle.stop()
    await asyncio.wait_for(idle.run(), timeout=5)
    assert await kube.get("v1", "Node", "sandbox") is None
