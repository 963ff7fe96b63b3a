"""Init containers (covers the init sequence of ``serinus/sandbox/workloads/pods.py``, the init
rules of ``containers.py`` and kubectl's STATUS for them in ``apiserver/cells.py``).

Covers:
- two init containers run one after the other, each to completion, before the app container
  starts (each appends to a file in the pod's directory; the app reads it); the pod reports
  ``initContainerStatuses`` (terminated, Completed, ready) and ``Initialized`` True, and
  ``kubectl get pods`` shows ``Init:0/2`` while the first runs, then ``1/1 Running``;
- a failing init container under ``restartPolicy: Always`` is run again with the back-off
  (``restartCount`` grows, ``Init:CrashLoopBackOff`` / ``Init:Error`` in kubectl), the app
  container waits in ``PodInitializing``, ``Initialized`` is False with
  ``ContainersNotInitialized`` naming it, and the second init container never starts;
- under ``restartPolicy: Never`` a failing init container fails the pod (phase Failed,
  ``Init:Error``) and nothing runs again;
- a sidecar (an init container with ``restartPolicy: Always``) starts first and keeps running
  beside the app container, and counts in READY.
"""

from __future__ import annotations

from typing import Any

from serinus.kube import Kube
from serinus.sandbox.workloads import WorkloadRunner
from tests.sandbox.workloads.support import Kubectl, deployment, eventually, pods, shell


def statuses(pod: dict[str, Any], key: str = "initContainerStatuses") -> list[dict[str, Any]]:
    return (pod.get("status") or {}).get(key) or []


def condition(pod: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in pod["status"]["conditions"] if c["type"] == kind)


async def row(kubectl: Kubectl, app: str) -> list[str]:
    listed = (await kubectl.run("-n", "prod", "get", "pods", "--no-headers")).stdout
    rows = [line.split() for line in listed.splitlines()]
    return next(row for row in rows if row[0] == app or row[0].startswith(f"{app}-"))


async def one(kube: Kube, app: str) -> dict[str, Any] | None:
    found = await pods(kube, app)
    return found[0] if len(found) == 1 else None


async def test_init_containers_run_in_order_before_the_app(
    kube: Kube, runner: WorkloadRunner, kubectl: Kubectl
) -> None:
    app = deployment(
        "ordered",
        [shell("app", 'cat "$HOME/steps"; echo app >> "$HOME/steps"; sleep 600')],
        replicas=1,
    )
    app["spec"]["template"]["spec"]["initContainers"] = [
        shell("first", 'sleep 2; echo first >> "$HOME/steps"'),
        shell("second", 'echo second >> "$HOME/steps"'),
    ]
    await kube.create(app)

    async def first_running() -> dict[str, Any] | None:
        pod = await one(kube, "ordered")
        inits = statuses(pod or {})
        return pod if inits and "running" in inits[0]["state"] else None

    pod = await eventually(first_running, what="the first init container running")
    assert pod["status"]["phase"] == "Pending"
    assert statuses(pod)[1]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert statuses(pod, "containerStatuses")[0]["state"] == {
        "waiting": {"reason": "PodInitializing"}
    }
    assert condition(pod, "Initialized")["status"] == "False"
    assert condition(pod, "Initialized")["reason"] == "ContainersNotInitialized"
    assert condition(pod, "Initialized")["message"] == (
        "containers with incomplete status: [first second]"
    )
    assert (await row(kubectl, "ordered"))[1:3] == ["0/1", "Init:0/2"]

    async def app_running() -> dict[str, Any] | None:
        pod = await one(kube, "ordered")
        mains = statuses(pod or {}, "containerStatuses")
        return pod if mains and "running" in mains[0]["state"] else None

    pod = await eventually(app_running, what="the app container running")
    for init in statuses(pod):
        assert init["state"]["terminated"]["exitCode"] == 0
        assert init["state"]["terminated"]["reason"] == "Completed"
        assert init["ready"] is True
        assert init["restartCount"] == 0
    assert condition(pod, "Initialized")["status"] == "True"
    assert pod["status"]["phase"] == "Running"
    assert (await row(kubectl, "ordered"))[1:3] == ["1/1", "Running"]
    name = pod["metadata"]["name"]

    async def log() -> str | None:
        found = await kubectl.run("-n", "prod", "logs", name, "-c", "app", check=False)
        return found.stdout or None

    assert await eventually(log, what="the app's log") == "first\nsecond\n"
    first = await kubectl.run("-n", "prod", "logs", name, "-c", "first")
    assert first.returncode == 0


