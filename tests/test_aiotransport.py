"""httpx over aiohttp (:mod:`serinus.aiotransport`), against real loopback servers.

Covers what httpx's own transport did and the operator relies on: a gzip body is decoded once;
a redirect is answered, not followed; a streamed answer (a watch) arrives line by line while the
server still writes; request headers go out as the caller spelt them, repeated ones included,
with nothing added to a GET; failures are httpx's exceptions of the same kind (refused, read
timeout, a scheme other than http), raised from what the socket saw; one connection serves
requests one after another.
"""

from __future__ import annotations

import asyncio
import gzip
import socket

import httpx
import pytest
from aiohttp import web

from serinus import aiotransport
from tests.support.loopback import handling, serving


def outbound_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=aiotransport.OutboundTransport(limit=10))


async def test_a_gzip_body_is_decoded_once_and_a_redirect_is_not_followed() -> None:
    async def handler(request: web.Request) -> web.Response:
        if request.path == "/moved":
            raise web.HTTPFound("/elsewhere")
        body = gzip.compress(b'{"status":"success"}')
        return web.Response(body=body, headers={"Content-Encoding": "gzip"})

    async with serving(handling(handler)) as url, outbound_client() as client:
        answer = await client.get(f"{url}/query")
        assert answer.json() == {"status": "success"}
        moved = await client.get(f"{url}/moved")
        assert (moved.status_code, moved.headers["Location"]) == (302, "/elsewhere")


async def test_a_stream_arrives_line_by_line_while_the_server_writes() -> None:
    release = asyncio.Event()

    async def watch(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b'{"type":"ADDED"}\n')
        await release.wait()
        await response.write(b'{"type":"DELETED"}\n')
        return response

    async with (
        serving(handling(watch)) as url,
        outbound_client() as client,
        client.stream("GET", f"{url}/watch") as response,
    ):
        lines = response.aiter_lines()
        assert await asyncio.wait_for(anext(lines), 5) == '{"type":"ADDED"}'
        release.set()
        assert await asyncio.wait_for(anext(lines), 5) == '{"type":"DELETED"}'


async def test_headers_go_out_as_spelt_and_a_get_gets_no_content_type() -> None:
    seen: list[list[tuple[str, str]]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append([(k.decode(), v.decode()) for k, v in request.raw_headers])
        return web.Response(text="ok")

    async with serving(handling(handler)) as url, outbound_client() as client:
        headers = [("X-Query-Key", "k"), ("X-Tag", "a"), ("X-Tag", "b")]
        await client.get(f"{url}/", headers=headers)
    names = [name for name, _ in seen[0]]
    assert "X-Query-Key" in names
    assert [value for name, value in seen[0] if name == "X-Tag"] == ["a", "b"]
    assert "Content-Type" not in names


async def test_failures_are_httpx_errors_of_the_same_kind() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        closed = held.getsockname()[1]
    async with outbound_client() as client:
        with pytest.raises(httpx.ConnectError) as refused:
            await client.get(f"http://127.0.0.1:{closed}/")
        assert isinstance(refused.value.__cause__, ConnectionRefusedError)

    ended = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes
        writer.close()
        await writer.wait_closed()
        ended.set()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with outbound_client() as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(f"http://127.0.0.1:{port}/", timeout=0.2)
            with pytest.raises(httpx.UnsupportedProtocol):
                await client.get("ftp://127.0.0.1/")
        await asyncio.wait_for(ended.wait(), 5)  # its socket closed, nothing left to the GC
    finally:
        server.close()
        await server.wait_closed()


async def test_requests_one_after_another_share_one_connection() -> None:
    peers: set[object] = set()

    async def handler(request: web.Request) -> web.Response:
        assert request.transport is not None
        peers.add(request.transport.get_extra_info("peername"))
        return web.Response(text="ok")

    async with serving(handling(handler)) as url, outbound_client() as client:
        for _ in range(20):
            assert (await client.get(f"{url}/")).text == "ok"
    assert len(peers) == 1
