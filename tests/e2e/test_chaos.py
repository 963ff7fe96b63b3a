"""Every part of the sandbox killed once during a canary run, and the run still ends as it should.

The seed's Canary (a 3 s interval, steps of 25) with a ``confirm-promotion`` gate on the load
tester holds a good release (podinfo 2.1.1) at full weight, under the analysis and the load test,
while the parts are killed with SIGKILL one after the other: the API server, the workload runner,
the mesh proxy, Prometheus, then the operator's and the load tester's pods (their whole process
groups, as a container crashes). Each is waited for until it serves again before the next is
killed. Then the gate is opened. Covers:
- the supervisor restarts each part (``state.json`` and ``serinus sandbox status``: one restart,
  last exit ``signal SIGKILL``), and the workload runner restarts the two pods' containers
  (restartCount 1, last exit 137);
- the run never fails meanwhile and ends Succeeded with the primary on 2.1.1, the Canary's
  status carried across the operator's restart; the failed checks the kills caused stay under
  the seed's threshold of 5 (printed, for the report).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from serinus.sandbox import manifests
from serinus.sandbox.orchestration import processes, state
from tests.e2e.support import Sandbox, sandbox

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

BUNDLED = pathlib.Path(manifests.__file__).parent
PARTS = ("apiserver", "workloads", "mesh", "prometheus")
PODS = (("serinus-system", "serinus"), ("prod", "load-tester"))


@pytest.fixture
def box(tmp_path: pathlib.Path) -> Iterator[Sandbox]:
    with sandbox(tmp_path / "sandbox") as it:
        yield it


def wait_for(what: str, check: Callable[[], Any], within: float = 60) -> Any:
    deadline = time.monotonic() + within
    while True:
        try:
            found = check()
        except AssertionError:  # kubectl while the API server restarts
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {within}s"
        time.sleep(0.3)


def canary(tmp: pathlib.Path) -> pathlib.Path:
    seed = yaml.safe_load((BUNDLED / "canary.yaml").read_text())
    analysis = seed["spec"]["canaryAnalysis"]
    analysis.update(interval="3s", stepWeight=25)
    analysis["webhooks"].append(
        {
            "name": "approval",
            "type": "confirm-promotion",
            "url": "http://load-tester.prod/gate/check",
        }
    )
    path = tmp / "canary.yaml"
    path.write_text(yaml.safe_dump(seed))
    return path


def status(box: Sandbox) -> dict[str, Any]:
    found = box.kubectl("-n", "prod", "get", "canary", "podinfo", "-o", "jsonpath={.status}")
    return json.loads(found or "{}")


def kill_part(box: Sandbox, name: str) -> None:
    before = state.load(box.directory)
    assert before is not None
    os.kill(before.parts[name].pid, signal.SIGKILL)

    def restarted() -> bool:
        now = state.load(box.directory)
        part = now.parts[name] if now else None
        return part is not None and part.restarts == 1 and processes.alive(part.pid)

    wait_for(f"{name} restarted", restarted, within=30)
    wait_for(f"{name} serving", lambda: box.kubectl("get", "nodes") and status(box))


def kill_pod(box: Sandbox, namespace: str, app: str) -> None:
    pod = json.loads(box.kubectl("-n", namespace, "get", "pods", "-o", "json"))["items"]
    [found] = [p for p in pod if p["metadata"]["name"].startswith(f"{app}-")]
    container = found["status"]["containerStatuses"][0]
    pid = int(container["containerID"].removeprefix("sandbox://"))
    os.killpg(pid, signal.SIGKILL)  # the container's whole process group, as a crash

    def back() -> dict[str, Any] | None:
        items = json.loads(box.kubectl("-n", namespace, "get", "pods", "-o", "json"))["items"]
        for item in items:
            statuses = item["status"].get("containerStatuses") or [{}]
            if (
                item["metadata"]["name"] == found["metadata"]["name"]
                and statuses[0].get("ready")
                and statuses[0].get("restartCount") == 1
            ):
                return statuses[0]
        return None

    restarted = wait_for(f"{app} restarted", back, within=60)
    assert restarted["lastState"]["terminated"]["exitCode"] == 137


def test_each_part_killed_once_during_a_run(box: Sandbox, tmp_path: pathlib.Path) -> None:
    box.kubectl("apply", "-f", str(BUNDLED / "podinfo.yaml"))
    box.kubectl("apply", "-f", str(canary(tmp_path)))
    wait_for("Initialized", lambda: status(box).get("phase") == "Initialized", within=90)
    box.kubectl(
        "-n", "prod", "set", "image", "deployment/podinfo", "podinfo=stefanprodan/podinfo:2.1.1"
    )
    wait_for("the run", lambda: status(box).get("phase") == "Progressing", within=60)

    for name in PARTS:
        kill_part(box, name)
        assert status(box)["phase"] == "Progressing", f"after killing {name}: {status(box)}"
    for namespace, app in PODS:
        kill_pod(box, namespace, app)
        assert status(box)["phase"] == "Progressing", f"after killing {app}: {status(box)}"

    wait_for("full weight", lambda: status(box).get("canaryWeight") == 100, within=90)
    opened = box.serinus(
        "sandbox", "shell", "--", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
        "-d", '{"name": "podinfo", "namespace": "prod"}', "http://load-tester.prod/gate/open",
    )  # fmt: skip
    assert opened.stdout == "202", opened.stdout + opened.stderr
    wait_for("the end of the run", lambda: status(box).get("phase") in ("Succeeded", "Failed"), 120)
    ended = status(box)
    print(f"failed checks caused by the kills: {ended.get('failedChecks')}")
    assert ended["phase"] == "Succeeded", ended
    assert int(ended.get("failedChecks") or 0) < 5
    primary = box.kubectl(
        "-n", "prod", "get", "deploy", "podinfo-primary", "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    )  # fmt: skip
    assert primary == "stefanprodan/podinfo:2.1.1"

    shown = box.serinus("sandbox", "status")
    assert shown.returncode == 0, shown.stderr
    recorded = state.load(box.directory)
    assert recorded is not None
    for name in PARTS:
        assert recorded.parts[name].restarts == 1
        assert recorded.parts[name].last_exit == "signal SIGKILL"
    cells = re.sub(r"[\s│]+", " ", shown.stdout)  # the table's wrapped cells, joined again
    assert cells.count("signal SIGKILL at") >= len(PARTS), shown.stdout
    assert cells.count("1 restart, last exit code 137 (Error)") == len(PODS), shown.stdout
