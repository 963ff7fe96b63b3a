"""The lean client's pool (:mod:`serinus.http1.pool`) against real loopback servers.

Covers: requests one after another share one kept-alive connection, and concurrent ones open
more, never beyond the limit (a request past it waits for a slot, then gets PoolTimeout); a
server that closes an idle connection costs the next request nothing (a new connection), even
when the loop has not seen the close yet; a written request is never sent twice; TLS with a
client certificate (the server sees it), an untrusted server certificate and a refused port are
ConnectErrors raised from the socket's or TLS's error; a closed pool refuses. The Kubernetes and
Prometheus paths over it: ``tests/kube/test_wire.py``, ``tests/kube/test_credentials.py``,
``tests/test_outbound_get.py``.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from pathlib import Path

import pytest
from aiohttp import web

from serinus import http1
from tests.http1.support import get, origin_of, raw_server, send
from tests.support import certificates
from tests.support.loopback import handling, serving


async def test_requests_in_turn_share_one_connection_and_at_once_stay_within_the_limit() -> None:
    peers: list[object] = []
    busy, most = 0, 0
    release, full = asyncio.Event(), asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        nonlocal busy, most
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername"))
        if request.path == "/hold":
            busy += 1
            most = max(most, busy)
            if busy == 3:
                full.set()
            await release.wait()
            busy -= 1
        return web.Response(text="ok")

    lean = http1.Pool(tls=ssl.create_default_context(), limit=3)
    async with serving(handling(handler)) as url:
        for _ in range(20):
            answer = await send(lean, url)
            assert (answer.status, answer.body, answer.reason) == (200, b"ok", "OK")
        assert len(set(peers)) == 1
        held = [asyncio.create_task(send(lean, url, get("/hold"))) for _ in range(5)]
        await asyncio.wait_for(full.wait(), 5)  # three in the server, two waiting for a slot
        with pytest.raises(http1.PoolTimeout, match="timed out waiting for a connection"):
            await lean.request(origin_of(url), get(), connect=5, pool=0.1, read=5)
        release.set()
        assert [answer.status for answer in await asyncio.gather(*held)] == [200] * 5
    await lean.close()
    assert most == 3
    assert len(set(peers)) == 3  # the first connection among them, kept for reuse


async def test_a_server_closing_an_idle_connection_costs_the_next_request_nothing(
    pool: http1.Pool,
) -> None:
    connections = 0
    closed = asyncio.Event()

    async def one_answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # kept alive by the answer's words, closed by the server while idle
        await writer.wait_closed()
        closed.set()

    async with raw_server(one_answer_each) as url:
        for _ in range(3):
            assert (await send(pool, url)).body == b"ok"
            await asyncio.wait_for(closed.wait(), 5)  # the next request at once, on a new one
            closed.clear()
    assert connections == 3


async def test_a_close_the_loop_has_not_seen_yet_is_found_before_writing(
    pool: http1.Pool,
) -> None:
    """The server (a thread) closes the idle connection while the loop is blocked, so the
    client's protocol has not been told: the next request must still not be written on it (it
    would be lost, as a written request is not sent again)."""
    listener = socket.create_server(("127.0.0.1", 0))
    close, closed = threading.Event(), threading.Event()
    requests: list[bytes] = []

    def serve() -> None:
        for _ in range(2):
            peer, _ = listener.accept()
            with peer:
                requests.append(peer.recv(65536))
                peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                close.wait(5)
            closed.set()

    server = threading.Thread(target=serve)
    server.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        assert (await send(pool, url)).body == b"ok"
        close.set()
        assert closed.wait(5)  # blocks the loop: the close is in the socket, not yet seen
        assert (await send(pool, url)).body == b"ok"
    finally:
        close.set()
        server.join(5)
        listener.close()
    assert len(requests) == 2


async def test_a_written_request_is_never_sent_twice(pool: http1.Pool) -> None:
    seen: list[bytes] = []

    async def answer_then_hang_up(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.close()  # the second request read, never answered

    put = b"PUT /status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
    async with raw_server(answer_then_hang_up) as url:
        assert (await send(pool, url)).status == 200
        with pytest.raises(http1.Disconnected, match=http1.SERVER_DISCONNECTED):
            await send(pool, url, put)  # on the kept connection
    assert seen == [get(), put]  # not repeated on a new connection


async def test_tls_with_a_client_certificate(pool: http1.Pool, tmp_path: Path) -> None:
    server_cert, server_key = certificates.self_signed(tmp_path)
    (tmp_path / "client").mkdir()
    client_cert, client_key = certificates.self_signed(tmp_path / "client")
    peers: list[object] = []

    async def handler(request: web.Request) -> web.Response:
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peercert"))
        return web.Response(text="ok")

    serving_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    serving_tls.load_cert_chain(server_cert, server_key)
    serving_tls.load_verify_locations(client_cert)
    serving_tls.verify_mode = ssl.CERT_REQUIRED
    trusted = ssl.create_default_context(cafile=str(server_cert))
    trusted.load_cert_chain(client_cert, client_key)
    lean = http1.Pool(tls=trusted, limit=2)
    async with serving(handling(handler), tls=serving_tls) as url:
        for _ in range(3):
            assert (await send(lean, url)).body == b"ok"
        await lean.close()
        with pytest.raises(http1.ConnectError) as untrusted:  # the default CAs: not this one
            await send(pool, url)
    assert len(peers) == 3
    assert peers[0] is not None
    assert isinstance(untrusted.value.__cause__, ssl.SSLCertVerificationError)


async def test_a_refused_port_and_a_closed_pool(pool: http1.Pool) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        closed = held.getsockname()[1]
    with pytest.raises(
        http1.ConnectError, match=f"cannot connect to 127.0.0.1:{closed}: Connection refused"
    ) as no:
        await send(pool, f"http://127.0.0.1:{closed}")
    assert isinstance(no.value.__cause__, ConnectionRefusedError)
    await pool.close()
    with pytest.raises(http1.Disconnected, match="the client is closed"):
        await send(pool, f"http://127.0.0.1:{closed}")
