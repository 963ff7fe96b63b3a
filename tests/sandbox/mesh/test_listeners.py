"""The proxy's listening sockets.

Covers: sync opens and closes sockets to match the wanted addresses; an address that cannot be
bound is logged once, reported in ``failed``, and bound at a later sync once it is free; closing a
socket lets a request already in progress finish while new connections are refused.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import pytest
from aiohttp import web

from serinus.sandbox.mesh.listeners import Listeners
from tests.sandbox.mesh.support import service_ip


async def hello(request: web.BaseRequest) -> web.Response:
    return web.Response(text="hello")


async def test_an_address_in_use_is_reported_once_and_bound_when_free(
    caplog: pytest.LogCaptureFixture,
) -> None:
    address = (service_ip(), 9898)
    squatter = socket.socket()
    squatter.bind(address)
    squatter.listen()
    listeners = Listeners(hello)
    await listeners.start()
    try:
        with caplog.at_level(logging.WARNING, logger="serinus.sandbox.mesh.listeners"):
            await listeners.sync([address])
            await listeners.sync([address])
        assert listeners.addresses == frozenset()
        assert "in use" in listeners.failed[address]
        assert len(caplog.records) == 1

        squatter.close()
        await listeners.sync([address])

        assert listeners.addresses == {address}
        assert listeners.failed == {}
        async with httpx.AsyncClient(trust_env=False) as client:
            assert (await client.get(f"http://{address[0]}:{address[1]}/")).text == "hello"
    finally:
        squatter.close()
        await listeners.stop()


async def test_closing_a_socket_lets_the_request_in_progress_finish() -> None:
    address = (service_ip(), 9898)
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(request: web.BaseRequest) -> web.Response:
        entered.set()
        await release.wait()
        return web.Response(text="finished")

    listeners = Listeners(slow)
    await listeners.start()
    await listeners.sync([address])
    url = f"http://{address[0]}:{address[1]}/"
    try:
        async with httpx.AsyncClient(trust_env=False) as client:
            pending = asyncio.create_task(client.get(url))
            await entered.wait()
            await listeners.sync([])
            release.set()
            response = await pending
        async with httpx.AsyncClient(trust_env=False) as fresh:
            with pytest.raises(httpx.ConnectError):
                await fresh.get(url)
    finally:
        await listeners.stop()

    assert response.text == "finished"
