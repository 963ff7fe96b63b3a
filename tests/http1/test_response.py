"""An answer of the lean client (:mod:`serinus.http1.response`) from a real aiohttp server.

Covers: a gzip body is handed over as sent (callers decode it), :func:`content_encoding` names
its encoding, and the headers are read case-insensitively with their values as sent.
"""

from __future__ import annotations

import gzip

from aiohttp import web

from serinus import http1
from tests.http1.support import send
from tests.support.loopback import handling, serving


async def test_a_gzip_body_is_handed_over_as_sent_with_its_headers(pool: http1.Pool) -> None:
    zipped = gzip.compress(b'{"status":"success"}')

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=zipped, headers={"Content-Encoding": "gzip", "X-A": "1, 2"})

    async with serving(handling(handler)) as url:
        got = await send(pool, url)
    assert got.body == zipped
    assert http1.content_encoding(got) == "gzip"
    assert got.headers["x-a"] == "1, 2"
