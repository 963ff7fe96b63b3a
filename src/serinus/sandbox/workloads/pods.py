"""One pod on the sandbox's node: its address, its containers, and the Pod status it reports.

:class:`PodWorker` gives the pod a loopback address of its own (``status.podIP``; the one it
had before when the runner restarts and it is still free, or still held by the pod's own
processes when they outlived the runner), a working directory, and runs its containers with
:class:`~serinus.sandbox.workloads.containers.ContainerWorker`:

1. the init containers, one after the other, each to completion (exit code 0) before the next
   starts; a failing one is run again with the CrashLoopBackOff waits, unless the pod's
   ``restartPolicy`` is ``Never``, where it fails the pod. An init container with
   ``restartPolicy: Always`` is a sidecar: once it has started, the next one starts, and it keeps
   running (and restarting) beside the app containers;
2. then every app container at once.

Whenever a container changes it writes the Pod status as the kubelet does: ``phase`` (Pending
until every container has started, Running, or Succeeded/Failed when nothing restarts), the
conditions ``PodScheduled``, ``Initialized`` (``ContainersNotInitialized`` with the init
containers not done yet), ``ContainersReady`` and ``Ready`` with their transition times,
``podIP``/``podIPs``, ``hostIP``, ``startTime``, ``initContainerStatuses`` and
``containerStatuses``. Writes are coalesced: a burst of changes becomes one status patch. A pod
the scheduler has not placed yet gets the scheduler's ``Scheduled`` Event first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil

from serinus import errors
from serinus.apis.base import Manifest
from serinus.sandbox.workloads import adoption
from serinus.sandbox.workloads.containers import ContainerWorker
from serinus.sandbox.workloads.node import HOST_IP, Node
from serinus.sandbox.workloads.rollout import timestamp

logger = logging.getLogger(__name__)

_COALESCE = 0.05
_NOT_STARTED = (
    "ContainerCreating",
    "PodInitializing",
    "ErrImagePull",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
)


class PodWorker:
    def __init__(self, node: Node, pod: Manifest) -> None:
        self.node = node
        self.pod = pod
        meta = pod["metadata"]
        self.namespace = str(meta["namespace"])
        self.name = str(meta["name"])
        self.uid = str(meta.get("uid") or "")
        spec = pod.get("spec") or {}
        self.grace = float(spec.get("terminationGracePeriodSeconds", 30))
        self.init_containers = [
            ContainerWorker(node, pod, container, self._changed, init=True)
            for container in spec.get("initContainers") or []
        ]
        self.containers = [
            ContainerWorker(node, pod, container, self._changed)
            for container in spec.get("containers") or []
        ]
        if self.init_containers:
            for container in self.containers:
                container.state = {"waiting": {"reason": "PodInitializing"}}
        self.initialized = not self.init_containers
        self.failed = False
        self._dirty = asyncio.Event()
        self._gone = False
        status = pod.get("status") or {}
        self._transitions: dict[str, tuple[str, str]] = {
            str(c.get("type")): (str(c.get("status")), str(c.get("lastTransitionTime")))
            for c in status.get("conditions") or []
            if isinstance(c, dict) and c.get("lastTransitionTime")
        }
        self._started_at = str(status.get("startTime") or timestamp(node.clock()))

    @property
    def all_containers(self) -> list[ContainerWorker]:
        return [*self.init_containers, *self.containers]

    def _changed(self) -> None:
        self._dirty.set()

    async def run(self) -> None:
        status = self.pod.setdefault("status", {})
        if "PodScheduled" not in self._transitions and self.node.events is not None:
            message = f"Successfully assigned {self.namespace}/{self.name} to {self.node.name}"
            self.node.events.emit(self.pod, "Scheduled", message, scheduler=True)
        self._address(status)
        self.node.layout.pod(self.namespace, self.name).mkdir(parents=True, exist_ok=True)
        self.node.ensure_hosts(self.namespace)
        writer = asyncio.create_task(self._write_status())
        self._changed()
        try:
            if status.get("podIP"):
                async with asyncio.TaskGroup() as group:
                    if await self._initialize(group):
                        for container in self.containers:
                            group.create_task(container.run())
            await asyncio.Event().wait()  # finished containers stay reported until deleted
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    def _address(self, status: Manifest) -> None:
        """Keep the address the pod's running processes hold, else pick a free one."""
        held = status.get("podIP")
        if held and self.adoptable():
            self.node.addresses.reserve(str(held))
            return
        ports = [
            int(port["containerPort"])
            for container in self.all_containers
            for port in container.spec.get("ports") or []
        ]
        try:
            status["podIP"] = self.node.addresses.allocate(ports, preferred=held)
        except errors.SerinusError as error:
            status.pop("podIP", None)
            for container in self.all_containers:
                container.state = {
                    "waiting": {"reason": "CreateContainerError", "message": str(error)}
                }
            logger.warning("pod %s/%s: %s", self.namespace, self.name, error)
        else:
            logger.info("pod %s/%s: address %s", self.namespace, self.name, status["podIP"])

    def adoptable(self) -> bool:
        """Whether a process of this pod, started by an earlier runner, still runs."""
        ref = adoption.PodRef(self.namespace, self.name, self.uid)
        for container in self.all_containers:
            run = adoption.latest(self.node.layout, ref, container.name)
            if run is not None and run.alive:
                return True
        return False

    async def _initialize(self, group: asyncio.TaskGroup) -> bool:
        """Run the init containers in order; True once the app containers may start."""
        for container in self.init_containers:
            if container.sidecar:
                running = group.create_task(container.run())
                started = asyncio.ensure_future(container.has_started.wait())
                await asyncio.wait({started, running}, return_when=asyncio.FIRST_COMPLETED)
                started.cancel()
                continue
            await container.run()
            if not container.completed:
                self.failed = True  # restartPolicy Never (or stopped): the pod goes no further
                self._changed()
                return False
        self.initialized = True
        for container in self.containers:
            if (container.state.get("waiting") or {}).get("reason") == "PodInitializing":
                container.state = {"waiting": {"reason": "ContainerCreating"}}
        self._changed()
        return True

    async def stop(
        self, *, grace: float | None = None, announce: bool = False, remove: bool = False
    ) -> None:
        """Stop every container (SIGTERM, SIGKILL after the grace period); release the address.

        ``announce`` (the pod was deleted) records the kubelet's Killing Events; ``remove``
        also removes the pod's directory.
        """
        wait = self.grace if grace is None else min(grace, self.grace)
        await asyncio.gather(
            *(container.stop(wait, announce=announce) for container in self.all_containers)
        )
        address = (self.pod.get("status") or {}).get("podIP")
        if address:
            self.node.addresses.release(str(address))
        if remove:
            self._gone = True
            shutil.rmtree(self.node.layout.pod(self.namespace, self.name), ignore_errors=True)

    async def _write_status(self) -> None:
        while not self._gone:
            await self._dirty.wait()
            await asyncio.sleep(_COALESCE)
            self._dirty.clear()
            try:
                await self.node.kube.patch_status(
                    "v1", "Pod", self.name, self.namespace, {"status": self.status()}
                )
            except errors.NotFoundError:
                return
            except errors.SerinusError as error:
                logger.warning(
                    "pod %s/%s: status not written: %s", self.namespace, self.name, error
                )
                await asyncio.sleep(1)
                self._dirty.set()

    def _condition(self, kind: str, ok: bool, reason: str = "", message: str = "") -> Manifest:
        status = "True" if ok else "False"
        previous = self._transitions.get(kind)
        if previous is None or previous[0] != status:
            self._transitions[kind] = (status, timestamp(self.node.clock()))
        found: Manifest = {
            "type": kind,
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": self._transitions[kind][1],
        }
        if not ok and reason:
            found.update(reason=reason, message=message)
        return found

    def phase(self) -> str:
        if self.failed:
            return "Failed"
        if not self.initialized or any(
            not c.ran and (c.state.get("waiting") or {}).get("reason") in _NOT_STARTED
            for c in self.containers
        ):
            return "Pending"
        terminated = [c.state.get("terminated") for c in self.containers]
        if all(terminated):
            failed = any(int(t.get("exitCode") or 0) != 0 for t in terminated if t)
            return "Failed" if failed else "Succeeded"
        return "Running"

    def status(self) -> Manifest:
        sidecars = [c for c in self.init_containers if c.sidecar]
        serving = [*sidecars, *self.containers]
        ready = bool(self.containers) and all(c.ready for c in serving)
        unready = [c.name for c in serving if not c.ready]
        why = f"containers with unready status: [{' '.join(unready)}]"
        pending = [
            c.name
            for c in self.init_containers
            if not (c.completed or (c in sidecars and c.started))
        ]
        address = self.pod["status"].get("podIP")
        found: Manifest = {
            "phase": self.phase(),
            "conditions": [
                self._condition("PodScheduled", True),
                self._condition(
                    "Initialized",
                    self.initialized,
                    "ContainersNotInitialized",
                    f"containers with incomplete status: [{' '.join(pending)}]",
                ),
                self._condition("ContainersReady", ready, "ContainersNotReady", why),
                self._condition("Ready", ready, "ContainersNotReady", why),
            ],
            "hostIP": HOST_IP,
            "hostIPs": [{"ip": HOST_IP}],
            "startTime": self._started_at,
            "qosClass": "BestEffort",
            "containerStatuses": [container.status() for container in self.containers],
        }
        if self.init_containers:
            found["initContainerStatuses"] = [c.status() for c in self.init_containers]
        if address:
            found.update(podIP=address, podIPs=[{"ip": address}])
        return found
