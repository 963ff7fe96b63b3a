"""One container of a pod, played by a local process: pull, start, probe, restart, report.

:class:`ContainerWorker` is the kubelet's loop for one container. It "pulls" the image (maps it
to a command; an unmapped image leaves the container waiting in ``ErrImagePull`` with the
reason), builds the environment (a missing ConfigMap or Secret: ``CreateContainerConfigError``,
retried), starts the process behind the pod's private ``/etc/hosts``, runs its probes
(:mod:`probing`), and restarts the process per the pod's ``restartPolicy``. A crash is restarted
at once the first time, then after ``CrashLoopBackOff`` waits of 10s, 20s, 40s ... up to 5
minutes (reset once a run lasted ten minutes), as the kubelet does. Each step is recorded as the
kubelet's Event (:mod:`events`), and every change calls ``on_change`` so the pod worker can write
the pod's status; :meth:`status` is this container's entry in ``containerStatuses`` (or
``initContainerStatuses``).

An init container (``init=True``) runs to completion: it is run again only when it fails, and
not at all under ``restartPolicy: Never``, where its failure fails the pod. A container whose
process outlived an earlier runner is taken over rather than started again (:mod:`adoption`).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import pathlib
import time
from collections.abc import Callable, Sequence
from typing import Any

from serinus.apis.base import Manifest
from serinus.errors import SerinusError
from serinus.sandbox.workloads import adoption, probes, probing, serviceaccount, volumes
from serinus.sandbox.workloads import env as environment
from serinus.sandbox.workloads.events import container_path
from serinus.sandbox.workloads.images import Container
from serinus.sandbox.workloads.node import Node
from serinus.sandbox.workloads.process import Running, exit_code, spawn, terminate
from serinus.sandbox.workloads.rollout import timestamp

logger = logging.getLogger(__name__)

_CONFIG_RETRY = 2.0
_STEADY = 600.0


class ContainerWorker:
    def __init__(
        self,
        node: Node,
        pod: Manifest,
        spec: Manifest,
        on_change: Callable[[], None],
        *,
        init: bool = False,
    ) -> None:
        self.node = node
        self.pod = pod
        self.spec = spec
        self.name = str(spec["name"])
        self.on_change = on_change
        self.init = init
        self.state: Manifest = {
            "waiting": {"reason": "PodInitializing" if init else "ContainerCreating"}
        }
        self.last_state: Manifest = {}
        self.restart_count = 0
        self.ready = False
        self.started = False
        self.ran = False
        self.pid: int | None = None
        self.env: dict[str, str] = {}
        self._stopping = asyncio.Event()
        self.has_started = asyncio.Event()
        """Set once ``started`` turned true (a sidecar lets the next init container go)."""
        self._process: Running | None = None
        self._crashes = 0
        self._account: volumes.Mount | None = None

    def _mounts(self) -> list[volumes.Mount]:
        """The container's volume mounts (the service account's token, claims, emptyDirs) as
        bind mounts, in an order where none hides the source of another."""
        found = volumes.mounts(self.node.layout, self.pod, self.name)
        if self._account is not None:
            found = [self._account, *found]
        return volumes.ordered(found)

    @property
    def meta(self) -> Manifest:
        meta: Manifest = self.pod["metadata"]
        return meta

    @property
    def pod_ip(self) -> str:
        return str(self.pod["status"]["podIP"])

    @property
    def sidecar(self) -> bool:
        """An init container that runs beside the app (``restartPolicy: Always``)."""
        return self.init and self.spec.get("restartPolicy") == "Always"

    @property
    def completed(self) -> bool:
        """An init container that ended with exit code 0."""
        terminated = self.state.get("terminated") or {}
        return bool(terminated) and int(terminated.get("exitCode") or 0) == 0

    def status(self) -> Manifest:
        found: Manifest = {
            "name": self.name,
            "image": self.spec.get("image"),
            "imageID": f"sandbox://{self.spec.get('image')}",
            "ready": self.completed if self.init and not self.sidecar else self.ready,
            "restartCount": self.restart_count,
            "started": self.started,
            "state": self.state,
            "lastState": self.last_state,
        }
        if self.pid is not None:
            found["containerID"] = f"sandbox://{self.pid}"
        return found

    def _set(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        if self.started:
            self.has_started.set()
        self.on_change()

    def mark(self, **changes: bool) -> None:
        self._set(**changes)

    def event(self, reason: str, message: str, *, warning: bool = False) -> None:
        if self.node.events is not None:
            path = container_path(self.name, init=self.init)
            self.node.events.emit(self.pod, reason, message, warning=warning, field_path=path)

    async def run(self) -> None:
        """Run (and re-run) the container until it stops for good or :meth:`stop` is called."""
        code = await self._resume()
        if code is not None and not await self._again(code):
            return
        while not self._stopping.is_set():
            command = self._pull()
            if command is None:
                await self._stopping.wait()
                return
            if not await self._load_env():
                await self._pause(_CONFIG_RETRY)
                continue
            code = await self._run_once(command)
            if code is None or not await self._again(code):
                return

    async def _again(self, code: int) -> bool:
        """After a run ended with ``code``: whether to run again (after the back-off)."""
        if not self._restarting(code):
            return False
        await self._pause(self._backoff())
        if self._stopping.is_set():
            return False
        self.restart_count += 1
        return True

    def _pull(self) -> list[str] | None:
        """The image's command, with the kubelet's pull Events; None when it cannot be had."""
        image = str(self.spec.get("image") or "")
        policy = str(self.spec.get("imagePullPolicy") or "IfNotPresent")
        began = time.monotonic()
        try:
            command = self.node.images.command(self._container())
        except SerinusError as error:
            logger.warning("pod %s/%s: %s", self.meta["namespace"], self.meta["name"], error)
            if policy == "Never":
                message = f'Container image "{image}" is not present with pull policy of Never'
                self.event("ErrImageNeverPull", message, warning=True)
                self._set(state={"waiting": {"reason": "ErrImageNeverPull", "message": message}})
                return None
            self.event("Pulling", f'Pulling image "{image}"')
            self.event("Failed", f'Failed to pull image "{image}": {error}', warning=True)
            self.event("Failed", "Error: ErrImagePull", warning=True)
            self._set(state={"waiting": {"reason": "ErrImagePull", "message": str(error)}})
            return None
        if policy == "Never" or (policy == "IfNotPresent" and image in self.node.pulled):
            self.event("Pulled", f'Container image "{image}" already present on machine')
        else:
            took = _go_duration(time.monotonic() - began)
            self.event("Pulling", f'Pulling image "{image}"')
            self.event(
                "Pulled",
                f'Successfully pulled image "{image}" in {took} ({took} including waiting)',
            )
            self.node.pulled.add(image)
        return command

    def _container(self) -> Container:
        return Container(
            image=str(self.spec.get("image") or ""),
            pod=str(self.meta["name"]),
            namespace=str(self.meta["namespace"]),
            container=self.name,
            pod_ip=self.pod_ip,
            ports=tuple(int(p["containerPort"]) for p in self.spec.get("ports") or []),
            command=tuple(str(w) for w in self.spec.get("command") or []),
            args=tuple(str(w) for w in self.spec.get("args") or []),
        )

    async def _load_env(self) -> bool:
        pod_dir = self.node.layout.pod(self.meta["namespace"], self.meta["name"])
        try:
            self.env = await environment.container_env(
                self.pod,
                self.spec,
                lookup=self._lookup,
                base=self.node.base_env(pod_dir, str(self.meta["name"])),
                services=self.node.services(),
            )
            await self._service_account(pod_dir)
        except SerinusError as error:
            self.event("Failed", f"Error: {error}", warning=True)
            self._set(
                state={"waiting": {"reason": "CreateContainerConfigError", "message": str(error)}}
            )
            return False
        return True

    async def _service_account(self, pod_dir: pathlib.Path) -> None:
        """In-cluster API access for the pod's ServiceAccount (:mod:`serviceaccount`)."""
        api = self.node.in_cluster
        if api is None:
            return
        name = str((self.pod.get("spec") or {}).get("serviceAccountName") or "default")
        account = await self._lookup("ServiceAccount", str(self.meta["namespace"]), name)
        if not serviceaccount.automount(self.pod, account):
            return
        env, self._account = await serviceaccount.project(
            api, self.node.http, self.pod, pod_dir / "serviceaccount"
        )
        self.env.update(env)

    async def _lookup(self, kind: str, namespace: str, name: str) -> Manifest | None:
        return await self.node.kube.get("v1", kind, name, namespace)

    def _ref(self) -> adoption.PodRef:
        return adoption.PodRef(
            str(self.meta["namespace"]), str(self.meta["name"]), str(self.meta.get("uid") or "")
        )

    async def _resume(self) -> int | None:
        """Take over the last run an earlier runner left; its exit code once it ends (None: no
        such run, or stopped while watching it)."""
        run = adoption.latest(self.node.layout, self._ref(), self.name)
        if run is None:
            return None
        self.restart_count, self.ran = run.number, True
        namespace, pod = str(self.meta["namespace"]), str(self.meta["name"])
        exit_file = self.node.layout.exit_file(namespace, pod, self.name, run.number)
        if not run.alive:
            code = adoption.KILLED if run.exit_code is None else run.exit_code
            self._ended(code, run.started_at, _mtime(exit_file), run.pid)
            return code
        before = next(
            (s for s in self._reported() if s.get("name") == self.name), {}
        )  # readiness as the last runner reported it: no blip while the probes start over
        self._set(
            pid=run.pid,
            state={"running": {"startedAt": run.started_at}},
            started=bool(before.get("started", "startupProbe" not in self.spec)),
            ready=bool(before.get("ready", False)),
            last_state=dict(before.get("lastState") or {}),
        )
        logger.info("pod %s/%s: adopted container %s (pid %d)", namespace, pod, self.name, run.pid)
        return await self._watch(adoption.Adopted(run, exit_file), run.number, run.started_at)

    def _reported(self) -> list[Manifest]:
        status = self.pod.get("status") or {}
        key = "initContainerStatuses" if self.init else "containerStatuses"
        return [s for s in status.get(key) or [] if isinstance(s, dict)]

    async def _run_once(self, command: list[str]) -> int | None:
        """One run: start, probe, wait for the exit; its code (None when stopping)."""
        words = [environment.expand(word, self.env) for word in command]
        run = self.restart_count
        process = await self._start(words, run)
        if process is None:
            return 128
        return await self._watch(process, run, str(self.state["running"]["startedAt"]))

    async def _watch(self, process: Running, run: int, started_at: str) -> int | None:
        """Probe a started run and wait for its end; its exit code (None when stopping)."""
        self._process = process
        watching = asyncio.create_task(probing.watch(self, process, self._check))
        code = exit_code(await process.wait())
        watching.cancel()
        for failure in await asyncio.gather(watching, return_exceptions=True):
            if isinstance(failure, Exception):
                logger.error("probes of %s failed", self.name, exc_info=failure)
        self._process = None
        namespace, pod = str(self.meta["namespace"]), str(self.meta["name"])
        self.node.layout.exit_file(namespace, pod, self.name, run).write_text(f"{code}\n")
        logger.info("pod %s/%s: container %s exited with %d", namespace, pod, self.name, code)
        self._ended(code, started_at, timestamp(self.node.clock()), process.pid)
        return None if self._stopping.is_set() else code

    def _ended(self, code: int, started_at: str, finished_at: str, pid: int) -> None:
        try:
            ran = _parse(finished_at) - _parse(started_at)
        except ValueError:
            ran = datetime.timedelta()
        if ran.total_seconds() >= _STEADY:
            self._crashes = 0
        terminated = {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": started_at,
            "finishedAt": finished_at,
            "containerID": f"sandbox://{pid}",
        }
        if not self._stopping.is_set() and self._restarting(code):
            self.last_state = {"terminated": terminated}
        self._set(state={"terminated": terminated}, ready=False, started=False)

    async def _start(self, words: list[str], run: int) -> Running | None:
        namespace, pod = str(self.meta["namespace"]), str(self.meta["name"])
        layout = self.node.layout
        wrapped = self.node.isolation.wrap(
            words, self.node.ensure_hosts(namespace), mounts=self._mounts()
        )
        try:
            process = await spawn(
                wrapped,
                env=self.env,
                cwd=layout.pod(namespace, pod),
                log=layout.log(namespace, pod, self.name, run),
                exit_file=layout.exit_file(namespace, pod, self.name, run),
            )
        except OSError as error:
            self.event("Failed", f"Error: {error}", warning=True)
            self._set(state={"waiting": {"reason": "RunContainerError", "message": str(error)}})
            return None
        started_at = timestamp(self.node.clock())
        adoption.record(layout, self._ref(), self.name, run, process.pid, started_at)
        self._process, self.ran = process, True
        self.event("Created", f"Created container: {self.name}")
        self.event("Started", f"Started container {self.name}")
        logger.info(
            "pod %s/%s: started container %s (pid %d): %s",
            namespace,
            pod,
            self.name,
            process.pid,
            " ".join(words),
        )
        self._set(
            pid=process.pid,
            state={"running": {"startedAt": started_at}},
            started="startupProbe" not in self.spec,
            ready="readinessProbe" not in self.spec,
        )
        return process

    def _restarting(self, code: int) -> bool:
        policy = (self.pod.get("spec") or {}).get("restartPolicy", "Always")
        if self.init and not self.sidecar:
            return policy != "Never" and code != 0
        return policy == "Always" or (policy == "OnFailure" and code != 0)

    def _backoff(self) -> float:
        self._crashes += 1
        if self._crashes == 1:
            return 0.0
        delay = min(self.node.restart_backoff * 2.0 ** (self._crashes - 2), self.node.max_backoff)
        pod = f"{self.meta['name']}_{self.meta['namespace']}({self.meta.get('uid')})"
        message = f"back-off {delay:.0f}s restarting failed container={self.name} pod={pod}"
        self.event(
            "BackOff",
            f"Back-off restarting failed container {self.name} in pod {pod}",
            warning=True,
        )
        self._set(state={"waiting": {"reason": "CrashLoopBackOff", "message": message}})
        return delay

    async def _pause(self, seconds: float) -> None:
        # asyncio.wait, not wait_for: Python 3.11's wait_for loses a cancellation that comes as
        # the event is set (stop() sets it, then the pod's task is cancelled)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({stopping}, timeout=seconds)
        finally:
            stopping.cancel()

    async def stop(self, grace: float, *, announce: bool = False) -> None:
        """Stop for good: SIGTERM, SIGKILL after ``grace`` seconds (``announce``: a Killing Event,
        as when the pod is deleted)."""
        self._stopping.set()
        process = self._process
        if process is not None and process.returncode is None:
            if announce:
                self.event("Killing", f"Stopping container {self.name}")
            await terminate(process, grace)

    # probes

    async def _check(self, probe: probes.Probe) -> str | None:
        return await probes.check(
            probe,
            pod_ip=self.pod_ip,
            container=self.spec,
            client=self.node.http,
            run_exec=self._exec,
        )

    async def _exec(self, command: Sequence[str], seconds: float) -> int:
        namespace = str(self.meta["namespace"])
        wrapped = self.node.isolation.wrap(
            list(command), self.node.ensure_hosts(namespace), mounts=self._mounts()
        )
        try:
            process = await asyncio.create_subprocess_exec(
                *wrapped,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                env=self.env,
                cwd=self.node.layout.pod(namespace, str(self.meta["name"])),
                start_new_session=True,
            )
        except OSError:
            return 127
        try:
            return exit_code(await asyncio.wait_for(process.wait(), timeout=seconds))
        except TimeoutError:
            await terminate(process, 0)
            return 124


def _go_duration(seconds: float) -> str:
    """A short duration as Go prints one (``3.2ms``, ``850µs``, ``1.5s``)."""
    if seconds >= 1:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    if seconds >= 0.001:
        return f"{seconds * 1000:.3f}".rstrip("0").rstrip(".") + "ms"
    return f"{max(seconds * 1e6, 1):.0f}µs"


def _parse(stamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _mtime(path: pathlib.Path) -> str:
    try:
        moment = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.UTC)
    except OSError:
        moment = datetime.datetime.now(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
