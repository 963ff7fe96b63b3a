"""One pod on the sandbox's node: its address, its containers, and the Pod status it reports.

:class:`PodWorker` gives the pod a loopback address of its own (``status.podIP``; the one it
had before when the runner restarts and it is still free), a working directory, and runs each
container with a :class:`~serinus.sandbox.workloads.containers.ContainerWorker`. Whenever a
container changes it writes the Pod status as the kubelet does: ``phase`` (Pending until every
container has started, Running, or Succeeded/Failed when nothing restarts), the conditions
``PodScheduled``, ``Initialized``, ``ContainersReady`` and ``Ready`` with their transition times,
``podIP``/``podIPs``, ``hostIP``, ``startTime`` and ``containerStatuses``. Writes are coalesced:
a burst of changes becomes one status patch.

``initContainers`` are not run: a pod that has them reports ``Initialized`` False with a message
saying so, and its containers do not start, rather than silently skipping them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil

from serinus import errors
from serinus.apis.base import Manifest
from serinus.sandbox.workloads.containers import ContainerWorker
from serinus.sandbox.workloads.node import HOST_IP, Node
from serinus.sandbox.workloads.rollout import timestamp

logger = logging.getLogger(__name__)

_COALESCE = 0.05
_NOT_STARTED = (
    "ContainerCreating",
    "ErrImagePull",
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
        self.containers = [
            ContainerWorker(node, pod, container, self._changed)
            for container in spec.get("containers") or []
        ]
        self.blocked = (
            "init containers are not supported by the sandbox" if spec.get("initContainers") else ""
        )
        self._dirty = asyncio.Event()
        self._gone = False
        self._transitions: dict[str, tuple[str, str]] = {}
        self._started_at = timestamp(node.clock())

    def _changed(self) -> None:
        self._dirty.set()

    async def run(self) -> None:
        status = self.pod.setdefault("status", {})
        ports = [
            int(port["containerPort"])
            for container in (self.pod.get("spec") or {}).get("containers") or []
            for port in container.get("ports") or []
        ]
        try:
            status["podIP"] = self.node.addresses.allocate(ports, preferred=status.get("podIP"))
        except errors.SerinusError as error:
            status.pop("podIP", None)
            for container in self.containers:
                container.state = {
                    "waiting": {"reason": "CreateContainerError", "message": str(error)}
                }
            logger.warning("pod %s/%s: %s", self.namespace, self.name, error)
        else:
            logger.info("pod %s/%s: address %s", self.namespace, self.name, status["podIP"])
        self.node.layout.pod(self.namespace, self.name).mkdir(parents=True, exist_ok=True)
        self.node.ensure_hosts(self.namespace)
        writer = asyncio.create_task(self._write_status())
        self._changed()
        try:
            if not self.blocked and status.get("podIP"):
                async with asyncio.TaskGroup() as group:
                    for container in self.containers:
                        group.create_task(container.run())
            await asyncio.Event().wait()  # finished containers stay reported until deleted
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    async def stop(self, *, grace: float | None = None, remove: bool = False) -> None:
        """Stop every container (SIGTERM, SIGKILL after the grace period); release the address."""
        wait = self.grace if grace is None else min(grace, self.grace)
        await asyncio.gather(*(container.stop(wait) for container in self.containers))
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
        if self.blocked or any(
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
        ready = bool(self.containers) and all(c.ready for c in self.containers)
        unready = [c.name for c in self.containers if not c.ready]
        why = f"containers with unready status: [{' '.join(unready)}]"
        address = self.pod["status"].get("podIP")
        found: Manifest = {
            "phase": self.phase(),
            "conditions": [
                self._condition("PodScheduled", True),
                self._condition(
                    "Initialized", not self.blocked, "InitContainersNotSupported", self.blocked
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
        if address:
            found.update(podIP=address, podIPs=[{"ip": address}])
        return found
