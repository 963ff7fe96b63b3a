"""StatefulSets in the sandbox (covers ``serinus/sandbox/workloads/statefulsets.py``, ``volumes.py``
and the runner's StatefulSet and claim handling, against a real API server and real processes).

Covers:
- pods get stable names ``web-0``, ``web-1``, ``web-2``, created in order, each only once the one
  before it is Ready; each gets a bound PersistentVolumeClaim ``data-web-<n>`` from the claim
  template, mounted at its ``mountPath`` (the container writes there, the file lands in the
  claim's directory); ``kubectl get sts,pvc`` lists them;
- a deleted pod comes back under the same name, after its old process stopped, and finds the data
  its predecessor wrote;
- a template change rolls the pods from the highest ordinal down, one at a time, and the status
  ends with ``currentRevision == updateRevision``; a pod that never becomes Ready halts the update
  (as upstream) until it is deleted;
- scaling down deletes the highest ordinals and keeps their claims and data; deleting a claim
  removes its data.
"""

from __future__ import annotations

import asyncio
import pathlib
from typing import Any

from serinus.kube import Kube
from serinus.sandbox.workloads import WorkloadRunner
from tests.sandbox.workloads.support import Kubectl, Recorder, eventually, ready, shell

APPS = "apps/v1"


def statefulset(
    mount: pathlib.Path, *, replicas: int = 3, env: str = "1", probe: bool = False
) -> dict[str, Any]:
    script = f'echo "$HOSTNAME v$VERSION" >> {mount}/log; exec sleep 600'
    container = shell("app", script, env=[{"name": "VERSION", "value": env}])
    container["volumeMounts"] = [{"name": "data", "mountPath": str(mount)}]
    if probe:
        container["readinessProbe"] = {
            "exec": {"command": ["test", "!", "-e", f"{mount}/broken"]},
            "periodSeconds": 1,
            "failureThreshold": 1,
        }
    return {
        "apiVersion": APPS,
        "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "prod"},
        "spec": {
            "replicas": replicas,
            "serviceName": "web",
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [container], "terminationGracePeriodSeconds": 1},
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
        },
    }


async def web_pods(kube: Kube) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in await kube.list("v1", "Pod", "prod", {"app": "web"})}


async def all_ready(kube: Kube, names: list[str]) -> dict[str, dict[str, Any]] | None:
    found = await web_pods(kube)
    if sorted(found) == names and all(ready(p) for p in found.values()):
        return found
    return None


async def rolled_out(kube: Kube, replicas: int) -> dict[str, Any] | None:
    found = await kube.get(APPS, "StatefulSet", "web", "prod") or {}
    status = found.get("status") or {}
    done = (
        status.get("observedGeneration") == found["metadata"]["generation"]
        and status.get("updatedReplicas") == status.get("readyReplicas") == replicas
        and status.get("currentRevision") == status.get("updateRevision")
    )
    return status if done else None


def claim_log(sandbox_dir: pathlib.Path, claim: str) -> list[str]:
    path = sandbox_dir / "volumes" / "prod" / claim / "log"
    return path.read_text().splitlines() if path.exists() else []


async def test_stable_names_in_order_with_their_claims(
    kube: Kube,
    runner: WorkloadRunner,
    sandbox_dir: pathlib.Path,
    tmp_path: pathlib.Path,
    kubectl: Kubectl,
) -> None:
    recorder = Recorder(kube, "v1", "Pod")
    try:
        await kube.create(statefulset(tmp_path / "mnt"))
        found = await eventually(
            lambda: all_ready(kube, ["web-0", "web-1", "web-2"]), what="3 ready pods"
        )
    finally:
        await recorder.close()
    created = [obj["metadata"]["name"] for event, obj in recorder.events if event == "ADDED"]
    assert created == ["web-0", "web-1", "web-2"]
    for later in ("web-1", "web-2"):
        before = f"web-{int(later[-1]) - 1}"
        first_seen = next(i for i, state in enumerate(recorder.states()) if later in state)
        assert ready(recorder.states()[first_seen - 1][before]), (
            f"{later} came before {before} was Ready"
        )
    for name, pod in found.items():
        assert pod["spec"]["hostname"] == name
        assert pod["spec"]["subdomain"] == "web"
        assert pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == name
        (volume,) = pod["spec"]["volumes"]
        assert volume == {"name": "data", "persistentVolumeClaim": {"claimName": f"data-{name}"}}
    claims = {
        c["metadata"]["name"]: c for c in await kube.list("v1", "PersistentVolumeClaim", "prod")
    }
    assert sorted(claims) == ["data-web-0", "data-web-1", "data-web-2"]
    assert {c["status"]["phase"] for c in claims.values()} == {"Bound"}
    assert claims["data-web-0"]["metadata"]["labels"] == {"app": "web"}
    await eventually(lambda: _logged(sandbox_dir, "web-2", ["web-2 v1"]), what="web-2's first line")
    assert claim_log(sandbox_dir, "data-web-0") == ["web-0 v1"]
    assert not (tmp_path / "mnt" / "log").exists(), "the mount leaked onto the machine"
    listed = (await kubectl.run("get", "sts,pvc", "-n", "prod")).stdout
    assert "statefulset.apps/web   3/3" in listed
    assert "persistentvolumeclaim/data-web-2   Bound" in listed


async def _logged(sandbox_dir: pathlib.Path, pod: str, lines: list[str]) -> bool:
    return claim_log(sandbox_dir, f"data-{pod}") == lines


