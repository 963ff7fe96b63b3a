"""The sandbox's mesh proxy, playing Linkerd: :class:`MeshProxy`.

One :class:`MeshProxy` (one asyncio process or task) plays every Linkerd proxy of the sandbox at
once. It listens on each Service's ``clusterIP:port`` (a loopback address, so every Service keeps
its real port), forwards each request to a ready pod of the Service, or across the backends a
TrafficSplit or HTTPRoute names, and counts it on the destination pod's inbound side with
Linkerd's metric names on an admin port (``/metrics``, plus ``/ready`` and ``/live``)::

    async with Kube(KubeSettings.for_server(api.url)) as kube:
        async with MeshProxy(kube, metrics_port=0) as proxy:
            ...  # proxy.metrics_url, proxy.metrics_address (a Prometheus scrape target)

Without a Kube, the proxy routes by whatever is put into its :attr:`state` (tests of the core).

What it assumes of the sandbox: Service cluster IPs are loopback addresses (the API server
allocates them from a range such as 127.96.0.0/12); a Service with any other cluster IP is not
served, with a warning. Pods listen on the addresses their Endpoints name (``status.podIP``, such as
127.244.x.y, and the Endpoints port), which the workload runner writes with ``targetRef``s to the
pods. Ports under 1024 can only be bound as root; a port that cannot be bound is logged and
retried at every change.

The parts: :mod:`~serinus.sandbox.mesh.watching` keeps :attr:`state` current; on every change a
new immutable :class:`~serinus.sandbox.mesh.routing.RoutingTable` is built on the next turn of the
event loop (a burst of events costs one build) and swapped in; then
:mod:`~serinus.sandbox.mesh.listeners` opens and closes sockets to match it, and
:mod:`~serinus.sandbox.mesh.forward` relays requests by it, counting into
:mod:`~serinus.sandbox.mesh.metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp import web

from serinus.kube import Kube
from serinus.sandbox.mesh import table as routing
from serinus.sandbox.mesh.balancer import BalancerCache
from serinus.sandbox.mesh.forward import Forwarder, new_session
from serinus.sandbox.mesh.listeners import Listeners
from serinus.sandbox.mesh.metrics import CONTENT_TYPE, ProxyMetrics
from serinus.sandbox.mesh.state import ClusterState
from serinus.sandbox.mesh.watching import Watchers

logger = logging.getLogger(__name__)


class MeshProxy:
    """Linkerd's data plane for the sandbox: Service addresses, traffic splits, proxy metrics."""

    def __init__(
        self,
        kube: Kube | None = None,
        *,
        state: ClusterState | None = None,
        metrics_host: str = "127.0.0.1",
        metrics_port: int = 0,
        sync_timeout: float = 30.0,
    ) -> None:
        """
        Args:
            kube: the API server to watch; None routes by :attr:`state` alone.
            state: the cluster cache to route by (a fresh one when None).
            metrics_host: address of the admin server (``/metrics``, ``/ready``, ``/live``).
            metrics_port: its port; 0 picks a free one (read it back from :attr:`metrics_port`).
            sync_timeout: seconds :meth:`start` waits for the first full listing of the cluster.
        """
        self.state = state if state is not None else ClusterState()
        self.metrics = ProxyMetrics()
        self.metrics_host = metrics_host
        self.metrics_port = metrics_port
        self._kube = kube
        self._sync_timeout = sync_timeout
        self._watchers = Watchers(kube, self.state) if kube is not None else None
        self._cache = BalancerCache()
        self._warned: set[str] = set()
        self._table = routing.RoutingTable({}, -1)
        self._session: aiohttp.ClientSession | None = None
        self._listeners = Listeners(Forwarder(lambda: self._table, self.metrics, self._client))
        self._admin: web.AppRunner | None = None
        self._rebuild_scheduled = False
        self._synced = asyncio.Event()
        self._changed = asyncio.Condition()
        self._resync = asyncio.Event()
        self._syncer: asyncio.Task[None] | None = None

    @property
    def table(self) -> routing.RoutingTable:
        """The routing table in force now."""
        return self._table

    @property
    def listening(self) -> frozenset[tuple[str, int]]:
        """The ``(clusterIP, port)`` addresses with an open socket."""
        return self._listeners.addresses

    @property
    def metrics_address(self) -> str:
        """``host:port`` of the admin server, as a Prometheus static target."""
        return f"{self.metrics_host}:{self.metrics_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.metrics_address}/metrics"

    async def start(self) -> None:
        """Serve the admin port, list the cluster, then open every Service's sockets."""
        self._session = new_session()
        await self._start_admin()
        await self._listeners.start()
        self._syncer = asyncio.create_task(self._keep_listening())
        self.state.set_listener(self._schedule_rebuild)
        if self._watchers is not None:
            self._watchers.start()
            try:
                await asyncio.wait_for(self._watchers.synced.wait(), self._sync_timeout)
            except TimeoutError:
                await self.stop()
                raise
        self._schedule_rebuild()
        await self.wait_for(lambda current: current.version == self.state.version)
        logger.info("mesh proxy serving %d Service ports", len(self.listening))

    async def stop(self) -> None:
        """Stop watching, close every socket (requests in progress get 5 s), close the pool."""
        self.state.set_listener(None)
        if self._watchers is not None:
            await self._watchers.stop()
        if self._syncer is not None:
            self._syncer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._syncer
            self._syncer = None
        await self._listeners.stop()
        if self._admin is not None:
            await self._admin.cleanup()
            self._admin = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def wait_for(
        self, predicate: Callable[[routing.RoutingTable], bool], *, within: float = 10.0
    ) -> routing.RoutingTable:
        """The table in force once ``predicate`` holds for it (and its sockets are open).

        Raises:
            TimeoutError: when it does not hold ``within`` seconds.
        """
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: self._synced.is_set() and predicate(self._table))
            return self._table

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the mesh proxy is not started")
        return self._session

    def _schedule_rebuild(self) -> None:
        if not self._rebuild_scheduled:
            self._rebuild_scheduled = True
            asyncio.get_running_loop().call_soon(self._rebuild)

    def _rebuild(self) -> None:
        self._rebuild_scheduled = False
        found: list[str] = []
        self._table = routing.build(self.state, self._cache, found.append)
        for message in found:
            if message not in self._warned:
                logger.warning("%s", message)
        self._warned = set(found)
        self._synced.clear()
        self._resync.set()

    async def _keep_listening(self) -> None:
        while True:
            await self._resync.wait()
            self._resync.clear()
            current = self._table
            try:
                await self._listeners.sync(current.listeners)
            except Exception:
                logger.exception("could not update the mesh proxy's sockets")
            if current is self._table:
                self._synced.set()
            async with self._changed:
                self._changed.notify_all()

    async def _start_admin(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._serve_metrics)
        app.router.add_get("/ready", self._serve_ready)
        app.router.add_get("/live", self._serve_live)
        self._admin = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._admin.setup()
        site = web.TCPSite(self._admin, self.metrics_host, self.metrics_port)
        await site.start()
        self.metrics_port = int(self._admin.addresses[0][1])

    async def _serve_metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    async def _serve_ready(self, request: web.Request) -> web.Response:
        ready = self._table.version >= 0
        return web.Response(status=200 if ready else 503, text="ready\n" if ready else "")

    async def _serve_live(self, request: web.Request) -> web.Response:
        return web.Response(text="live\n")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.stop()
