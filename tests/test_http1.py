"""The lean HTTP/1.1 client (:mod:`serinus.http1`) against real loopback servers.

Covers: requests one after another share one kept-alive connection, and concurrent ones open
more, never beyond the limit (a request past it waits for a slot, then gets PoolTimeout); a
server that closes an idle connection costs the next request nothing (a new connection); a body
by Content-Length, chunked, until the close, none for 204, and a gzip body handed over as sent;
an answer cut mid-body (by length and chunked) and a connection closed before any answer are
Disconnected, and a written request is never sent twice; a silent server is a ReadTimeout and
leaves nothing behind, a cancelled request closes its connection; TLS with a client certificate
(the server sees it), an untrusted server certificate and a refused port are ConnectErrors raised
from the socket's or TLS's error; a closed pool refuses. The Kubernetes and Prometheus paths over
it: ``tests/kube/test_wire.py``, ``tests/kube/test_credentials.py``, ``tests/test_outbound_get.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from serinus import http1
from tests.support import certificates
from tests.support.loopback import handling, serving

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


@pytest.fixture
async def pool() -> AsyncIterator[http1.Pool]:
    lean = http1.Pool(tls=ssl.create_default_context(), limit=10)
    yield lean
    await lean.close()


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


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"hello"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nhel\r\n1\r\nl\r\n1\r\no\r\n0\r\n\r\n",
            b"hello",
        ),
        (b"HTTP/1.1 204 No Content\r\n\r\n", b""),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", b"ok"),
    ],
    ids=["length", "chunked", "no-content", "continue"],
)
async def test_a_body_arrives_whole_however_it_is_framed_and_the_connection_is_kept(
    pool: http1.Pool, answer: bytes, body: bytes
) -> None:
    connections = 0

    async def framed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        with contextlib.suppress(asyncio.IncompleteReadError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                for start in range(0, len(answer), 4):  # in small pieces
                    writer.write(answer[start : start + 4])
                    await writer.drain()
        writer.close()

    async with raw_server(framed) as url:
        for _ in range(3):
            got = await send(pool, url)
            assert got.body == body
            assert got.status in (200, 204)
    assert connections == 1


async def test_a_body_until_the_close_and_a_gzip_body_as_sent(pool: http1.Pool) -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
        await writer.drain()
        writer.close()

    async with raw_server(until_close) as url:
        got = await send(pool, url)
        assert (got.body, got.keep_alive, pool.idle(origin_of(url))) == (b"all of it", False, 0)

    zipped = gzip.compress(b'{"status":"success"}')

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=zipped, headers={"Content-Encoding": "gzip", "X-A": "1, 2"})

    async with serving(handling(handler)) as url:
        got = await send(pool, url)
    assert got.body == zipped
    assert http1.content_encoding(got) == "gzip"
    assert got.headers["x-a"] == "1, 2"


@pytest.mark.parametrize(
    "answer",
    [
        b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"status":',
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    ],
    ids=["length", "chunked"],
)
async def test_an_answer_cut_mid_body_is_disconnected(pool: http1.Pool, answer: bytes) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    async with raw_server(cut) as url:
        with pytest.raises(http1.Disconnected, match=http1.CUT_SHORT):
            await send(pool, url)
        assert pool.idle(origin_of(url)) == 0


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


async def test_a_garbled_answer_is_disconnected(pool: http1.Pool) -> None:
    async def garbled(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()
        await reader.read()
        writer.close()

    async with raw_server(garbled) as url:
        with pytest.raises(http1.Disconnected, match="not HTTP"):
            await send(pool, url)


async def test_a_silent_server_is_a_read_timeout_and_a_cancel_closes_the_connection(
    pool: http1.Pool,
) -> None:
    asked, ended = asyncio.Event(), asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        asked.set()
        await reader.read()  # until the client gives up and closes
        writer.close()
        ended.set()

    async with raw_server(silent) as url:
        with pytest.raises(http1.ReadTimeout, match="timed out reading"):
            await send(pool, url, read=0.2)
        await asyncio.wait_for(ended.wait(), 5)  # its socket closed
        asked.clear()
        ended.clear()
        waiting = asyncio.create_task(send(pool, url))
        await asyncio.wait_for(asked.wait(), 5)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.wait_for(ended.wait(), 5)
        assert pool.idle(origin_of(url)) == 0


async def test_a_read_timeout_counts_silence_not_the_whole_answer(pool: http1.Pool) -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n")
        for byte in b"steady":  # 0.6 s in all, never 0.3 s silent
            await writer.drain()
            await asyncio.sleep(0.1)
            writer.write(bytes([byte]))
        await writer.drain()
        writer.close()

    async with raw_server(slow) as url:
        assert (await send(pool, url, read=0.3)).body == b"steady"


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
