"""One connection of the lean client (:mod:`serinus.http1.connection`) against real loopback
servers.

Covers: a body by Content-Length, chunked, none for 204 and after a 100 Continue arrives whole
and the connection is kept, one until the close is read to the end and not kept; an answer cut
mid-body (by length and chunked) is Disconnected; an answer that is not HTTP is Disconnected; a
silent server is a ReadTimeout and leaves nothing behind, a cancelled request closes its
connection, and the read timeout counts silence, not the whole answer.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from serinus import http1
from tests.http1.support import origin_of, raw_server, send


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


async def test_a_body_until_the_close_ends_with_the_connection(pool: http1.Pool) -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
        await writer.drain()
        writer.close()

    async with raw_server(until_close) as url:
        got = await send(pool, url)
        assert (got.body, got.keep_alive, pool.idle(origin_of(url))) == (b"all of it", False, 0)


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
