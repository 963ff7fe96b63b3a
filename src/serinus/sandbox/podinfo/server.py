"""Run the podinfo stand-in until told to stop, logging one JSON line per request.

:func:`serve` listens, reports the bound address (``--port 0`` picks a free one), and when ``stop``
is set (the CLI sets it on SIGTERM or SIGINT) turns readiness and liveness off first, as podinfo
does, keeps serving for ``drain`` seconds, then closes. Real podinfo waits 3 seconds there (none
at ``--level debug``) "for Kubernetes readiness probe to remove this instance from the load
balancer": a pod deleted in a rolling update still answers the requests the mesh sends it before
its Endpoints update arrives, so replacing pods loses no request. The CLI does the same.

Each request becomes one JSON line on the ``serinus.sandbox.podinfo.access``
logger with the request's ``method``, ``uri``, ``status``, ``duration`` (seconds), ``remote`` and
``proto``; :func:`configure_access_log` gives that logger its own handler so the fields survive
(the project's JSON formatter keeps only its own keys).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import IO, Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from serinus import logs
from serinus.sandbox.podinfo.app import STATE_KEY, create_app
from serinus.sandbox.podinfo.info import Podinfo

logger = logging.getLogger(__name__)
ACCESS_LOGGER = "serinus.sandbox.podinfo.access"
_FIELDS = ("method", "uri", "status", "duration", "remote", "proto", "size")
_SHUTDOWN_SECONDS = 2.0
DRAIN_SECONDS = 3.0
"""What real podinfo waits between SIGTERM and closing its listener (unless --level debug)."""


class AccessFormatter(logs.JsonFormatter):
    """The project's JSON line plus the request fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = json.loads(super().format(record))
        for key in _FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        return json.dumps(line, default=str)


def configure_access_log(stream: IO[str]) -> None:
    """Send access lines to ``stream`` as JSON (called once, by the CLI)."""
    access = logging.getLogger(ACCESS_LOGGER)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter())
    access.handlers[:] = [handler]
    access.setLevel(logging.INFO)
    access.propagate = False


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access-log hook, writing one structured record per request."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "request completed",
            extra={
                "method": request.method,
                "uri": request.path_qs,
                "status": response.status,
                "duration": round(time, 6),
                "remote": request.remote,
                "proto": f"HTTP/{request.version.major}.{request.version.minor}",
                "size": response.body_length,
            },
        )


async def serve(
    settings: Podinfo,
    *,
    host: str,
    port: int,
    stop: asyncio.Event,
    on_ready: Callable[[str], None] | None = None,
    drain: float = 0.0,
) -> None:
    """Serve on ``host:port`` until ``stop`` is set, then ``drain`` seconds more, unready.

    ``on_ready`` gets the URL once bound.
    """
    app = create_app(settings)
    runner = web.AppRunner(
        app,
        access_log_class=AccessLogger,
        access_log=logging.getLogger(ACCESS_LOGGER),
        handle_signals=False,
        shutdown_timeout=_SHUTDOWN_SECONDS,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        url = f"http://{bound[0]}:{bound[1]}"
        logger.info("Starting podinfo v%s, listening on %s", settings.bare_version, url)
        if on_ready is not None:
            on_ready(url)
        await stop.wait()
        api = app[STATE_KEY]
        api.ready = False
        api.healthy = False
        logger.info("Shutting down podinfo on %s", url)
        if drain > 0:
            await asyncio.sleep(drain)
    finally:
        await runner.cleanup()
