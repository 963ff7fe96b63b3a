"""The operator's HTTP endpoints: ``/metrics`` (Flagger's self-metrics), ``/healthz``, ``/readyz``.

``/metrics`` is rendered in a thread, so a scrape never holds up ticks for the time it takes to
render every Canary's series (~200 ms of CPU for a thousand Canaries, prometheus_client's
``generate_latest``); the event loop keeps running, sharing the interpreter with it. The
``_created`` series prometheus_client adds by default are left out, as Flagger's Go client does.

``/healthz`` answers as long as the process serves; ``/readyz`` answers 200 once the operator has
reached the API server (and, with leader election, whether or not it leads: a follower is ready to
take over), 503 before.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from serinus.operator.selfmetrics import SelfMetrics


class Endpoints:
    def __init__(self, metrics: SelfMetrics, *, host: str, port: int) -> None:
        self.metrics = metrics
        self.ready = asyncio.Event()
        self.leading = False
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self.port = port

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        # In a thread: rendering a thousand Canaries' series takes ~200 ms of CPU, which would
        # otherwise stop the event loop (every tick due meanwhile) at each scrape.
        body = await asyncio.to_thread(generate_latest, self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, request: web.Request) -> web.Response:
        if not self.ready.is_set():
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response({"status": "ready", "leader": self.leading})
