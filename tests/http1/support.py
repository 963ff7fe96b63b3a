"""What the lean client's tests share: a request's bytes, an origin from a URL, one exchange
through a pool, and a server speaking raw bytes (framings and failures aiohttp's server would
not produce).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from serinus import http1

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def origin_of(url: str) -> http1.Origin:
    scheme, _, rest = url.partition("://")
    host, _, port = rest.partition(":")
    return http1.Origin(scheme == "https", host, int(port))


def get(path: str = "/", host: str = "127.0.0.1") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


async def send(
    pool: http1.Pool, url: str, message: bytes | None = None, read: float = 5.0
) -> http1.Response:
    return await pool.request(origin_of(url), message or get(), connect=5.0, pool=5.0, read=read)


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    """A server speaking raw bytes (what aiohttp's server would not send); the connections it
    still has are closed with it."""
    writers: set[asyncio.StreamWriter] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.add(writer)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()
