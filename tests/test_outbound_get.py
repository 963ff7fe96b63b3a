"""The metric queries' path, :func:`serinus.outbound.get`, against real loopback servers.

Each test sends the same query through :func:`~serinus.outbound.get` and through httpx's client
(:func:`~serinus.outbound.send` with ``params=`` and ``auth=``, the path it replaces) and checks
what a user or the backend would see is the same:

- the request on the wire, byte for byte (path, query string, header names, values and order)
  for PromQL full of characters a URL must escape, custom headers overriding httpx's defaults, a
  bearer token, basic auth, an address with a path prefix, and (left to httpx) user info;
- the answer: a gzip body decoded, a deflate one too, a redirect answered and not followed, a
  cookie the backend sets sent back on the next query;
- no answer, by cause and in the same words: a closed port, a server that never answers, a
  connection cut in the middle of the body, a gzip body that is not gzip, an untrusted certificate;
- an address httpx cannot send to is the same InvalidCanaryError;
- a closed client is refused as httpx's is.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from serinus import outbound
from serinus.errors import InvalidCanaryError
from tests.support import certificates
from tests.support.loopback import handling, serving

Wire = tuple[str, list[tuple[str, str]]]
QUERY = 'sum(rate(x{a="b c",d=~"é|+&=%/#?"}[1m])) / on() vector(1)\t'


async def via_get(client: httpx.AsyncClient, url: str, **options: Any) -> outbound.Answer:
    return await outbound.get(
        client,
        url,
        params=options.get("params", {"query": QUERY}),
        headers=options.get("headers", {}),
        basic_auth=options.get("basic_auth"),
        timeout_seconds=options.get("timeout", 5.0),
        field="spec.provider.address",
    )


async def via_httpx(client: httpx.AsyncClient, url: str, **options: Any) -> httpx.Response:
    auth = options.get("basic_auth")
    return await outbound.send(
        client,
        "GET",
        url,
        timeout_seconds=options.get("timeout", 5.0),
        field="spec.provider.address",
        params=options.get("params", {"query": QUERY}),
        headers=options.get("headers", {}),
        auth=httpx.BasicAuth(*auth) if auth else httpx.USE_CLIENT_DEFAULT,
    )


SENDS = (via_get, via_httpx)


@contextlib.asynccontextmanager
async def recording(
    answer: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None,
) -> AsyncIterator[tuple[str, list[Wire]]]:
    """A server recording each request's path with query and its raw headers, in order."""
    seen: list[Wire] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append((request.raw_path, [(k.decode(), v.decode()) for k, v in request.raw_headers]))
        if answer is not None:
            return await answer(request)
        return web.json_response({"status": "success"})

    async with serving(handling(handler)) as url:
        yield url, seen


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"headers": {"X-Scope-OrgID": "tenant-1", "Accept": "application/json"}},
        {"headers": {"Authorization": "Bearer s3cr3t"}},
        {"basic_auth": ("user", "pa:ss wörd")},
        {"params": {"query": QUERY, "time": "1714564800.250"}},
        {"params": {}},
    ],
    ids=["plain", "headers", "bearer", "basic", "time", "no-params"],
)
async def test_the_request_on_the_wire_is_httpx_s(http, options):
    async with recording() as (url, seen):
        answer = await via_get(http, f"{url}/prefix/api/v1/query", **options)
        await via_httpx(http, f"{url}/prefix/api/v1/query", **options)
    assert answer.status_code == 200
    assert answer.json() == {"status": "success"}
    assert seen[0] == seen[1]
    assert seen[0][0].startswith("/prefix/api/v1/query")
    prepared = outbound._route(  # the short path, not httpx's, sent the first request
        http,
        f"{url}/prefix/api/v1/query",
        options.get("headers", {}),
        options.get("basic_auth"),
        5.0,
    )
    assert prepared is not None


async def test_user_info_in_the_address_is_left_to_httpx(http):
    async with recording() as (url, seen):
        address = url.replace("http://", "http://reader:pw@") + "/api/v1/query"
        await via_get(http, address)
        await via_httpx(http, address)
    assert seen[0] == seen[1]
    assert ("Authorization", "Basic cmVhZGVyOnB3") in seen[0][1]


