"""The API server as a thing to start and stop: :class:`ApiServer` and :func:`serve`.

Tests and the sandbox use it as an async context manager::

    async with ApiServer(port=0) as api:
        api.write_kubeconfig(tmp_path / "kubeconfig")
        ...  # api.url, api.cluster (in-process access), api.logs / api.execs (plug sources)

The CLI calls :func:`serve`, which serves until it is told to stop (on SIGINT or SIGTERM).
With ``record_requests=True`` it keeps a request log (:class:`Recorded`: method, path, query, user
agent, status) that tests read to see which client wrote what.

Stopping ends every open watch and log stream with a proper final chunk first (aiohttp would
otherwise wait for them), then saves the state file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import pathlib
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from aiohttp import web

from serinus.sandbox.apiserver import deletion, namespaces, pki
from serinus.sandbox.apiserver.cluster import Cluster
from serinus.sandbox.apiserver.handlers import Api
from serinus.sandbox.apiserver.kubeconfig import write_kubeconfig
from serinus.sandbox.apiserver.logs import LogSources
from serinus.sandbox.apiserver.persistence import StateFile
from serinus.sandbox.apiserver.podexec import ExecSources
from serinus.sandbox.apiserver.status import MAX_BODY_BYTES

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclasses.dataclass(frozen=True)
class Recorded:
    """One request the server answered (``ApiServer(record_requests=True)``)."""

    time: float
    """When it arrived (epoch seconds)."""
    method: str
    path: str
    query: str
    user_agent: str
    status: int


class ApiServer:
    """A Kubernetes API server on a loopback port, state in memory or in a file."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state: pathlib.Path | None = None,
        watch_window: int = 10_000,
        bookmark_interval: float = 60.0,
        persist_delay: float = 0.2,
        service_cidr: str = "10.96.0.0/12",
        secure_port: int | None = None,
        record_requests: bool = False,
    ) -> None:
        """
        Args:
            host: address to listen on (loopback by default).
            port: TCP port; 0 picks a free one (read it back from :attr:`port`).
            state: file keeping every object across restarts; None keeps them in memory.
            watch_window: how many changes a watch can resume across before it gets 410 Gone.
            bookmark_interval: seconds between BOOKMARK events on watches that allow them.
            persist_delay: seconds a burst of changes waits before the state file is written.
            service_cidr: the range Services get their cluster IPs from. The sandbox passes a
                loopback range (e.g. ``127.96.0.0/12``) so that those addresses can be served.
            secure_port: also serve TLS (a certificate from the cluster CA) on this port; 0 picks
                a free one; None serves plain HTTP only.
            record_requests: keep every request answered in :attr:`requests` (the request log a
                test reads to see who wrote what).
        """
        self.host = host
        self.port = port
        self.secure_port = secure_port
        self.cluster = Cluster(window=watch_window, service_cidr=service_cidr)
        deletion.install(self.cluster)
        self.logs = LogSources()
        self.execs = ExecSources()
        self._state = StateFile(state, self.cluster, delay=persist_delay) if state else None
        self._bookmark_interval = bookmark_interval
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.requests: list[Recorded] | None = [] if record_requests else None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def secure_url(self) -> str | None:
        return None if self.secure_port is None else f"https://{self.host}:{self.secure_port}"

    async def start(self) -> None:
        if self._state is not None:
            self._state.load()
            self._state.attach()
        self.cluster.seed()
        namespaces.install(self.cluster)
        api = Api(
            self.cluster,
            self.logs,
            self.execs,
            closing=self._closing,
            bookmark_interval=self._bookmark_interval,
            address=lambda: f"{self.host}:{self.port}",
        )
        middlewares = [] if self.requests is None else [self._record]
        app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=middlewares)
        app.router.add_route("*", "/{path:.*}", api.handle)
        app.on_shutdown.append(self._end_streams)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        self.port = int(self._runner.addresses[0][1])
        if self.secure_port is not None:
            context = await asyncio.to_thread(pki.serving_context, self.cluster)
            secure = web.TCPSite(self._runner, self.host, self.secure_port, ssl_context=context)
            await secure.start()
            self.secure_port = int(self._runner.addresses[-1][1])
            logger.info("Kubernetes API server listening with TLS on %s", self.secure_url)
        logger.info("Kubernetes API server listening on %s", self.url)

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """One line of the request log per request, once answered (a watch: once it ends)."""
        received = time.time()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        finally:
            assert self.requests is not None
            self.requests.append(
                Recorded(
                    received,
                    request.method,
                    request.path,
                    request.query_string,
                    request.headers.get("User-Agent", ""),
                    status,
                )
            )

    async def _end_streams(self, app: web.Application) -> None:
        self._closing.set()
        self.cluster.store.end_watches()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._state is not None:
            await self._state.close()
        logger.info("Kubernetes API server on %s stopped", self.url)

    def write_kubeconfig(self, path: pathlib.Path, *, namespace: str = "default") -> pathlib.Path:
        """Write a kubeconfig pointing at this server (mode 0600)."""
        ca = pki.authority(self.cluster)[0] if self.secure_url is not None else ""
        return write_kubeconfig(
            path, self.url, namespace=namespace, secure_url=self.secure_url, ca=ca
        )

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


async def serve(
    server: ApiServer,
    *,
    stop: asyncio.Event,
    kubeconfig: pathlib.Path | None = None,
    on_ready: Callable[[ApiServer], None] | None = None,
) -> None:
    """Run ``server`` until ``stop`` is set (``serinus sandbox apiserver`` sets it on a signal)."""
    async with server:
        if kubeconfig is not None:
            server.write_kubeconfig(kubeconfig)
        if on_ready is not None:
            on_ready(server)
        await stop.wait()
