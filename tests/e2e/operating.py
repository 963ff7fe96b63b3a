"""What the operating tests share: a sandbox with a Canary that runs slowly enough to act on.

:func:`running_sandbox` starts the sandbox once for a module, deploys podinfo and a Canary with a
2 s interval, ten steps of 5% up to 50% and the seed's load test, and waits until it is
Initialized. The readers look at the Canary and its TrafficSplit as kubectl shows them, and
:func:`serinus_cli` / :func:`kubectl_serinus` run the two CLIs against the sandbox's kubeconfig,
with this Python's ``bin`` on PATH (where the package installed ``kubectl-serinus``).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import yaml

from serinus.sandbox import manifests
from tests.e2e.support import Sandbox

T = TypeVar("T")
BUNDLED = pathlib.Path(manifests.__file__).parent
BIN = pathlib.Path(sys.executable).parent
INTERVAL = 2.0

CANARY = {
    "apiVersion": "flagger.app/v1beta1",
    "kind": "Canary",
    "metadata": {"name": "podinfo", "namespace": "prod"},
    "spec": {
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
        "service": {"port": 9898},
        "analysis": {
            "interval": "2s",
            "threshold": 10,
            "stepWeight": 5,
            "maxWeight": 50,
            "metrics": [
                {"name": "request-success-rate", "thresholdRange": {"min": 99},
                 "interval": "1m", "onNoData": "wait"},
            ],
            "webhooks": [
                {"name": "load-test", "url": "http://load-tester.prod/",
                 "metadata": {"cmd": "hey -z 10m -q 10 -c 2 http://podinfo:9898/"}},
            ],
        },
    },
}  # fmt: skip


def environment(box: Sandbox) -> dict[str, str]:
    return {**box.env, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def run(box: Sandbox, *words: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(words), capture_output=True, text=True, env=environment(box), timeout=timeout,
        check=False,
    )  # fmt: skip


def serinus_cli(box: Sandbox, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run(box, sys.executable, "-m", "serinus", *args, timeout=timeout)


def kubectl_serinus(
    box: Sandbox, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return run(box, "kubectl", "serinus", *args, timeout=timeout)


def background(box: Sandbox, *words: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        list(words), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=environment(box),
    )  # fmt: skip


def eventually(
    what: str, probe: Callable[[], T], accept: Callable[[T], bool], within: float = 90
) -> T:
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if accept(value):
            return value
        assert time.monotonic() < deadline, f"{what}: still {value!r} after {within:g}s"
        time.sleep(0.2)


def canary(box: Sandbox) -> dict[str, Any]:
    return json.loads(box.kubectl("-n", "prod", "get", "canary", "podinfo", "-o", "json"))


def status(box: Sandbox) -> dict[str, Any]:
    return canary(box).get("status") or {}


def split(box: Sandbox) -> tuple[int, int]:
    found = json.loads(box.kubectl("-n", "prod", "get", "trafficsplit", "podinfo", "-o", "json"))
    weights = {b["service"]: int(b["weight"]) for b in found["spec"]["backends"]}
    return weights["podinfo-primary"], weights["podinfo-canary"]


def release(box: Sandbox, version: str) -> None:
    box.kubectl(
        "-n",
        "prod",
        "set",
        "image",
        "deployment/podinfo",
        f"podinfo=stefanprodan/podinfo:{version}",
    )
    eventually("the run starts", lambda: status(box).get("phase"), lambda p: p == "Progressing")


def deploy(box: Sandbox, directory: pathlib.Path) -> None:
    box.kubectl("apply", "-f", str(BUNDLED / "podinfo.yaml"))
    path = directory / "canary.yaml"
    path.write_text(yaml.safe_dump(CANARY))
    box.kubectl("apply", "-f", str(path))
    eventually("Initialized", lambda: status(box).get("phase"), lambda p: p == "Initialized")


def operator_address(box: Sandbox) -> str:
    pods = json.loads(box.kubectl("-n", "serinus-system", "get", "pods", "-o", "json"))["items"]
    running = [p for p in pods if (p.get("status") or {}).get("podIP")]
    assert running, "the operator has no pod address"
    return str(running[0]["status"]["podIP"])


def grant(box: Sandbox, namespace: str, account: str, verbs: str) -> str:
    """A ServiceAccount allowed ``verbs`` on canaries in ``namespace``; its token."""
    box.kubectl("create", "namespace", namespace, check=False)
    box.kubectl("-n", namespace, "create", "serviceaccount", account)
    box.kubectl("-n", namespace, "create", "role", f"{account}-canaries", f"--verb={verbs}",
                "--resource=canaries.flagger.app")  # fmt: skip
    subject = f"--serviceaccount={namespace}:{account}"
    box.kubectl("-n", namespace, "create", "rolebinding", f"{account}-canaries",
                f"--role={account}-canaries", subject)  # fmt: skip
    return box.kubectl("-n", namespace, "create", "token", account).strip()