async def test_a_failing_init_container_is_retried_and_holds_the_app(
    kube: Kube, runner: WorkloadRunner, kubectl: Kubectl
) -> None:
    app = deployment("blocked", [shell("app", "sleep 600")], replicas=1)
    app["spec"]["template"]["spec"]["initContainers"] = [
        shell("migrate", "echo migrating; exit 2"),
        shell("after", "true"),
    ]
    await kube.create(app)

    async def retried() -> dict[str, Any] | None:
        pod = await one(kube, "blocked")
        inits = statuses(pod or {})
        return pod if inits and inits[0]["restartCount"] >= 2 else None

    pod = await eventually(retried, what="the init container run three times", seconds=60)
    migrate, after = statuses(pod)
    assert migrate["lastState"]["terminated"]["exitCode"] == 2
    assert after["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert after["restartCount"] == 0
    assert statuses(pod, "containerStatuses")[0]["state"]["waiting"]["reason"] == (
        "PodInitializing"
    )
    assert pod["status"]["phase"] == "Pending"
    assert condition(pod, "Initialized")["message"] == (
        "containers with incomplete status: [migrate after]"
    )
    status, restarts = (await row(kubectl, "blocked"))[2:4]
    assert status in ("Init:CrashLoopBackOff", "Init:Error")
    assert int(restarts) >= 2


async def test_a_failing_init_container_fails_a_pod_that_never_restarts(
    kube: Kube, runner: WorkloadRunner, kubectl: Kubectl
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "once", "namespace": "prod", "labels": {"app": "once"}},
        "spec": {
            "restartPolicy": "Never",
            "initContainers": [shell("check", "exit 1")],
            "containers": [shell("app", "echo never")],
        },
    }
    await kube.create(pod)

    async def failed() -> dict[str, Any] | None:
        found = await one(kube, "once")
        return found if (found or {}).get("status", {}).get("phase") == "Failed" else None

    found = await eventually(failed, what="the pod Failed")
    [check] = statuses(found)
    assert check["state"]["terminated"]["exitCode"] == 1
    assert check["restartCount"] == 0
    assert statuses(found, "containerStatuses")[0]["state"] == {
        "waiting": {"reason": "PodInitializing"}
    }
    assert (await row(kubectl, "once"))[2] == "Init:Error"


async def test_a_sidecar_runs_beside_the_app(
    kube: Kube, runner: WorkloadRunner, kubectl: Kubectl
) -> None:
    app = deployment("sided", [shell("app", "sleep 600")], replicas=1)
    sidecar = shell("proxy", "sleep 600")
    sidecar["restartPolicy"] = "Always"
    app["spec"]["template"]["spec"]["initContainers"] = [sidecar]
    await kube.create(app)

    async def both_running() -> dict[str, Any] | None:
        pod = await one(kube, "sided")
        mains, inits = statuses(pod or {}, "containerStatuses"), statuses(pod or {})
        running = [s for s in mains + inits if "running" in s["state"]]
        return pod if len(running) == 2 else None

    pod = await eventually(both_running, what="the sidecar and the app running")
    assert statuses(pod)[0]["started"] is True
    assert condition(pod, "Initialized")["status"] == "True"
    assert (await row(kubectl, "sided"))[1:3] == ["2/2", "Running"]
