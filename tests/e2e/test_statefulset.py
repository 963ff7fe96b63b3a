"""A StatefulSet released through a Canary in the sandbox, with the real operator, under load.

Covers: ``kubectl apply`` of a podinfo StatefulSet (two replicas, a claim template mounted at a
path of the test) and a Canary whose ``targetRef`` is that StatefulSet; initialisation creates
``podinfo-primary`` with pods ``podinfo-primary-0`` and ``-1`` and their claims; files written into
the primary's volumes with ``kubectl exec``; ``kubectl set image`` of 2.1.1 is analysed on the
Linkerd success rate (the ``statefulset`` label) and promoted, the primary's pods replaced one by
one at the new revision, and the files are still there, read through the new pods; 2.1.2 with
HTTP 500s sent to ``podinfo-canary`` is rolled back, the primary's pods untouched; with
``podinfo-primary-0`` made unready, 2.1.3 is promoted all the same (``unreadyPods: delete``: serinus
deletes the pod the StatefulSet's rolling update would wait for, its claim stays); 2Gi claim
templates, which the API server refuses as an update, released by replacing the target
(``kubectl delete --cascade=orphan``, then apply) with 2.1.4: serinus replaces the primary object,
its pods roll to 2.1.4 on their old claims and still read their files; ``unreadyPods:
scaleFromZero`` with 2.1.5: all traffic to the canary, the primary stopped and started again at
2.1.5, files still there; a client sending ``GET /`` to ``podinfo`` through the whole story (hey,
10 requests per second) sees no failed request; no claim is ever deleted or replaced.
"""

from __future__ import annotations

import pathlib
import subprocess
import time
from typing import Any

import pytest

from tests.e2e.support import (
    Client,
    Sandbox,
    apply,
    client_report,
    get,
    operator_log,
    phase,
    sandbox,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]


def statefulset(
    mount: pathlib.Path, image: str = "stefanprodan/podinfo:2.1.0", storage: str = "1Gi"
) -> dict[str, Any]:
    container = {
        "name": "podinfo",
        "image": image,
        "command": ["./podinfo", "--port=9898"],
        "ports": [{"name": "http", "containerPort": 9898}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 1},
        "volumeMounts": [{"name": "data", "mountPath": str(mount)}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "podinfo", "namespace": "prod", "labels": {"app": "podinfo"}},
        "spec": {
            "replicas": 2,
            "serviceName": "podinfo",
            "selector": {"matchLabels": {"app": "podinfo"}},
            "template": {
                "metadata": {"labels": {"app": "podinfo"}},
                "spec": {"terminationGracePeriodSeconds": 5, "containers": [container]},
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": storage}},
                    },
                }
            ],
        },
    }


CANARY = {
    "apiVersion": "flagger.app/v1beta1",
    "kind": "Canary",
    "metadata": {"name": "podinfo", "namespace": "prod"},
    "spec": {
        "targetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "podinfo"},
        "service": {"port": 9898},
        "analysis": {
            "interval": "3s",
            "threshold": 2,
            "stepWeight": 25,
            "maxWeight": 50,
            "metrics": [
                {"name": "request-success-rate", "thresholdRange": {"min": 99}, "interval": "15s"}
            ],
            "webhooks": [
                {
                    "name": "load-test",
                    "url": "http://load-tester.prod/",
                    "metadata": {"cmd": "hey -z 1m -q 10 -c 2 http://podinfo-canary.prod:9898/"},
                }
            ],
        },
    },
}


def pods(box: Sandbox, prefix: str) -> dict[str, dict[str, Any]]:
    found = get(box, "pods")["items"]
    return {
        p["metadata"]["name"]: p for p in found if p["metadata"]["name"].rsplit("-", 1)[0] == prefix
    }


def ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def primary_ready_at(box: Sandbox, image: str) -> dict[str, dict[str, Any]] | None:
    found = pods(box, "podinfo-primary")
    images = {p["spec"]["containers"][0]["image"] for p in found.values()}
    if sorted(found) == ["podinfo-primary-0", "podinfo-primary-1"] and images == {image}:
        return found if all(ready(p) for p in found.values()) else None
    return None


