"""The workload runner: the sandbox's kubelet and its Deployment, ReplicaSet, StatefulSet and
Endpoints controllers.

:class:`WorkloadRunner` watches Deployments, ReplicaSets, StatefulSets, PersistentVolumeClaims,
Pods, Services and Namespaces through :class:`serinus.kube.Kube`, exactly as the real controllers
watch a cluster, and:

* queues the objects each event concerns and syncs them one at a time (:mod:`deployments`,
  :mod:`replicasets`, :mod:`statefulsets`, :mod:`endpoints`), each sync reading the current state
  from the API; a deleted claim's data goes with it (:mod:`volumes`);
* runs every Pod bound to its node (or to none) as local processes (:mod:`pods`), records the
  kubelet's and the scheduler's Events about them (:mod:`events`), and stops them when the Pod is
  deleted;
* when it starts, takes over the pods whose processes outlived an earlier runner (killed, or
  restarted by the sandbox's supervisor) instead of starting them again (:mod:`adoption`), and
  stops the processes of pods that were deleted meanwhile, as a kubelet does after a restart;
* keeps the per-namespace hosts files that give pods their Service names (:mod:`serinus.sandbox.
  names`), and registers its Node.

Its :attr:`~WorkloadRunner.log_source` plugs into the API server for ``kubectl logs``.
:meth:`~WorkloadRunner.stop` stops every process it started (whole process groups, SIGKILL after
the grace period) before :meth:`~WorkloadRunner.run` returns: no pod process outlives the runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pathlib
import shutil
from collections.abc import Mapping

import httpx

from serinus import errors
from serinus.apis.base import Manifest
from serinus.kube import Kube
from serinus.sandbox import names
from serinus.sandbox.workloads import adoption, volumes
from serinus.sandbox.workloads.addresses import DEFAULT_POD_CIDR, PodAddresses
from serinus.sandbox.workloads.deployments import APPS, DeploymentController
from serinus.sandbox.workloads.endpoints import EndpointsController
from serinus.sandbox.workloads.events import PodEvents
from serinus.sandbox.workloads.images import ImageMap
from serinus.sandbox.workloads.layout import SandboxDir
from serinus.sandbox.workloads.logfiles import PodLogs
from serinus.sandbox.workloads.node import Node, utc_now
from serinus.sandbox.workloads.pods import PodWorker
from serinus.sandbox.workloads.queue import Key, WorkQueue
from serinus.sandbox.workloads.replicasets import ReplicaSetController
from serinus.sandbox.workloads.serviceaccount import InCluster
from serinus.sandbox.workloads.statefulsets import StatefulSetController

logger = logging.getLogger(__name__)

WATCHED = (
    ("v1", "Namespace"),
    ("v1", "Service"),
    (APPS, "Deployment"),
    (APPS, "ReplicaSet"),
    (APPS, "StatefulSet"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "Pod"),
)
_RETRY = 1.0


def _key(obj: Manifest) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _controller(obj: Manifest) -> Manifest | None:
    references = (obj.get("metadata") or {}).get("ownerReferences") or []
    return next((ref for ref in references if ref.get("controller")), None)


class WorkloadRunner:
    """Plays the kubelet and the workload controllers against an API server."""

    def __init__(
        self,
        kube: Kube,
        sandbox_dir: pathlib.Path,
        image_map: ImageMap,
        *,
        pod_cidr: str = DEFAULT_POD_CIDR,
        node_name: str = "sandbox",
        extra_env: Mapping[str, str] | None = None,
        restart_backoff: float = 10.0,
        stop_grace: float | None = None,
        in_cluster: InCluster | None = None,
    ) -> None:
        """
        Args:
            kube: the client of the API server to play the controllers against.
            sandbox_dir: where hosts files, pod directories and logs go (see ``layout``).
            image_map: which local command runs each image (``ImageMap.bundled()``).
            pod_cidr: the loopback range pod IPs come from.
            node_name: the Node the runner registers and whose pods it runs.
            extra_env: variables given to every container, below the pod's own ``env``.
            restart_backoff: the first CrashLoopBackOff wait in seconds (then doubling).
            stop_grace: at most this many seconds of grace when :meth:`stop` ends the pods
                (their own ``terminationGracePeriodSeconds`` when None).
            in_cluster: the API server's TLS address, for pods' service account tokens.
        """
        self.kube = kube
        self.layout = SandboxDir(sandbox_dir)
        self.images = image_map
        self.addresses = PodAddresses(pod_cidr)
        self.node_name = node_name
        self.extra_env = dict(extra_env or {})
        self.restart_backoff = restart_backoff
        self.stop_grace = stop_grace
        self.in_cluster = in_cluster
        self.log_source = PodLogs(self.layout)
        self.queue = WorkQueue()
        self.deployments = DeploymentController(kube, clock=utc_now)
        self.replicasets = ReplicaSetController(kube, clock=utc_now, node_name=node_name)
        self.statefulsets = StatefulSetController(
            kube, clock=utc_now, node_name=node_name, layout=self.layout, running=self.running
        )
        self.endpoints = EndpointsController(kube, clock=utc_now)
        self._retiring: dict[tuple[str, str], int] = {}
        self._services: dict[tuple[str, str], Manifest] = {}
        self._namespaces: set[str] = set()
        self._pods: dict[str, tuple[PodWorker, asyncio.Task[None]]] = {}
        self._stopping_pods: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._done = asyncio.Event()
        self._started = False
        self._node: Node | None = None

    async def run(self) -> None:
        """Run until :meth:`stop`; SerinusError when Service names cannot be given to pods."""
        if self._stop.is_set() or self._started:
            return
        self._started = True
        try:
            isolation = await names.detect()
            self.layout.hosts_dir.mkdir(parents=True, exist_ok=True)
            async with httpx.AsyncClient(verify=False, trust_env=False) as http:
                self._node = Node(
                    kube=self.kube,
                    layout=self.layout,
                    images=self.images,
                    isolation=isolation,
                    addresses=self.addresses,
                    http=http,
                    services=lambda: list(self._services.values()),
                    ensure_hosts=self.ensure_hosts,
                    name=self.node_name,
                    extra_env=self.extra_env,
                    restart_backoff=self.restart_backoff,
                    in_cluster=self.in_cluster,
                    events=PodEvents(self.kube, node=self.node_name),
                )
                try:
                    await self._register_node(self._node)
                    await self._housekeeping()
                    await self._serve()
                finally:
                    await self._stop_everything()  # while the probes' HTTP client is open
                    if self._node.events is not None:
                        await self._node.events.close()
        finally:
            self._done.set()

    async def stop(self) -> None:
        """Stop every pod process and return once :meth:`run` has finished."""
        self._stop.set()
        if self._started:
            await self._done.wait()

    async def _serve(self) -> None:
        tasks = [asyncio.create_task(self._work(), name="workloads: sync")]
        tasks += [
            asyncio.create_task(self._watch(api_version, kind), name=f"workloads: watch {kind}")
            for api_version, kind in WATCHED
        ]
        stopping = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in [stopping, *tasks]:
                task.cancel()
            await asyncio.gather(stopping, *tasks, return_exceptions=True)
        for task in done:
            failure = None if task is stopping or task.cancelled() else task.exception()
            if failure is not None:
                raise failure

    async def _register_node(self, node: Node) -> None:
        if await self.kube.get("v1", "Node", node.name) is None:
            await self.kube.create(node.manifest())
        await self.kube.patch_status("v1", "Node", node.name, None, {"status": node.status()})

    async def _housekeeping(self) -> None:
        """Before any pod starts: hold the addresses of pods whose processes still run, and stop
        the processes of pods that are gone from the API."""
        pods = await self.kube.list("v1", "Pod")
        known: set[tuple[str, str, str]] = set()
        for pod in pods:
            meta = pod.get("metadata") or {}
            ref = adoption.PodRef(
                str(meta.get("namespace")), str(meta.get("name")), str(meta.get("uid"))
            )
            known.add((ref.namespace, ref.name, ref.uid))
            address = (pod.get("status") or {}).get("podIP")
            if address and adoption.running(self.layout, ref):
                self.addresses.reserve(str(address))
        for ref, pid in adoption.leftovers(self.layout, known):
            logger.info("pod %s/%s is gone: stopping its process %d", ref.namespace, ref.name, pid)
            await adoption.kill(pid, grace=self.stop_grace or 30.0)
        for ref in adoption.abandoned(self.layout, known):
            shutil.rmtree(self.layout.pod(ref.namespace, ref.name), ignore_errors=True)

    # events

    async def _watch(self, api_version: str, kind: str) -> None:
        async for event, obj in self.kube.watch(api_version, kind):
            self._on_event(kind, event, obj)

    def _on_event(self, kind: str, event: str, obj: Manifest) -> None:
        namespace, name = _key(obj)
        if kind == "Namespace":
            if event == "DELETED":
                self._namespaces.discard(name)
            else:
                self._namespaces.add(name)
            self.queue.add(("Hosts", "", ""))
        elif kind == "Service":
            if event == "DELETED":
                self._services.pop((namespace, name), None)
            else:
                self._services[(namespace, name)] = obj
            self.queue.add(("Hosts", "", ""))
            self.queue.add(("Endpoints", namespace, ""))
        elif kind == "Deployment":
            self.queue.add(("Deployment", namespace, name))
        elif kind == "ReplicaSet":
            self.queue.add(("ReplicaSet", namespace, name))
            self._add_owner(obj, "Deployment")
        elif kind == "StatefulSet":
            self.queue.add(("StatefulSet", namespace, name))
        elif kind == "PersistentVolumeClaim":
            if event == "DELETED":
                volumes.release(self.layout, namespace, name)
        elif kind == "Pod":
            self._kubelet(event, obj)
            self._add_owner(obj, "ReplicaSet")
            self._add_owner(obj, "StatefulSet")
            self.queue.add(("Endpoints", namespace, ""))

    def _add_owner(self, obj: Manifest, kind: str) -> None:
        owner = _controller(obj)
        if owner is not None and owner.get("kind") == kind:
            self.queue.add((kind, _key(obj)[0], str(owner.get("name"))))

    # syncing

    async def _work(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                again = await self._sync(key)
            except errors.SerinusError as error:
                logger.warning("sync of %s %s/%s failed, retrying: %s", *key, error)
                self.queue.add_after(key, _RETRY)
            except Exception:
                logger.exception("sync of %s %s/%s failed unexpectedly", *key)
                self.queue.add_after(key, 5 * _RETRY)
            else:
                if again is not None:
                    self.queue.add_after(key, again)

    async def _sync(self, key: Key) -> float | None:
        kind, namespace, name = key
        if kind == "Deployment":
            return await self.deployments.sync(namespace, name)
        if kind == "ReplicaSet":
            return await self.replicasets.sync(namespace, name)
        if kind == "StatefulSet":
            return await self.statefulsets.sync(namespace, name)
        if kind == "Endpoints":
            await self.endpoints.sync(namespace)
        elif kind == "Hosts":
            self._write_hosts()
        return None

    # names

    def _render(self, namespace: str) -> str:
        return names.render_hosts(namespace, self._services.values())

    def _write_hosts(self) -> None:
        present = {path.name for path in self.layout.hosts_dir.iterdir() if path.is_file()}
        for namespace in sorted(self._namespaces | present):
            if names.write_hosts(self.layout.hosts(namespace), self._render(namespace)):
                logger.debug("hosts file of namespace %s updated", namespace)

    def ensure_hosts(self, namespace: str) -> pathlib.Path:
        """The hosts file of ``namespace``, written now when it does not exist yet."""
        path = self.layout.hosts(namespace)
        if not path.exists():
            names.write_hosts(path, self._render(namespace))
        return path

    # pods

    def _kubelet(self, event: str, pod: Manifest) -> None:
        meta = pod.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        if event == "DELETED":
            entry = self._pods.pop(uid, None)
            if entry is not None:
                self._retire(*entry, remove=True)
            return
        if uid in self._pods or self._node is None or meta.get("deletionTimestamp"):
            return
        bound = (pod.get("spec") or {}).get("nodeName")
        phase = (pod.get("status") or {}).get("phase")
        if (bound and bound != self.node_name) or phase in ("Succeeded", "Failed"):
            return
        worker = PodWorker(self._node, pod)
        task = asyncio.create_task(worker.run(), name=f"pod {worker.namespace}/{worker.name}")
        task.add_done_callback(_report)
        self._pods[uid] = (worker, task)

    def running(self, namespace: str, name: str) -> bool:
        """Whether processes of a pod of this name run (or are still stopping) on the node."""
        if self._retiring.get((namespace, name)):
            return True
        return any((w.namespace, w.name) == (namespace, name) for w, _ in self._pods.values())

    def _retire(self, worker: PodWorker, task: asyncio.Task[None], *, remove: bool) -> None:
        key = (worker.namespace, worker.name)
        self._retiring[key] = self._retiring.get(key, 0) + 1

        async def retire() -> None:
            try:
                await worker.stop(grace=self.stop_grace, announce=remove)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            finally:
                self._retiring[key] -= 1
                if not self._retiring[key]:
                    del self._retiring[key]
            if remove and not any(
                (w.namespace, w.name) == (worker.namespace, worker.name)
                for w, _ in self._pods.values()
            ):
                shutil.rmtree(self.layout.pod(worker.namespace, worker.name), ignore_errors=True)

        stopping = asyncio.create_task(retire())
        self._stopping_pods.add(stopping)
        stopping.add_done_callback(self._stopping_pods.discard)

    async def _stop_everything(self) -> None:
        for worker, task in self._pods.values():
            self._retire(worker, task, remove=False)
        self._pods.clear()
        while self._stopping_pods:
            await asyncio.gather(*self._stopping_pods, return_exceptions=True)
        self.queue.close()


def _report(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("%s failed", task.get_name(), exc_info=task.exception())
