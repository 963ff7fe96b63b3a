"""Requests to addresses users wrote (:mod:`serinus.outbound`).

Covers:
- the words for a request without an answer: a refused connection (a real closed port), no
  answer within the timeout (a real server that never answers), a name that does not resolve
  (built from the resolver's own error, so the test needs no DNS), any other transport error
  keeping its own text;
- an address httpx cannot send to is the user's error, naming the field and showing the address
  as the caller allows (without a secret path);
- an answer of any status is returned, and a body in an error is cut to 256 characters and never
  empty.
"""

from __future__ import annotations

import asyncio
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