def claims(box: Sandbox) -> dict[str, str]:
    return {c["metadata"]["name"]: c["metadata"]["uid"] for c in get(box, "pvc")["items"]}


def set_image(box: Sandbox, version: str) -> None:
    """``kubectl set image`` of podinfo ``version`` on the target: a new release."""
    image = f"podinfo=stefanprodan/podinfo:{version}"
    box.kubectl("-n", "prod", "set", "image", "statefulset/podinfo", image)


def run_succeeds(box: Sandbox) -> None:
    """The release starts a run, and the run succeeds."""
    wait_for("Progressing", lambda: phase(box) == "Progressing", within=60)
    wait_for("Succeeded", lambda: phase(box) == "Succeeded", within=180)


def inject(box: Sandbox, seconds: int) -> subprocess.CompletedProcess[str]:
    url = "http://podinfo-canary.prod:9898/status/500"
    words = ["hey", "-z", f"{seconds}s", "-q", "10", "-c", "2", url]
    return box.serinus("sandbox", "shell", "--", *words, timeout=seconds + 60)


def test_statefulset_canary_promoted_and_rolled_back_under_load(tmp_path: pathlib.Path) -> None:
    mount = tmp_path / "data"
    with sandbox(tmp_path / "sandbox") as box:
        apply(box, statefulset(mount), tmp_path)
        wait_for(
            "podinfo-0 and -1",
            lambda: len([p for p in pods(box, "podinfo").values() if ready(p)]) == 2,
        )
        apply(box, CANARY, tmp_path)
        wait_for("Initialized", lambda: phase(box) == "Initialized")
        initial = wait_for(
            "the primary", lambda: primary_ready_at(box, "stefanprodan/podinfo:2.1.0")
        )
        for name in initial:
            box.kubectl(
                "-n",
                "prod",
                "exec",
                name,
                "--",
                "sh",
                "-c",
                f"echo written-by-$HOSTNAME > {mount}/marker",
            )
        before = claims(box)
        assert set(before) == {
            "data-podinfo-0",
            "data-podinfo-1",
            "data-podinfo-primary-0",
            "data-podinfo-primary-1",
        }

        client = Client(box)
        try:
            time.sleep(3)
            set_image(box, "2.1.1")
            wait_for("Succeeded", lambda: phase(box) == "Succeeded", within=180)
            promoted = markers_kept(box, mount, "stefanprodan/podinfo:2.1.1")
            for name, pod in promoted.items():
                assert pod["metadata"]["uid"] != initial[name]["metadata"]["uid"], (
                    f"{name} was not replaced"
                )

            set_image(box, "2.1.2")
            wait_for("Progressing", lambda: phase(box) == "Progressing", within=60)
            for _ in range(12):  # 5 s of 500s at a time until the rollback
                if phase(box) != "Progressing":
                    break
                inject(box, 5)
            assert phase(box) == "Failed"
            after_rollback = primary_ready_at(box, "stefanprodan/podinfo:2.1.1")
            assert after_rollback is not None
            assert {n: p["metadata"]["uid"] for n, p in after_rollback.items()} == {
                n: p["metadata"]["uid"] for n, p in promoted.items()
            }, "the rollback touched the primary's pods"
            wait_for("the canary scaled to zero", lambda: pods(box, "podinfo") == {})
            unready_primary_pod_does_not_hold_promotion(box, mount, promoted)
            new_claim_templates_replace_the_primary(box, mount, tmp_path)
            promotion_from_zero(box, mount)
            time.sleep(3)
        finally:
            output = client.stop()
        report = client_report(output)
        assert report.requests > 300, output
        assert report.failed_requests == 0, output
        assert set(report.status_codes) == {200}, output

        assert claims(box) == before, "a claim was deleted or replaced"
        log = operator_log(box)
        assert "Copying podinfo.prod template spec to podinfo-primary.prod" in log
        assert "Promotion completed! Scaling down podinfo.prod" in log
        assert "Rolling back podinfo.prod failed checks threshold reached 2" in log
        assert any(m.startswith("Halt podinfo.prod advancement success rate") for m in log)
        assert any(
            m.startswith("Deleted pod podinfo-primary-0.prod: not ready at revision") for m in log
        ), log
        assert any(
            m.startswith("podinfo-primary.prod: volumeClaimTemplates, serviceName or") for m in log
        ), log
        assert "Routing all traffic to canary" in log
        assert "Scaling podinfo-primary.prod to zero to start it again at the new revision" in log
        assert "Scaling podinfo-primary.prod from zero to 2" in log


