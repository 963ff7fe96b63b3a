"""The sandbox's parts: what each process runs, and the command line that starts it.

``up`` starts four processes (five with GitOps), each in its own session (see :mod:`processes`):

``apiserver``
    the Kubernetes API server (:class:`~serinus.sandbox.apiserver.ApiServer`) with Service
    cluster IPs taken from a loopback range, so the mesh proxy can serve them, the pods' log
    files plugged in for ``kubectl logs`` and :class:`~podexec.PodExec` for ``kubectl exec``; it
    writes ``<dir>/kubeconfig`` and keeps its objects in ``<dir>/apiserver/state.json`` (and its
    journal), its etcd: restarted, it serves them again.
``workloads``
    the workload runner (:class:`~serinus.sandbox.workloads.WorkloadRunner`): Deployments,
    ReplicaSets, pods as local processes, Endpoints, Service names.
``mesh``
    the mesh proxy playing Linkerd (``serinus sandbox mesh``).
``prometheus``
    the Prometheus server of the machine, scraping the mesh proxy every second.
``gitops`` (with ``up --gitops DIR`` only)
    the GitOps applier (:mod:`serinus.sandbox.gitops`), playing Flux for the repository DIR.

The first two and ``gitops`` have no command of their own for users; they run as the hidden
``serinus sandbox part NAME`` so that each is a process ``down`` can stop and ``status`` can
show, and so that a crash in one (a pod's misbehaviour in the runner, say) leaves the API server
up to tell about it.
The operator and the load tester are not parts: they are Deployments, run as pods by the runner.
"""

from __future__ import annotations

import asyncio
import ipaddress
import pathlib
import random
import shutil
import sys

import yaml

from serinus.errors import SerinusError
from serinus.kube import Kube, KubeSettings
from serinus.sandbox.apiserver import ApiServer
from serinus.sandbox.gitops import Applier, Repository
from serinus.sandbox.gitops import applier as gitops_applier
from serinus.sandbox.orchestration.podexec import PodExec
from serinus.sandbox.orchestration.state import MARKER
from serinus.sandbox.prometheus import Prometheus, ScrapeTarget
from serinus.sandbox.workloads import ImageMap, PodLogs, SandboxDir, WorkloadRunner
from serinus.sandbox.workloads.serviceaccount import InCluster

SERVICE_RANGE = ipaddress.ip_network("127.96.0.0/12")
"""Where each sandbox picks its own /24 of Service cluster IPs (the pods use 127.244.0.0/16)."""
PERSIST_DELAY = 2.0
"""Seconds between the API server's snapshots (every change is journalled before its answer)."""
STOP_GRACE = 10.0
GITOPS_AGENT = "kustomize-controller/sandbox"
"""The GitOps part writes as Flux's controller: its manager name in ``managedFields``."""
"""Seconds the runner gives a pod to end on SIGTERM when the sandbox goes down."""


def apiserver_state(directory: pathlib.Path) -> pathlib.Path:
    """Where the sandbox's API server keeps its objects across restarts."""
    return directory / "apiserver" / "state.json"


def serinus_command(*words: str) -> list[str]:
    """This serinus (same Python, same virtualenv) run with ``words``."""
    return [sys.executable, "-m", "serinus", *words]


def pick_service_cidr() -> str:
    """A /24 of :data:`SERVICE_RANGE`, at random, so that two sandboxes rarely share one."""
    subnets = 2 ** (24 - SERVICE_RANGE.prefixlen)
    index = random.randrange(1, subnets)
    base = int(SERVICE_RANGE.network_address) + index * 256
    return f"{ipaddress.ip_address(base)}/24"


def apiserver_command(
    directory: pathlib.Path, *, port: int, secure_port: int, service_cidr: str
) -> list[str]:
    """The API server's command; both ports fixed, so a restarted one is where it was."""
    return serinus_command(
        "sandbox", "part", "apiserver", "--dir", str(directory), "--port", str(port),
        "--secure-port", str(secure_port), "--service-cidr", service_cidr,
    )  # fmt: skip


def workloads_command(directory: pathlib.Path) -> list[str]:
    return serinus_command("sandbox", "part", "workloads", "--dir", str(directory))


def mesh_command(directory: pathlib.Path, *, metrics_port: int) -> list[str]:
    return serinus_command(
        "sandbox", "mesh", "--kubeconfig", str(SandboxDir(directory).kubeconfig),
        "--metrics-port", str(metrics_port), "--log-format", "json",
    )  # fmt: skip


def gitops_command(
    directory: pathlib.Path, *, repository: pathlib.Path, interval: float
) -> list[str]:
    return serinus_command(
        "sandbox", "part", "gitops", "--dir", str(directory),
        *gitops_applier.Settings(repository, interval).words(),
    )  # fmt: skip


def prometheus_command(directory: pathlib.Path, *, port: int, mesh_metrics: str) -> list[str]:
    """Write the Prometheus config (scraping the mesh proxy) and return its command line."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise SerinusError(
            "prometheus: not found; install the Prometheus 2.x server (Debian package "
            "prometheus; `bash scripts/system-packages.sh` does it as root)"
        )
    home = directory / "prometheus"
    home.mkdir(parents=True, exist_ok=True)
    server = Prometheus(home, [ScrapeTarget("linkerd-proxy", mesh_metrics)], port=port)
    server.config_file.write_text(yaml.safe_dump(server.config(), sort_keys=False))
    return [
        binary,
        f"--config.file={server.config_file}",
        f"--storage.tsdb.path={home / 'data'}",
        "--storage.tsdb.retention.time=6h",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--log.level=warn",
    ]


async def serve_apiserver(
    directory: pathlib.Path,
    *,
    port: int,
    secure_port: int,
    service_cidr: str,
    stop: asyncio.Event,
) -> None:
    """The ``apiserver`` part: serve until ``stop`` is set, with the pods' logs plugged in."""
    layout = SandboxDir(directory)
    server = ApiServer(
        port=port,
        service_cidr=service_cidr,
        state=apiserver_state(directory),
        persist_delay=PERSIST_DELAY,
        secure_port=secure_port,
    )
    async with server:
        server.logs.add(PodLogs(layout))
        server.execs.add(PodExec(directory))
        server.write_kubeconfig(layout.kubeconfig)
        await stop.wait()


async def run_gitops(
    directory: pathlib.Path, *, repository: pathlib.Path, interval: float, stop: asyncio.Event
) -> None:
    """The ``gitops`` part: apply the repository's commits until ``stop`` is set."""
    layout = SandboxDir(directory)
    source = await Repository.prepare(repository)
    scratch = directory / "gitops"
    scratch.mkdir(parents=True, exist_ok=True)
    settings = KubeSettings(kubeconfig=layout.kubeconfig, user_agent=GITOPS_AGENT)
    async with Kube(settings) as kube:
        await Applier(kube, source, interval=interval, scratch=scratch).run(stop)


async def run_workloads(directory: pathlib.Path, *, stop: asyncio.Event) -> None:
    """The ``workloads`` part: run the pods until ``stop`` is set, then stop every pod."""
    layout = SandboxDir(directory)
    async with Kube(KubeSettings(kubeconfig=layout.kubeconfig)) as kube:
        runner = WorkloadRunner(
            kube,
            directory,
            ImageMap.bundled(),
            extra_env={MARKER: str(directory)},
            stop_grace=STOP_GRACE,
            in_cluster=InCluster.from_kubeconfig(layout.kubeconfig),
        )
        running = asyncio.create_task(runner.run())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([running, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            await runner.stop()
        await running  # the runner's own failure, if it had one
