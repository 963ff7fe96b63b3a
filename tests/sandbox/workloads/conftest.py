"""Fixtures of the workload runner tests: a real API server, a Kube client, a running runner.

Every test gets its own API server (it starts in milliseconds), namespace ``prod``, and a runner
whose pods take addresses from a random /24 of 127.244.0.0/16, so tests running at the same time
on this machine (other engineers' too) do not fight over pod addresses. Stopping the runner at
the end of each test also checks that no pod process survived it and that it logged no error
(a pod task that failed unexpectedly).
"""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib
import random
from collections.abc import AsyncIterator

import pytest

from serinus.kube import Kube, KubeSettings
from serinus.sandbox.apiserver import ApiServer
from serinus.sandbox.workloads import ImageMap, WorkloadRunner
from tests.sandbox.workloads.support import Kubectl
from tests.support import manifests


def pod_cidr() -> str:
    return f"127.244.{random.randrange(2, 255)}.0/24"


@pytest.fixture
async def api() -> AsyncIterator[ApiServer]:
    async with ApiServer(port=0, service_cidr="127.96.0.0/12", bookmark_interval=1) as server:
        yield server


@pytest.fixture
async def kube(api: ApiServer, tmp_path: pathlib.Path) -> AsyncIterator[Kube]:
    async with Kube(KubeSettings(server=api.url)) as client:
        await manifests.create_all(client, namespaces=["prod"])
        yield client


@pytest.fixture
def sandbox_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "sandbox"


@pytest.fixture
async def runner(
    api: ApiServer, kube: Kube, sandbox_dir: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[WorkloadRunner]:
    api.write_kubeconfig(sandbox_dir / "kubeconfig")
    workloads = WorkloadRunner(
        kube, sandbox_dir, ImageMap.bundled(), pod_cidr=pod_cidr(), restart_backoff=1.0
    )
    api.logs.add(workloads.log_source)
    task = asyncio.create_task(workloads.run())
    yield workloads
    await workloads.stop()
    await task
    assert survivors(sandbox_dir) == [], "pod processes survived the runner"
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == [], "the runner logged errors"


@pytest.fixture
def kubectl(sandbox_dir: pathlib.Path, tmp_path: pathlib.Path) -> Kubectl:
    return Kubectl(sandbox_dir / "kubeconfig", tmp_path / "kube-cache", timeout=60)


def survivors(sandbox_dir: pathlib.Path) -> list[str]:
    """Processes that run in (or name) the sandbox directory."""
    root = str(sandbox_dir.resolve())
    return [where for pid in _pids() if root in (where := _where(pid))]


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _where(pid: int) -> str:
    """A process's working directory and command line (pod processes run in their pod's dir)."""
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
        command = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return ""
    return f"{cwd} {command.decode(errors='replace')}"