async def test_gzip_and_deflate_bodies_are_decoded_and_a_redirect_is_not_followed(http):
    async def answer(request: web.Request) -> web.StreamResponse:
        body = b'{"status":"success","data":{}}'
        if request.path == "/gzip":
            compressor = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
            zipped = compressor.compress(body) + compressor.flush()
            return web.Response(body=zipped, headers={"Content-Encoding": "gzip"})
        if request.path == "/deflate":
            return web.Response(body=zlib.compress(body), headers={"Content-Encoding": "deflate"})
        raise web.HTTPFound("/elsewhere")

    async with recording(answer) as (url, seen):
        for path in ("/gzip", "/deflate"):
            got, expected = await via_get(http, url + path), await via_httpx(http, url + path)
            assert got.json() == expected.json() == {"status": "success", "data": {}}
        moved = await via_get(http, f"{url}/moved")
    assert (moved.status_code, moved.headers["Location"]) == (302, "/elsewhere")
    assert [path.partition("?")[0] for path, _ in seen] == ["/gzip"] * 2 + ["/deflate"] * 2 + [
        "/moved"
    ]


async def test_a_cookie_the_backend_sets_comes_back_as_with_httpx():
    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.json_response({"status": "success"})
        response.set_cookie("session", "abc")
        return response

    for send in (via_get, via_httpx):
        async with recording(answer) as (url, seen), outbound.client() as client:
            await send(client, f"{url}/api/v1/query")
            await send(client, f"{url}/api/v1/query")
        assert dict(seen[1][1]).get("Cookie") == "session=abc", send.__name__


async def no_answer(send: Callable[..., Awaitable[Any]], *args: Any, **options: Any) -> Any:
    with pytest.raises(outbound.NoAnswer) as caught:
        await send(*args, **options)
    failure = caught.value
    return failure.cause, failure.words, str(failure.__cause__)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        return int(held.getsockname()[1])


async def test_a_closed_port_and_a_silent_server_fail_by_the_same_causes(http, closed_port):
    address = f"http://127.0.0.1:{closed_port}/"
    refused = [await no_answer(send, http, address) for send in SENDS]
    assert refused[0] == refused[1]
    assert refused[0][:2] == (outbound.Cause.REFUSED, "connection refused")

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    address = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    async with server:
        silent = [await no_answer(send, http, address, timeout=0.2) for send in SENDS]
    assert silent[0] == silent[1]
    assert silent[0][:2] == (outbound.Cause.TIMEOUT, "no answer within 0.2s")


async def test_a_body_cut_short_or_not_gzip_fails_in_the_same_words(http):
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"status":')
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(cut, "127.0.0.1", 0)
    address = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    async with server:
        short = [await no_answer(send, http, address) for send in SENDS]
    assert short[0] == short[1]
    assert short[0][0] is outbound.Cause.OTHER

    async def garbled(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"not gzip at all", headers={"Content-Encoding": "gzip"})

    async with recording(garbled) as (url, _):
        words = [await no_answer(send, http, f"{url}/api/v1/query") for send in SENDS]
    assert words[0] == words[1]
    assert words[0][:2] == (
        outbound.Cause.OTHER,
        "Error -3 while decompressing data: incorrect header check",
    )


@pytest.fixture
def untrusted(tmp_path: Path) -> ssl.SSLContext:
    """A server context with a throwaway self-signed certificate for 127.0.0.1."""
    cert, key = certificates.self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_an_untrusted_certificate_is_the_same_cause(http, untrusted):
    async def answer(request: web.Request) -> web.Response:
        return web.Response(text="{}")

    async with serving(handling(answer), tls=untrusted) as url:
        failures = [await no_answer(send, http, f"{url}/api/v1/query") for send in SENDS]
    assert failures[0] == failures[1]
    assert failures[0][0] is outbound.Cause.CERTIFICATE
    assert failures[0][1].startswith("TLS certificate not trusted (")


@pytest.mark.parametrize("address", ["prometheus:9090/api/v1/query", "ftp://prometheus/q"])
async def test_an_address_httpx_cannot_send_to_is_the_users_error(http, address):
    for send in SENDS:
        with pytest.raises(InvalidCanaryError) as caught:
            await send(http, address)
        assert str(caught.value) == (
            f"spec.provider.address: expected an http:// or https:// address, found {address!r}"
        )


async def test_a_closed_client_is_refused_as_httpx_refuses_it():
    async with recording() as (url, seen):
        client = outbound.client()
        await via_get(client, f"{url}/api/v1/query")  # prepared while open
        await client.aclose()
        with pytest.raises(RuntimeError, match="client has been closed"):
            await via_get(client, f"{url}/api/v1/query")
    assert len(seen) == 1
