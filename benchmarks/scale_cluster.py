"""The cluster side of ``operator_scale.py``: objects, the kubelet's part, and /proc readings.

:class:`Cluster` talks straight to the API server (the operators too): it creates
the CRDs, namespace ``bench``, the always-passing MetricTemplate and N Deployments with their
Canaries, plays the deployment controller (a Deployment whose spec changed is reported rolled
out: generation observed, every replica updated and available; ``CONCURRENCY`` reports in flight,
the newest per Deployment, so that at 3,000 Canaries the operators do not wait for it), rolls new
images out, and waits for phases (or for every Canary's first weight step). ``proc_cpu`` and
``proc_memory`` read a process's CPU time and memory from /proc (psutil is not a dependency);
``start_apiserver`` starts the sandbox's API server as a process of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Awaitable, Iterable
from typing import Any

import yaml

from serinus.apis.crds import custom_resource_definitions
from serinus.kube import Kube, KubeSettings

NS = "bench"
TRAFFIC_SPLIT_CRD = (
    pathlib.Path(__file__).resolve().parents[1]
    / "tests"
    / "routers"
    / "crds"
    / "trafficsplits.yaml"
)
DEPLOYMENT = ("apps/v1", "Deployment")
CONCURRENCY = 32
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def machine_busy() -> float:
    """CPU seconds every core of the machine has spent busy so far (not idle or waiting for I/O):
    the operators, the API server and this script, and Prometheus and the kernel besides."""
    fields = pathlib.Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    idle, iowait = int(fields[3]), int(fields[4])
    return (sum(int(field) for field in fields[:8]) - idle - iowait) / _CLK_TCK


def proc_memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in KiB."""
    found = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found["VmRSS"], found["VmHWM"]


def deployment(name: str, image: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


def canary(name: str) -> dict[str, Any]:
    metric = {"name": "success", "templateRef": {"name": "always-passes"}}
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "provider": "linkerd",
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "service": {"port": 9898},
            "analysis": {
                "interval": "10s",
                "threshold": 5,
                "stepWeight": 1,
                "maxWeight": 100,
                "metrics": [{**metric, "thresholdRange": {"min": 99}, "interval": "1m"}],
            },
        },
    }


def rolled_out(obj: dict[str, Any]) -> dict[str, Any]:
    replicas = obj["spec"].get("replicas", 1)
    return {
        "observedGeneration": obj["metadata"]["generation"],
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ],
    }


class Cluster:
    def __init__(self, url: str) -> None:
        self.kube = Kube(KubeSettings.for_server(url, namespace=NS))
        self._kubelet: asyncio.Task[None] | None = None
        self.reported = 0
        """Deployment status patches sent by the kubelet so far."""

    async def __aenter__(self) -> Cluster:
        await self.kube.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._kubelet is not None:
            self._kubelet.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._kubelet
        await self.kube.close()

    async def populate(self, n: int, prometheus: str) -> None:
        kube = self.kube
        for crd in custom_resource_definitions().values():
            await kube.create(crd)
        for crd in yaml.safe_load_all(TRAFFIC_SPLIT_CRD.read_text()):
            if crd:
                await kube.create(crd)
        await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        template = {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "MetricTemplate",
            "metadata": {"name": "always-passes", "namespace": NS},
            "spec": {
                "provider": {"type": "prometheus", "address": prometheus},
                "query": "vector(99.9)",
            },
        }
        await kube.create(template)
        self._kubelet = asyncio.create_task(self._play_kubelet())
        await _bounded(kube.create(deployment(f"app{i:04d}", "app:1.0.0")) for i in range(n))
        await _bounded(kube.create(canary(f"app{i:04d}")) for i in range(n))

    async def new_images(self, n: int) -> None:
        patch = {
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}
        }
        await _bounded(
            self.kube.patch(*DEPLOYMENT, f"app{i:04d}", NS, patch, patch_type="strategic")
            for i in range(n)
        )

    async def wait_phases(
        self, n: int, phases: set[str], *, advanced: bool = False, within: float = 900.0
    ) -> None:
        """Until every Canary is in one of ``phases`` (and, with ``advanced``, has a canary
        weight above 0: its analysis runs)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            listed = await self.kube.list("flagger.app/v1beta1", "Canary", NS)
            statuses = [c.get("status") or {} for c in listed]
            done = sum(
                s.get("phase") in phases and (not advanced or (s.get("canaryWeight") or 0) > 0)
                for s in statuses
            )
            if done == n:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise SystemExit(f"only {done} of {n} Canaries reached {phases}")
            await asyncio.sleep(2.0)  # a list of N Canaries is work for the API server

    async def _play_kubelet(self) -> None:
        wanted: dict[str, dict[str, Any]] = {}  # the newest status to report, per Deployment
        queue: asyncio.Queue[str] = asyncio.Queue()

        async def report() -> None:
            while True:
                name = await queue.get()
                status = wanted.pop(name)
                await self.kube.patch_status(*DEPLOYMENT, name, NS, {"status": status})
                self.reported += 1

        workers = [asyncio.create_task(report()) for _ in range(CONCURRENCY)]
        try:
            async for event, obj in self.kube.watch(*DEPLOYMENT, NS):
                status = obj.get("status") or {}
                rolled = rolled_out(obj)
                if event == "DELETED" or all(
                    status.get(k) == rolled[k] for k in ("observedGeneration", "replicas")
                ):
                    continue
                name = obj["metadata"]["name"]
                if name not in wanted:
                    queue.put_nowait(name)
                wanted[name] = rolled
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)


async def _bounded(calls: Iterable[Awaitable[Any]]) -> None:
    """Run the calls, CONCURRENCY at a time."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(call: Awaitable[Any]) -> None:
        async with limit:
            await call

    await asyncio.gather(*(one(call) for call in calls))


def start_apiserver(directory: pathlib.Path) -> tuple[subprocess.Popen[bytes], str]:
    kubeconfig = directory / "apiserver.kubeconfig"
    process = subprocess.Popen(  # on this script's cores (core 1 with --cores 1)
        [
            *(sys.executable, "-m", "serinus", "sandbox", "apiserver", "--port", "0"),
            *("--kubeconfig", str(kubeconfig), "--watch-window", "200000"),
            *("--log-level", "warning"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(directory / "apiserver.log").open("w"),
    )
    deadline = time.monotonic() + 30
    while not kubeconfig.exists():
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"the API server did not start: {(directory / 'apiserver.log')}")
        time.sleep(0.05)
    url = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    return process, str(url)
