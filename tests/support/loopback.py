"""Serving an aiohttp app on a free loopback port: what every test server here does first.

:func:`start` sets an app up on ``127.0.0.1`` (port 0, so the kernel picks a free one), over HTTP
or, given a context, HTTPS, and returns the runner (``runner.cleanup()`` stops it) with the base
URL; :func:`serving` does the same for one ``async with`` block.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web


async def start(
    app: web.Application, *, tls: ssl.SSLContext | None = None, **runner: Any
) -> tuple[web.AppRunner, str]:
    """Serve ``app``; the runner and ``http(s)://127.0.0.1:<port>``. ``runner``: AppRunner
    options (``access_log=None`` is the default here)."""
    started = web.AppRunner(app, **{"access_log": None, **runner})
    await started.setup()
    await web.TCPSite(started, "127.0.0.1", 0, ssl_context=tls).start()
    scheme = "https" if tls is not None else "http"
    return started, f"{scheme}://127.0.0.1:{started.addresses[0][1]}"


@contextlib.asynccontextmanager
async def serving(app: web.Application, *, tls: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """Serve ``app`` until the block ends; the base URL."""
    runner, url = await start(app, tls=tls)
    try:
        yield url
    finally:
        await runner.cleanup()


def handling(handler: Any) -> web.Application:
    """An app sending every request, whatever its method and path, to ``handler``."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app
