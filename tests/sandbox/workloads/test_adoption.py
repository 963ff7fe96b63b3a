"""A workload runner killed and started again takes its pods over (covers ``serinus/sandbox/
workloads/adoption.py``, the shim in ``process.py`` and the runner's housekeeping), as a kubelet
that restarts leaves its containers running.

The runner runs as the sandbox runs it (``serinus sandbox part workloads``, a process of its own)
against an API server in the test; it is killed with SIGKILL, as a crash would end it. Covers:
- podinfo keeps running through the runner's death and its successor's start: the same process
  (``containerID``), no restart, still Ready, on the same address, answering every request sent
  while no runner was there and while the new one started;
- a container that exited while no runner ran is seen to have exited (its exit code, from the
  shim) and is restarted per the pod's policy, its restart count going on from the last run;
- the processes of a pod deleted while no runner ran are stopped by the new runner, and the
  pod's directory goes;
- the new runner, stopped cleanly, stops every pod process (nothing survives).
"""

from __future__ import annotations

import asyncio
import pathlib
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from serinus.kube import Kube
from serinus.sandbox.apiserver import ApiServer
from serinus.sandbox.orchestration import processes, state
from tests.sandbox.workloads.conftest import survivors
from tests.sandbox.workloads.support import deployment, eventually, podinfo, pods, ready, shell


class Runner:
    """``serinus sandbox part workloads`` for the sandbox directory, as a process."""

    def __init__(self, directory: pathlib.Path) -> None:
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.directory / "runner.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "serinus", "sandbox", "part", "workloads",
             "--dir", str(self.directory)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)


@pytest.fixture
async def runner_process(api: ApiServer, sandbox_dir: pathlib.Path) -> AsyncIterator[Runner]:
    api.write_kubeconfig(sandbox_dir / "kubeconfig")
    runner = Runner(sandbox_dir)
    try:
        yield runner
    finally:
        runner.stop()
        left = survivors(sandbox_dir)
        processes.kill_marked(state.canonical(sandbox_dir))  # whatever a failed test left
    assert left == [], "pod processes survived the runner"


async def one(kube: Kube, app: str) -> dict[str, Any] | None:
    found = await pods(kube, app)
    return found[0] if len(found) == 1 and ready(found[0]) else None


def container(pod: dict[str, Any]) -> dict[str, Any]:
    return pod["status"]["containerStatuses"][0]


async def test_a_killed_runner_is_succeeded_by_one_that_adopts_its_pods(
    kube: Kube, runner_process: Runner, sandbox_dir: pathlib.Path
) -> None:
    await kube.create(podinfo(replicas=1))
    await kube.create(deployment("short", [shell("short", "sleep 4; exit 3")]))
    lonely = shell("lonely", "sleep 600")
    await kube.create(deployment("lonely", [lonely]))
    runner_process.start()
    before = await eventually(lambda: one(kube, "podinfo"), what="podinfo ready")
    await eventually(lambda: one(kube, "lonely"), what="lonely running")
    [short] = await pods(kube, "short")
    address = before["status"]["podIP"]

    failures: list[str] = []
    answered = 0
    asking = True

    async def ask() -> None:
        nonlocal answered
        async with httpx.AsyncClient(timeout=2) as http:
            while asking:
                try:
                    (await http.get(f"http://{address}:9898/version")).raise_for_status()
                    answered += 1
                except httpx.HTTPError as error:
                    failures.append(repr(error))
                await asyncio.sleep(0.05)

    asker = asyncio.create_task(ask())
    runner_process.kill()
    [lonely_pod] = await pods(kube, "lonely")
    await kube.delete("apps/v1", "Deployment", "lonely", "prod")  # its pod goes with it
    lonely_dir = sandbox_dir / "pods" / "prod" / lonely_pod["metadata"]["name"]
    await asyncio.sleep(5)  # short's run ends while no runner is there
    assert (sandbox_dir / "pods" / "prod" / short["metadata"]["name"] / "short" / "0.exit").exists()
    runner_process.start()

    async def short_restarted() -> dict[str, Any] | None:
        [found] = await pods(kube, "short")
        status = (found.get("status") or {}).get("containerStatuses") or [{}]
        return found if status[0].get("restartCount", 0) >= 1 else None

    after_short = await eventually(short_restarted, what="short restarted by the new runner")
    assert container(after_short)["lastState"]["terminated"]["exitCode"] == 3
    assert after_short["metadata"]["uid"] == short["metadata"]["uid"]

    await eventually(lambda: asyncio.to_thread(lambda: not lonely_dir.exists()), what="gone")
    assert not [where for where in survivors(sandbox_dir) if str(lonely_dir) in where]

    def adopted() -> bool:
        log = (sandbox_dir / "runner.log").read_text()
        return f"{before['metadata']['name']}: adopted container podinfod" in log

    await eventually(lambda: asyncio.to_thread(adopted), what="podinfo adopted")
    await asyncio.sleep(2)  # two readiness periods of the new runner's probes
    after = await one(kube, "podinfo")
    assert after is not None
    asking = False
    await asker
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["status"]["podIP"] == address
    assert container(after)["containerID"] == container(before)["containerID"]
    assert container(after)["restartCount"] == 0
    assert container(after)["state"] == container(before)["state"]
    assert failures == []
    assert answered > 50
