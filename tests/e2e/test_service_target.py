"""A plain Service as the Canary's target: the kubernetes provider's blue/green, in the sandbox.

Covers: Deployments ``backend-v1``, ``-v2`` and ``-v3`` (podinfo 2.1.0, 2.1.1, and 2.1.2 whose
readiness probe never passes) and a Service ``backend`` selecting v1, applied with kubectl; a
Canary with ``targetRef.kind: Service`` and ``provider: kubernetes`` initializes
``backend-primary`` and ``backend-canary`` as copies of the target; ``kubectl patch`` of the
target's selector to v2 runs three iterations (a load test against ``backend-canary`` through the
load tester) and is promoted: ``backend-primary`` selects v2 and answers 2.1.1 at the same cluster
IP; the selector patched to v3 is not judged on pods that never serve: the run waits ("service
backend-canary.prod not ready") and is rolled back at the progress deadline, ``backend-primary``
still on v2. A client of ``backend-primary`` (hey, 10 requests per second) sees no failed request
through the whole story, and serinus never writes the target Service.
"""

from __future__ import annotations

import json
import pathlib
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

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

VERSIONS = {"v1": "2.1.0", "v2": "2.1.1", "v3": "2.1.2"}


def deployment(version: str) -> dict[str, Any]:
    name = f"backend-{version}"
    probe = "/readyz" if version != "v3" else "/never-ready"
    container = {
        "name": "podinfo",
        "image": f"stefanprodan/podinfo:{VERSIONS[version]}",
        "command": ["./podinfo", "--port=9898", "--level=debug"],
        "ports": [{"name": "http", "containerPort": 9898}],
        "readinessProbe": {"httpGet": {"path": probe, "port": "http"}, "periodSeconds": 1},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "prod"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container]},
            },
        },
    }


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "backend", "namespace": "prod"},
    "spec": {
        "selector": {"app": "backend-v1"},
        "ports": [{"name": "http", "port": 9898, "targetPort": "http"}],
    },
}

CANARY = {
    "apiVersion": "flagger.app/v1beta1",
    "kind": "Canary",
    "metadata": {"name": "backend", "namespace": "prod"},
    "spec": {
        "provider": "kubernetes",
        "targetRef": {"apiVersion": "v1", "kind": "Service", "name": "backend"},
        "progressDeadlineSeconds": 15,
        "service": {"port": 9898},
        "analysis": {
            "interval": "2s",
            "threshold": 2,
            "iterations": 3,
            "webhooks": [
                {
                    "name": "load-test",
                    "url": "http://load-tester.prod/",
                    "metadata": {"cmd": "hey -z 10s -q 5 -c 1 http://backend-canary.prod:9898/"},
                }
            ],
        },
    },
}


def version_behind(box: Sandbox, service: str) -> str:
    url = f"http://{service}.prod:9898/version"
    done = box.serinus("sandbox", "shell", "--", "curl", "-s", "-m", "5", url)
    assert done.returncode == 0, done.stdout + done.stderr
    return str(json.loads(done.stdout)["version"])


def select(box: Sandbox, version: str) -> None:
    patch = json.dumps({"spec": {"selector": {"app": f"backend-{version}"}}})
    box.kubectl("-n", "prod", "patch", "service", "backend", "--type", "merge", "-p", patch)


def test_service_target_blue_green_promoted_and_rolled_back(tmp_path: pathlib.Path) -> None:
    with sandbox(tmp_path / "sandbox") as box:
        for version in VERSIONS:
            apply(box, deployment(version), tmp_path)
        apply(box, SERVICE, tmp_path)
        wait_for(
            "backend-v1 and -v2 available",
            lambda: all(
                get(box, "deployment", f"backend-{v}").get("status", {}).get("availableReplicas")
                for v in ("v1", "v2")
            ),
        )
        apply(box, CANARY, tmp_path)
        wait_for("Initialized", lambda: phase(box, "backend") == "Initialized")
        primary = get(box, "service", "backend-primary")
        assert primary["spec"]["selector"] == {"app": "backend-v1"}
        assert get(box, "service", "backend-canary")["spec"]["selector"] == {"app": "backend-v1"}
        assert version_behind(box, "backend-primary") == "2.1.0"
        target_writes = get(box, "service", "backend")["metadata"]["resourceVersion"]

        client = Client(box, "http://backend-primary.prod:9898/")
        try:
            time.sleep(2)
            select(box, "v2")
            target_writes = get(box, "service", "backend")["metadata"]["resourceVersion"]
            wait_for("Progressing", lambda: phase(box, "backend") == "Progressing", within=30)
            assert version_behind(box, "backend-canary") == "2.1.1"
            assert version_behind(box, "backend-primary") == "2.1.0"
            wait_for("Succeeded", lambda: phase(box, "backend") == "Succeeded", within=90)
            promoted = get(box, "service", "backend-primary")
            assert promoted["spec"]["selector"] == {"app": "backend-v2"}
            assert promoted["spec"]["clusterIP"] == primary["spec"]["clusterIP"]
            wait_for("2.1.1 behind backend-primary", lambda: version_behind(
                box, "backend-primary") == "2.1.1")  # fmt: skip

            select(box, "v3")
            target_writes = get(box, "service", "backend")["metadata"]["resourceVersion"]
            wait_for("Failed", lambda: phase(box, "backend") == "Failed", within=90)
            assert get(box, "service", "backend-primary")["spec"]["selector"] == {
                "app": "backend-v2"
            }
            assert version_behind(box, "backend-primary") == "2.1.1"
            time.sleep(2)
        finally:
            output = client.stop()
        report = client_report(output)
        assert report.requests > 150, output
        assert report.failed_requests == 0, output
        assert set(report.status_codes) == {200}, output
        assert get(box, "service", "backend")["metadata"]["resourceVersion"] == target_writes, (
            "serinus wrote the target Service"
        )

        events = json.loads(box.kubectl("-n", "prod", "get", "events", "-o", "json"))["items"]
        messages = [e.get("message", "") for e in events]
        assert any(m.startswith("service backend-canary.prod not ready") for m in messages), (
            messages
        )
        log = operator_log(box)
        assert "Copying backend.prod template spec to backend-primary.prod" in log, log
        stuck = [m for m in log if m.startswith("service backend-canary.prod not ready")]
        assert any("progressDeadlineSeconds is 15" in m for m in stuck), log