def markers_kept(box: Sandbox, mount: pathlib.Path, image: str) -> dict[str, dict[str, Any]]:
    """The primary, all at ``image`` and ready; each pod still reads what it wrote at first."""
    promoted = wait_for(f"the primary at {image}", lambda: primary_ready_at(box, image))
    for name in promoted:
        kept = box.kubectl("-n", "prod", "exec", name, "--", "cat", f"{mount}/marker")
        assert kept.strip() == f"written-by-{name}"
    return promoted


def new_claim_templates_replace_the_primary(
    box: Sandbox, mount: pathlib.Path, directory: pathlib.Path
) -> None:
    """2Gi claims and 2.1.4: Kubernetes refuses new claim templates on a StatefulSet, so the
    target is replaced as the docs say; serinus replaces the primary object, keeping its pods'
    claims, and the primary's pods roll to 2.1.4 on them."""
    box.kubectl(
        "-n", "prod", "patch", "statefulset", "podinfo", "--type", "json", "-p",
        '[{"op": "replace", "path": "/spec/volumeClaimTemplates/0/spec/resources/requests/storage",'
        ' "value": "2Gi"}]',
        check=False,
    )  # fmt: skip
    claim = get(box, "statefulset", "podinfo")["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi", "new claim templates taken"
    box.kubectl("-n", "prod", "delete", "statefulset", "podinfo", "--cascade=orphan")
    apply(box, statefulset(mount, "stefanprodan/podinfo:2.1.4", "2Gi"), directory)
    run_succeeds(box)
    markers_kept(box, mount, "stefanprodan/podinfo:2.1.4")
    claims_of = get(box, "statefulset", "podinfo-primary")["spec"]["volumeClaimTemplates"]
    assert claims_of[0]["spec"]["resources"]["requests"]["storage"] == "2Gi"


def promotion_from_zero(box: Sandbox, mount: pathlib.Path) -> None:
    """unreadyPods: scaleFromZero. All traffic goes to the canary, the primary stops and starts
    again at 2.1.5 in order, then takes the traffic back."""
    patch = '{"spec":{"statefulSet":{"unreadyPods":"scaleFromZero"}}}'
    box.kubectl("-n", "prod", "patch", "canary", "podinfo", "--type", "merge", "-p", patch)
    set_image(box, "2.1.5")
    run_succeeds(box)
    markers_kept(box, mount, "stefanprodan/podinfo:2.1.5")


def unready_primary_pod_does_not_hold_promotion(
    box: Sandbox, mount: pathlib.Path, primary: dict[str, dict[str, Any]]
) -> None:
    """unreadyPods: delete. podinfo-primary-0 turns unready; Kubernetes would hold the primary's
    rolling update for it for ever; serinus deletes it and the promotion completes."""
    patch = '{"spec":{"analysis":{"primaryReadyThreshold":50}}}'
    box.kubectl("-n", "prod", "patch", "canary", "podinfo", "--type", "merge", "-p", patch)
    ip = primary["podinfo-primary-0"]["status"]["podIP"]
    box.serinus(
        "sandbox", "shell", "--", "curl", "-s", "-X", "POST", f"http://{ip}:9898/readyz/disable"
    )
    wait_for(
        "podinfo-primary-0 unready",
        lambda: not ready(pods(box, "podinfo-primary")["podinfo-primary-0"]),
    )
    set_image(box, "2.1.3")
    run_succeeds(box)
    promoted = wait_for(
        "the primary at 2.1.3", lambda: primary_ready_at(box, "stefanprodan/podinfo:2.1.3")
    )
    kept = box.kubectl("-n", "prod", "exec", "podinfo-primary-0", "--", "cat", f"{mount}/marker")
    assert kept.strip() == "written-by-podinfo-primary-0"
    assert (
        promoted["podinfo-primary-0"]["metadata"]["uid"]
        != primary["podinfo-primary-0"]["metadata"]["uid"]
    )