async def test_a_deleted_pod_comes_back_with_its_data(
    kube: Kube, runner: WorkloadRunner, sandbox_dir: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    await kube.create(statefulset(tmp_path / "mnt", replicas=2))
    before = await eventually(lambda: all_ready(kube, ["web-0", "web-1"]), what="2 ready pods")
    await kube.delete("v1", "Pod", "web-1", "prod")

    async def back() -> dict[str, Any] | None:
        found = await all_ready(kube, ["web-0", "web-1"])
        uid = before["web-1"]["metadata"]["uid"]
        return found if found and found["web-1"]["metadata"]["uid"] != uid else None

    await eventually(back, what="web-1 recreated")
    await eventually(
        lambda: _logged(sandbox_dir, "web-1", ["web-1 v1", "web-1 v1"]),
        what="two lines in data-web-1",
    )


async def test_updates_go_from_the_highest_ordinal_down_one_at_a_time(
    kube: Kube, runner: WorkloadRunner, sandbox_dir: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    await kube.create(statefulset(tmp_path / "mnt"))
    await eventually(lambda: rolled_out(kube, 3), what="the first rollout")
    recorder = Recorder(kube, "v1", "Pod")
    try:
        patch = {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [{"name": "app", "env": [{"name": "VERSION", "value": "2"}]}]
                    }
                }
            }
        }
        await kube.patch(APPS, "StatefulSet", "web", "prod", patch, patch_type="strategic")
        status = await eventually(lambda: rolled_out(kube, 3), what="the update")
    finally:
        await recorder.close()
    deleted = [obj["metadata"]["name"] for event, obj in recorder.events if event == "DELETED"]
    assert deleted == ["web-2", "web-1", "web-0"]
    present = {"web-0", "web-1", "web-2"}
    for event, obj in recorder.events:
        if event == "DELETED":
            present.discard(obj["metadata"]["name"])
        else:
            present.add(obj["metadata"]["name"])
        assert len(present) >= 2, "more than one pod was down at a time"
    pods = await web_pods(kube)
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in pods.values()} == {
        status["updateRevision"]
    }
    for n in range(3):
        assert claim_log(sandbox_dir, f"data-web-{n}") == [f"web-{n} v1", f"web-{n} v2"]


async def test_an_unready_pod_halts_the_update_until_deleted(
    kube: Kube, runner: WorkloadRunner, tmp_path: pathlib.Path
) -> None:
    mount = tmp_path / "mnt"
    await kube.create(statefulset(mount, replicas=2, probe=True))
    await eventually(lambda: rolled_out(kube, 2), what="the first rollout")
    claim = runner.layout.root / "volumes" / "prod" / "data-web-0"
    (claim / "broken").touch()  # web-0 turns unready
    await eventually(lambda: _not_ready(kube, "web-0"), what="web-0 unready")
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "app", "env": [{"name": "VERSION", "value": "2"}]}]
                }
            }
        }
    }
    await kube.patch(APPS, "StatefulSet", "web", "prod", patch, patch_type="strategic")
    pods = await eventually(lambda: _updated(kube, ["web-0"], stale=True), what="no pod updated")
    assert (
        pods["web-1"]["metadata"]["labels"]["controller-revision-hash"]
        != (await _sts_status(kube))["updateRevision"]
    )
    (claim / "broken").unlink()
    await kube.delete("v1", "Pod", "web-0", "prod")
    await eventually(lambda: rolled_out(kube, 2), what="the update once web-0 was deleted")


async def _not_ready(kube: Kube, name: str) -> bool:
    pod = (await web_pods(kube)).get(name)
    return pod is not None and not ready(pod)


async def _sts_status(kube: Kube) -> dict[str, Any]:
    return ((await kube.get(APPS, "StatefulSet", "web", "prod")) or {}).get("status") or {}


async def _updated(
    kube: Kube, names: list[str], *, stale: bool
) -> dict[str, dict[str, Any]] | None:
    """The pods, once the StatefulSet saw the new template and (stale) updated none of them."""
    status = await _sts_status(kube)
    pods = await web_pods(kube)
    update = status.get("updateRevision")
    revisions = {p["metadata"]["labels"]["controller-revision-hash"] for p in pods.values()}
    return pods if stale and update and update not in revisions and len(pods) == 2 else None


async def test_scaling_down_keeps_claims_and_deleting_a_claim_drops_its_data(
    kube: Kube, runner: WorkloadRunner, sandbox_dir: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    await kube.create(statefulset(tmp_path / "mnt"))
    await eventually(lambda: rolled_out(kube, 3), what="3 pods")
    await kube.patch(APPS, "StatefulSet", "web", "prod", {"spec": {"replicas": 1}})
    await eventually(lambda: all_ready(kube, ["web-0"]), what="one pod left")
    claims = sorted(
        c["metadata"]["name"] for c in await kube.list("v1", "PersistentVolumeClaim", "prod")
    )
    assert claims == ["data-web-0", "data-web-1", "data-web-2"]
    assert claim_log(sandbox_dir, "data-web-2") == ["web-2 v1"]
    await kube.delete("v1", "PersistentVolumeClaim", "data-web-2", "prod")
    await eventually(
        lambda: _gone(sandbox_dir / "volumes" / "prod" / "data-web-2"),
        what="the claim's data removed",
    )


async def _gone(path: pathlib.Path) -> bool:
    return not await asyncio.to_thread(path.exists)
