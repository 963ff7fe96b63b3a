"""``serinus sandbox status``: what runs in a sandbox, and where.

:func:`collect` reads ``state.json``, asks the kernel which recorded parts still run (and
whether their supervisor does) and which TCP ports the sandbox's processes listen on, and asks
the API server (when it answers) for the Deployments and their pods: ready counts, images, pod
addresses, restarts and how each container last ended, and the Services with their cluster IPs.
:func:`render` turns that into the rich tables ``status`` prints once and ``up`` (in the
foreground) keeps refreshing. A part the supervisor restarted shows its restart count and its
last exit (``exit code 1``, ``signal SIGKILL``) with the time.
"""

from __future__ import annotations

import dataclasses
import pathlib

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from serinus.apis.base import Manifest
from serinus.errors import SerinusError
from serinus.kube import Kube, KubeSettings
from serinus.sandbox.orchestration import processes, state


@dataclasses.dataclass(frozen=True)
class PartStatus:
    name: str
    pid: int
    running: bool
    endpoint: str
    listening: tuple[str, ...]
    restarts: int = 0
    last_exit: str = ""
    """How it last ended and when (``signal SIGKILL at 2026-...``), once restarted."""


@dataclasses.dataclass(frozen=True)
class WorkloadStatus:
    namespace: str
    name: str
    ready: int
    desired: int
    images: tuple[str, ...]
    pods: tuple[str, ...]
    """``name address phase ready`` of each pod, with its restarts and last exit if any."""


@dataclasses.dataclass(frozen=True)
class ServiceStatus:
    namespace: str
    name: str
    address: str
    ports: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class GitOpsStatus:
    """The sync of ``up --gitops``, as its Kustomization and GitRepository say."""

    repository: str
    branch: str
    applied: str = ""
    """``main@sha1:<commit>`` last applied, if any."""
    attempted: str = ""
    ready: str = "Unknown"
    message: str = "not synced yet"


@dataclasses.dataclass(frozen=True)
class SandboxStatus:
    directory: pathlib.Path
    recorded: bool
    parts: tuple[PartStatus, ...] = ()
    workloads: tuple[WorkloadStatus, ...] = ()
    services: tuple[ServiceStatus, ...] = ()
    details: dict[str, str] = dataclasses.field(default_factory=dict)
    api_error: str = ""
    supervisor: int = 0
    supervised: bool = False
    """Whether the supervisor (``up``, or a detached one) still runs."""
    gitops: GitOpsStatus | None = None

    @property
    def running(self) -> bool:
        return any(part.running for part in self.parts)


async def collect(directory: pathlib.Path) -> SandboxStatus:
    """The sandbox in ``directory`` now (``recorded`` False when none was started there)."""
    directory = state.canonical(directory)
    recorded = state.load(directory)
    if recorded is None:
        return SandboxStatus(directory=directory, recorded=False)
    parts = tuple(
        PartStatus(
            name=part.name,
            pid=part.pid,
            running=processes.alive(part.pid),
            endpoint=part.endpoint,
            listening=tuple(
                f"{host}:{port}" for host, port in sorted(processes.listening([part.pid]))
            ),
            restarts=part.restarts,
            last_exit=f"{part.last_exit} at {part.last_exit_at}" if part.last_exit else "",
        )
        for part in recorded.parts.values()
    )
    result = SandboxStatus(
        directory=directory,
        recorded=True,
        parts=parts,
        details=dict(recorded.details),
        supervisor=recorded.supervisor,
        supervised=bool(recorded.supervisor) and processes.alive(recorded.supervisor),
    )
    api = next((p for p in parts if p.name == "apiserver"), None)
    if api is None or not api.running or not recorded.kubeconfig.exists():
        return dataclasses.replace(result, api_error="the API server is not running")
    try:
        async with Kube(KubeSettings(kubeconfig=recorded.kubeconfig, timeout=3)) as kube:
            workloads = await _workloads(kube)
            services = await _services(kube)
            gitops = await _gitops(kube, recorded.details)
    except SerinusError as error:
        return dataclasses.replace(result, api_error=str(error))
    return dataclasses.replace(result, workloads=workloads, services=services, gitops=gitops)


async def _gitops(kube: Kube, details: dict[str, str]) -> GitOpsStatus | None:
    if "gitops" not in details:
        return None
    found = GitOpsStatus(details["gitops"], details.get("gitops_branch", ""))
    kustomization = await kube.get(
        "kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "flux-system"
    )
    status = (kustomization or {}).get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready is None:
        return found
    return dataclasses.replace(
        found,
        applied=str(status.get("lastAppliedRevision") or ""),
        attempted=str(status.get("lastAttemptedRevision") or ""),
        ready=str(ready.get("status")),
        message=str(ready.get("message") or ready.get("reason") or ""),
    )


