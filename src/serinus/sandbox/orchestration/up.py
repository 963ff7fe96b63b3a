"""``serinus sandbox up``: start a whole sandbox and wait until every part of it serves.

The order matters, and each step waits for the one before:

1. the API server (it writes the kubeconfig everything else uses), then the CRDs and the
   namespaces ``serinus-system`` and ``prod`` (the mesh proxy watches TrafficSplits from its start);
2. the workload runner, the mesh proxy and Prometheus (scraping the mesh proxy);
3. the operator Deployment ``serinus`` and the load tester Deployment and Service
   ``load-tester``, run as pods, until both Deployments are available.

Every part is recorded in ``<dir>/state.json`` as soon as it is started, so when a step fails
(a port taken, a missing program, a part that exits) :func:`start` stops what it started, and the
error names the part and ends with the last lines of its log. Problems that would only show
later (no ``prometheus`` or ``hey`` on the machine, no way to give pods their own ``/etc/hosts``)
are checked first.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import logging
import os
import pathlib
import shutil
from collections.abc import Callable, Mapping

from serinus import __version__
from serinus.errors import SerinusError
from serinus.kube import Kube, KubeSettings
from serinus.sandbox import manifests, names
from serinus.sandbox.gitops import applier as gitops_applier
from serinus.sandbox.gitops.repository import Repository
from serinus.sandbox.orchestration import down, install, parts, processes, readiness, state

logger = logging.getLogger(__name__)

SYSTEM = (("serinus-system", "serinus"), ("prod", "load-tester"))
"""The Deployments ``up`` waits for: the operator and the load tester."""

Progress = Callable[[str], None]


class SandboxRunningError(SerinusError):
    """A sandbox already runs in the directory."""

    retriable = False


def _quiet(message: str) -> None:
    logger.info("%s", message)


async def start(
    directory: pathlib.Path,
    *,
    environment: Mapping[str, str],
    progress: Progress = _quiet,
    install_with: str = "sandbox",
    gitops: gitops_applier.Settings | None = None,
) -> state.SandboxState:
    """Start the sandbox in ``directory``; its state once every part serves.

    The parts run with ``environment`` (the caller's: the CLI reads it, nothing below does), plus
    the sandbox's marker. ``install_with`` says how serinus gets in: the sandbox's own manifests
    (``sandbox``), the README's Helm commands (``helm``), the documented kustomize trees
    (``kustomize``), or not at all (``none``: a bare cluster to install by hand); see
    :mod:`serinus.sandbox.orchestration.install`. With ``gitops``, its repository (made one if
    need be) is applied on every commit by the ``gitops`` part (:mod:`serinus.sandbox.gitops`).

    Raises:
        SandboxRunningError: a sandbox runs there already.
        SerinusError: a part could not start (what was started is stopped again).
    """
    directory = state.canonical(directory)
    await _preflight(directory)
    repository = None if gitops is None else await Repository.prepare(gitops.repository)
    sandbox = state.SandboxState(
        directory=directory,
        service_cidr=parts.pick_service_cidr(),
        started=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    )
    sandbox.save()
    try:
        await _start_parts(sandbox, progress, environment)
        if install_with == "sandbox":
            await _start_system(sandbox, progress)
        else:
            await _install(sandbox, progress, install_with, environment)
        if gitops is not None and repository is not None:
            await _start_gitops(sandbox, progress, repository, gitops.interval, environment)
    except BaseException:
        progress("start-up failed: stopping what was started")
        await asyncio.to_thread(down.stop, directory)
        raise
    return sandbox


def refuse_if_running(directory: pathlib.Path) -> None:
    """SandboxRunningError when a sandbox runs in ``directory``; forget a dead one's state.

    Processes of the sandbox are found by their marker (:func:`processes.marked`), this
    process excepted: a detached ``up``'s supervisor asks too, once it runs.
    """
    existing = state.load(directory)
    if existing is not None or processes.marked(directory):
        recorded = [part.pid for part in existing.parts.values()] if existing else []
        if existing is not None and existing.supervisor not in (0, os.getpid()):
            recorded.append(existing.supervisor)
        running = any(processes.alive(pid) for pid in recorded)
        if running or processes.marked(directory):
            raise SandboxRunningError(
                f"a sandbox already runs in {directory}: use it, or stop it first with "
                f"`serinus sandbox down --dir {directory}`"
            )
        state.remove(directory)


async def _preflight(directory: pathlib.Path) -> None:
    refuse_if_running(directory)
    for program, why in (("prometheus", "Prometheus"), ("hey", "the load tester's hey")):
        if shutil.which(program) is None:
            raise SerinusError(
                f"{program}: not found on PATH; the sandbox runs {why} for real. Install the "
                f"Debian package {program} (`bash scripts/system-packages.sh` does it as root)"
            )
    await names.detect()


async def _start_parts(
    sandbox: state.SandboxState, progress: Progress, environment: Mapping[str, str]
) -> None:
    directory = sandbox.directory
    spawn = functools.partial(_spawn, sandbox, environment=environment)
    api_port, secure_port = processes.free_port(), processes.free_port()
    spawn(
        "apiserver",
        parts.apiserver_command(
            directory, port=api_port, secure_port=secure_port, service_cidr=sandbox.service_cidr
        ),
        port=api_port,
        url=f"http://127.0.0.1:{api_port}",
    )
    progress(f"API server starting on http://127.0.0.1:{api_port}")
    await readiness.wait(
        sandbox, "apiserver", lambda: readiness.answers(f"http://127.0.0.1:{api_port}/version")
    )
    await readiness.wait(sandbox, "apiserver", lambda: readiness.exists(sandbox.kubeconfig))
    async with _kube(sandbox) as kube:
        for manifest in manifests.crds() + manifests.load("namespaces.yaml"):
            await kube.apply(manifest, field_manager="serinus-sandbox")
    progress("CRDs and namespaces applied")

    mesh_port = processes.free_port()
    spawn("workloads", parts.workloads_command(directory))
    spawn(
        "mesh",
        parts.mesh_command(directory, metrics_port=mesh_port),
        port=mesh_port,
        url=f"http://127.0.0.1:{mesh_port}/metrics",
    )
    prometheus_port = processes.free_port()
    command = parts.prometheus_command(
        directory, port=prometheus_port, mesh_metrics=f"127.0.0.1:{mesh_port}"
    )
    spawn("prometheus", command, port=prometheus_port, url=_url(prometheus_port))
    progress("workload runner, mesh proxy and Prometheus starting")
    await readiness.wait(
        sandbox, "mesh", lambda: readiness.answers(f"http://127.0.0.1:{mesh_port}/ready")
    )
    await readiness.wait(
        sandbox, "prometheus", lambda: readiness.answers(f"{_url(prometheus_port)}/-/ready")
    )
    async with _kube(sandbox) as kube:
        await readiness.wait(sandbox, "workloads", lambda: readiness.node_ready(kube))
    sandbox.details.update(
        kubeconfig=str(sandbox.kubeconfig),
        prometheus=_url(prometheus_port),
        service_cidr=sandbox.service_cidr,
    )
    sandbox.save()


async def _start_system(sandbox: state.SandboxState, progress: Progress) -> None:
    fields = {
        "version": __version__,
        "kubeconfig": str(sandbox.kubeconfig),
        "prometheus": sandbox.details["prometheus"],
    }
    async with _kube(sandbox) as kube:
        for name in ("operator.yaml", "loadtester.yaml"):
            for manifest in manifests.load(name, fields):
                await kube.apply(manifest, field_manager="serinus-sandbox")
        progress("operator (serinus-system/serinus) and load tester (prod/load-tester) applied")
        for namespace, name in SYSTEM:
            await readiness.wait(
                sandbox, "workloads", functools.partial(readiness.available, kube, namespace, name)
            )
    progress("operator and load tester are ready")


async def _install(
    sandbox: state.SandboxState, progress: Progress, method: str, environment: Mapping[str, str]
) -> None:
    if method not in install.METHODS:
        raise SerinusError(
            f"install_with: expected one of {', '.join(install.METHODS)}, got {method!r}"
        )
    port = int(str(sandbox.details["prometheus"]).rsplit(":", 1)[1])
    async with _kube(sandbox) as kube:
        await install.prepare(kube, port)
        progress("namespaces linkerd, linkerd-viz (its Prometheus) and prod applied")
        if method == "none":
            return
        for line in install.documented(method):
            progress(f"running: {line}")
        await install.run(method, sandbox.kubeconfig, environment)
        for namespace, name in install.SYSTEM:
            await readiness.wait(
                sandbox, "workloads", functools.partial(readiness.available, kube, namespace, name)
            )
    sandbox.details["installed_with"] = method
    sandbox.save()
    progress(
        f"operator (linkerd/serinus) and load tester (prod/load-tester) installed with {method}"
    )


async def _start_gitops(
    sandbox: state.SandboxState,
    progress: Progress,
    repository: Repository,
    interval: float,
    environment: Mapping[str, str],
) -> None:
    """Flux's kinds, then the ``gitops`` part, ready once its Kustomization exists."""
    async with _kube(sandbox) as kube:
        for manifest in manifests.load("flux.yaml"):
            await kube.apply(manifest, field_manager="serinus-sandbox")
        command = parts.gitops_command(
            sandbox.directory, repository=repository.path, interval=interval
        )
        _spawn(sandbox, "gitops", command, environment=environment)
        await readiness.wait(sandbox, "gitops", functools.partial(_kustomization, kube))
    sandbox.details.update(gitops=str(repository.path), gitops_branch=repository.branch)
    sandbox.save()
    progress(f"GitOps: every commit on {repository.branch} in {repository.path} is applied")


async def _kustomization(kube: Kube) -> str | None:
    found = await kube.get(
        "kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "flux-system"
    )
    return None if found is not None else "Kustomization flux-system/flux-system not made yet"


def _spawn(
    sandbox: state.SandboxState,
    name: str,
    command: list[str],
    *,
    environment: Mapping[str, str],
    port: int = 0,
    url: str = "",
) -> None:
    log = sandbox.logs / f"{name}.log"
    pid = processes.spawn(command, log=log, directory=sandbox.directory, env=environment)
    part = state.Part(
        name=name,
        pid=pid,
        command=tuple(command),
        log=str(log),
        address="127.0.0.1" if port else "",
        port=port,
        url=url,
    )
    sandbox.add(part)


def _url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def _kube(sandbox: state.SandboxState) -> Kube:
    return Kube(KubeSettings(kubeconfig=sandbox.kubeconfig))
