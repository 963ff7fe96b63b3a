"""One container of a pod, played by a local process: start, probe, restart, report.

:class:`ContainerWorker` is the kubelet's loop for one container. It maps the image to a command
(an unmapped image leaves the container waiting in ``ErrImagePull`` with the reason), builds the
environment (a missing ConfigMap or Secret: ``CreateContainerConfigError``, retried), starts the
process behind the pod's private ``/etc/hosts``, runs the startup, readiness and liveness probes,
and restarts the process per the pod's ``restartPolicy``. A crash is restarted at once the first
time, then after ``CrashLoopBackOff`` waits of 10s, 20s, 40s ... up to 5 minutes (reset once a run
lasted ten minutes), as the kubelet does. Every change calls ``on_change`` so the pod worker can
write the pod's status; :meth:`status` is this container's ``containerStatuses`` entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

from serinus.apis.base import Manifest
from serinus.errors import SerinusError
from serinus.sandbox.workloads import env as environment
from serinus.sandbox.workloads import probes, serviceaccount, volumes
from serinus.sandbox.workloads.images import Container
from serinus.sandbox.workloads.node import Node
from serinus.sandbox.workloads.process import exit_code, spawn, terminate
from serinus.sandbox.workloads.rollout import timestamp

logger = logging.getLogger(__name__)

_CONFIG_RETRY = 2.0
_STEADY = 600.0


class ContainerWorker:
    def __init__(
        self, node: Node, pod: Manifest, spec: Manifest, on_change: Callable[[], None]
    ) -> None:
        self.node = node
        self.pod = pod
        self.spec = spec
        self.name = str(spec["name"])
        self.on_change = on_change
        self.state: Manifest = {"waiting": {"reason": "ContainerCreating"}}
        self.last_state: Manifest = {}
        self.restart_count = 0
        self.ready = False
        self.started = False
        self.ran = False
        self.pid: int | None = None
        self.env: dict[str, str] = {}
        self._stopping = asyncio.Event()
        self._process: asyncio.subprocess.Process | None = None
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

    def status(self) -> Manifest:
        found: Manifest = {
            "name": self.name,
            "image": self.spec.get("image"),
            "imageID": f"sandbox://{self.spec.get('image')}",
            "ready": self.ready,
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
        self.on_change()

    async def run(self) -> None:
        """Run (and re-run) the container until it stops for good or :meth:`stop` is called."""
        while not self._stopping.is_set():
            command = self._command()
            if command is None:
                await self._stopping.wait()
                return
            if not await self._load_env():
                await self._pause(_CONFIG_RETRY)
                continue
            code = await self._run_once(command)
            if code is None or not self._restarting(code):
                return
            await self._pause(self._backoff())
            if not self._stopping.is_set():
                self.restart_count += 1

    def _command(self) -> list[str] | None:
        container = Container(
            image=str(self.spec.get("image") or ""),
            pod=str(self.meta["name"]),
            namespace=str(self.meta["namespace"]),
            container=self.name,
            pod_ip=self.pod_ip,
            ports=tuple(int(p["containerPort"]) for p in self.spec.get("ports") or []),
            command=tuple(str(w) for w in self.spec.get("command") or []),
            args=tuple(str(w) for w in self.spec.get("args") or []),
        )
        try:
            return self.node.images.command(container)
        except SerinusError as error:
            logger.warning("pod %s/%s: %s", self.meta["namespace"], self.meta["name"], error)
            self._set(state={"waiting": {"reason": "ErrImagePull", "message": str(error)}})
            return None

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

    async def _run_once(self, command: list[str]) -> int | None:
        """One run: start, probe, wait for the exit; its code (None when stopping)."""
        words = [environment.expand(word, self.env) for word in command]
        started = self.node.clock()
        run = self.restart_count
        process = await self._start(words, run)
        if process is None:
            return 128
        watching = asyncio.create_task(self._probe(process))
        code = exit_code(await process.wait())
        watching.cancel()
        for failure in await asyncio.gather(watching, return_exceptions=True):
            if isinstance(failure, Exception):
                logger.error("probes of %s failed", self.name, exc_info=failure)
        self._process = None
        namespace, pod = str(self.meta["namespace"]), str(self.meta["name"])
        self.node.layout.exit_file(namespace, pod, self.name, run).write_text(f"{code}\n")
        finished = self.node.clock()
        if (finished - started).total_seconds() >= _STEADY:
            self._crashes = 0
        terminated = {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": timestamp(started),
            "finishedAt": timestamp(finished),
            "containerID": f"sandbox://{process.pid}",
        }
        logger.info("pod %s/%s: container %s exited with %d", namespace, pod, self.name, code)
        if not self._stopping.is_set() and self._restarting(code):
            self.last_state = {"terminated": terminated}
        self._set(state={"terminated": terminated}, ready=False, started=False)
        return None if self._stopping.is_set() else code

    async def _start(self, words: list[str], run: int) -> asyncio.subprocess.Process | None:
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
            )
        except OSError as error:
            self._set(state={"waiting": {"reason": "RunContainerError", "message": str(error)}})
            return None
        self._process, self.ran = process, True
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
            state={"running": {"startedAt": timestamp(self.node.clock())}},
            started="startupProbe" not in self.spec,
            ready="readinessProbe" not in self.spec,
        )
        return process

    def _restarting(self, code: int) -> bool:
        policy = (self.pod.get("spec") or {}).get("restartPolicy", "Always")
        return policy == "Always" or (policy == "OnFailure" and code != 0)

    def _backoff(self) -> float:
        self._crashes += 1
        if self._crashes == 1:
            return 0.0
        delay = min(self.node.restart_backoff * 2.0 ** (self._crashes - 2), self.node.max_backoff)
        message = (
            f"back-off {delay:.0f}s restarting failed container={self.name} "
            f"pod={self.meta['name']}_{self.meta['namespace']}({self.meta.get('uid')})"
        )
        self._set(state={"waiting": {"reason": "CrashLoopBackOff", "message": message}})
        return delay

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def stop(self, grace: float) -> None:
        """Stop for good: SIGTERM, SIGKILL after ``grace`` seconds."""
        self._stopping.set()
        process = self._process
        if process is not None and process.returncode is None:
            await terminate(process, grace)

    # probes

    async def _probe(self, process: asyncio.subprocess.Process) -> None:
        startup = probes.Probe.parse(self.spec.get("startupProbe"))
        if startup is not None:
            if not await self._until(startup, process, want=True):
                return
            self._set(started=True)
        async with asyncio.TaskGroup() as group:
            readiness = probes.Probe.parse(self.spec.get("readinessProbe"))
            liveness = probes.Probe.parse(self.spec.get("livenessProbe"))
            if readiness is not None:
                group.create_task(self._readiness(readiness))
            if liveness is not None:
                group.create_task(self._until(liveness, process, want=False))

    async def _check(self, probe: probes.Probe) -> str | None:
        return await probes.check(
            probe,
            pod_ip=self.pod_ip,
            container=self.spec,
            client=self.node.http,
            run_exec=self._exec,
        )

    async def _readiness(self, probe: probes.Probe) -> None:
        await asyncio.sleep(probe.initial_delay)
        successes = failures = 0
        while True:
            problem = await self._check(probe)
            successes, failures = (successes + 1, 0) if problem is None else (0, failures + 1)
            if problem is None and successes >= probe.success_threshold and not self.ready:
                self._set(ready=True)
            elif problem is not None:
                logger.info("pod %s: Readiness probe failed: %s", self.meta["name"], problem)
                if failures >= probe.failure_threshold and self.ready:
                    self._set(ready=False)
            await asyncio.sleep(probe.period)

    async def _until(
        self, probe: probes.Probe, process: asyncio.subprocess.Process, *, want: bool
    ) -> bool:
        """Startup (``want``: until it passes) or liveness (for ever): too many failures in a
        row restart the container; False then."""
        kind = "Startup" if want else "Liveness"
        await asyncio.sleep(probe.initial_delay)
        failures = 0
        while True:
            problem = await self._check(probe)
            if problem is None and want:
                return True
            failures = 0 if problem is None else failures + 1
            if problem is not None:
                logger.info("pod %s: %s probe failed: %s", self.meta["name"], kind, problem)
            if failures >= probe.failure_threshold:
                logger.warning(
                    "pod %s: container %s failed %s probe, will be restarted",
                    self.meta["name"],
                    self.name,
                    kind.lower(),
                )
                grace = float((self.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
                await terminate(process, grace)
                return False
            await asyncio.sleep(probe.period)

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