async def _workloads(kube: Kube) -> tuple[WorkloadStatus, ...]:
    pods = await kube.list("v1", "Pod")
    found = []
    for deployment in await kube.list("apps/v1", "Deployment"):
        meta = deployment.get("metadata") or {}
        spec = deployment.get("spec") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
        mine = [
            pod
            for pod in pods
            if (pod.get("metadata") or {}).get("namespace") == meta.get("namespace")
            and selector
            and all(
                ((pod.get("metadata") or {}).get("labels") or {}).get(k) == v
                for k, v in selector.items()
            )
        ]
        found.append(
            WorkloadStatus(
                namespace=str(meta.get("namespace")),
                name=str(meta.get("name")),
                ready=int((deployment.get("status") or {}).get("readyReplicas") or 0),
                desired=int(spec.get("replicas") or 0),
                images=tuple(str(c.get("image")) for c in containers),
                pods=tuple(_describe_pod(pod) for pod in mine),
            )
        )
    return tuple(sorted(found, key=lambda w: (w.namespace, w.name)))


def _describe_pod(pod: Manifest) -> str:
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    phase = "Terminating" if meta.get("deletionTimestamp") else status.get("phase", "Pending")
    address = status.get("podIP") or "-"
    shown = f"{meta.get('name')} {address} {phase}{' ready' if ready else ''}"
    containers = status.get("containerStatuses") or []
    restarts = sum(int(c.get("restartCount") or 0) for c in containers)
    if restarts:
        last = max(
            (
                (c.get("lastState") or {}).get("terminated") or {}
                for c in containers
                if c.get("restartCount")
            ),
            key=lambda ended: str(ended.get("finishedAt") or ""),
        )
        ended = (
            f"exit code {last.get('exitCode')} ({last.get('reason')}) at {last.get('finishedAt')}"
        )
        shown += f", {restarts} restart{'s' if restarts > 1 else ''}, last {ended}"
    return shown


async def _services(kube: Kube) -> tuple[ServiceStatus, ...]:
    found = []
    for service in await kube.list("v1", "Service"):
        meta = service.get("metadata") or {}
        spec = service.get("spec") or {}
        found.append(
            ServiceStatus(
                namespace=str(meta.get("namespace")),
                name=str(meta.get("name")),
                address=str(spec.get("clusterIP") or "-"),
                ports=tuple(int(p.get("port")) for p in spec.get("ports") or []),
            )
        )
    return tuple(sorted(found, key=lambda s: (s.namespace, s.name)))


def _supervision(status: SandboxStatus) -> Text:
    if status.supervised:
        return Text(f"supervisor: pid {status.supervisor}, restarts parts that exit", "green")
    if status.supervisor:
        return Text(f"supervisor: pid {status.supervisor} is not running", "red")
    return Text("supervisor: none (parts that exit stay stopped)", "yellow")


def _render_gitops(gitops: GitOpsStatus) -> RenderableType:
    """Lines, not a table: the paths and revisions are long and must not be cut."""
    colour = {"True": "green", "False": "red"}.get(gitops.ready, "yellow")
    shown = Text(f"gitops: {gitops.repository}, branch {gitops.branch}\n")
    shown.append(f"  last applied: {gitops.applied or '-'}\n")
    shown.append("  ready: ")
    shown.append(gitops.ready, colour)
    shown.append(f", {gitops.message}")
    if gitops.attempted and gitops.attempted != gitops.applied:
        shown.append(f"\n  last attempted: {gitops.attempted}")
    return shown


def render(status: SandboxStatus) -> RenderableType:
    """Tables of the parts, the workloads and the Services."""
    if not status.recorded:
        return Text(f"no sandbox in {status.directory} (serinus sandbox up --dir ...)")
    parts = Table(title=f"sandbox in {status.directory}", title_justify="left")
    for column in ("part", "pid", "state", "serves", "listening on", "restarts", "last exit"):
        parts.add_column(column)
    for part in status.parts:
        state_text = Text("running", "green") if part.running else Text("stopped", "red")
        parts.add_row(
            part.name,
            str(part.pid),
            state_text,
            part.endpoint,
            " ".join(part.listening),
            str(part.restarts),
            part.last_exit or "-",
        )
    shown: list[RenderableType] = [parts, _supervision(status)]
    if status.api_error:
        shown.append(Text(f"cluster: {status.api_error}", "yellow"))
    if status.workloads:
        workloads = Table(title="deployments (pods run as local processes)", title_justify="left")
        for column in ("namespace", "deployment", "ready", "image", "pods (name, address)"):
            workloads.add_column(column)
        for item in status.workloads:
            colour = "green" if item.desired and item.ready >= item.desired else "yellow"
            workloads.add_row(
                item.namespace,
                item.name,
                Text(f"{item.ready}/{item.desired}", colour),
                "\n".join(item.images),
                "\n".join(item.pods),
            )
        shown.append(workloads)
    if status.gitops is not None:
        shown.append(_render_gitops(status.gitops))
    if status.services:
        services = Table(title="services (served by the mesh proxy)", title_justify="left")
        for column in ("namespace", "service", "cluster IP", "ports"):
            services.add_column(column)
        for svc in status.services:
            services.add_row(svc.namespace, svc.name, svc.address, ",".join(map(str, svc.ports)))
        shown.append(services)
    return Group(*shown)
