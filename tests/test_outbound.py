"""Requests to addresses users wrote (:mod:`serinus.outbound`).

Covers:
- the words for a request without an answer: a refused connection (a real closed port), no
  answer within the timeout (a real server that never answers), a name that does not resolve
  (built from the resolver's own error, so the test needs no DNS), any other transport error
  keeping its own text;
- an address httpx cannot send to is the user's error, naming the field and showing the address
  as the caller allows (without a secret path);
- an answer of any status is returned, and a body in an error is cut to 256 characters and never
  empty;
- the operator's client keeps every connection it opened for reuse (sixty concurrent queries, twice,
  over sixty connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import httpx
import pytest

from serinus import outbound
from serinus.errors import BODY_LIMIT, InvalidCanaryError


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        return int(held.getsockname()[1])


async def test_a_closed_port_is_a_refused_connection(http, closed_port):
    with pytest.raises(outbound.NoAnswer) as caught:
        await outbound.send(
            http,
            "POST",
            f"http://127.0.0.1:{closed_port}/",
            timeout_seconds=5,
            field="url",
            json={},
        )
    assert caught.value.cause is outbound.Cause.REFUSED
    assert caught.value.words == "connection refused"


async def test_a_server_that_never_answers_is_a_timeout(http):
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(outbound.NoAnswer) as caught:
            await outbound.send(
                http, "GET", f"http://127.0.0.1:{port}/", timeout_seconds=0.2, field="url"
            )
    finally:
        server.close()
    assert caught.value.cause is outbound.Cause.TIMEOUT
    assert caught.value.words == "no answer within 0.2s"


def test_an_unresolved_name_is_described():
    try:
        try:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        except socket.gaierror as resolver_error:
            raise httpx.ConnectError(str(resolver_error)) from resolver_error
    except httpx.ConnectError as error:
        described = outbound.describe(error, 10)
    assert described == (
        outbound.Cause.UNRESOLVED,
        "host name did not resolve (Name or service not known)",
    )


def test_other_transport_errors_keep_their_text():
    described = outbound.describe(httpx.ReadError("connection reset"), 10)
    assert described == (outbound.Cause.OTHER, "connection reset")


async def test_an_address_without_a_scheme_names_the_field_and_hides_the_path(http):
    with pytest.raises(InvalidCanaryError) as caught:
        await outbound.send(
            http,
            "POST",
            "hooks.example.com/T000/B000/secret",
            timeout_seconds=5,
            field="AlertProvider prod/slack: address",
            shown="hooks.example.com",
        )
    assert str(caught.value) == (
        "AlertProvider prod/slack: address: expected an http:// or https:// address, "
        "found 'hooks.example.com'"
    )


async def test_an_error_status_is_an_answer(http):
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="  down for maintenance " + "x" * 1000)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        response = await outbound.send(
            client, "GET", "http://backend/", timeout_seconds=5, field="url"
        )
    assert response.status_code == 503
    cut = outbound.excerpt(response.text)
    assert cut.startswith("down for maintenance x")
    assert len(cut) == BODY_LIMIT
    assert outbound.excerpt("  \n") == "(empty body)"


async def test_the_operators_client_keeps_its_connections_under_concurrency():
    """Sixty queries at once, twice: the second wave reuses the first one's sixty connections
    (httpx's default pool kept 20 and opened 40 new ones for every wave)."""
    opened = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal opened
        opened += 1
        while await reader.readuntil(b"\r\n\r\n"):
            await asyncio.sleep(0.05)  # answered slowly enough for the queries to overlap
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()

    handlers: set[asyncio.Task] = set()

    async def quietly(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await serve(reader, writer)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    server = await asyncio.start_server(quietly, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        async with outbound.client() as client:
            for _ in range(2):
                answers = await asyncio.gather(
                    *(client.get(f"http://127.0.0.1:{port}/api/v1/query") for _ in range(60))
                )
                assert {a.status_code for a in answers} == {200}
        # the client closed its connections: every handler ends (nothing left for the GC)
        await asyncio.wait_for(asyncio.gather(*handlers), 10)
    assert opened == 60
