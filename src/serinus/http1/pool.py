"""The lean client's pool (:mod:`serinus.http1`): keep-alive connections per origin, and a
request's way through them.

At most ``limit`` requests are in flight at once over all origins; a request past it waits its
turn (first come, first served) up to its pool timeout. An idle connection is reused, the most
recently used first, if it is open, fresh (used within :data:`KEEPALIVE` seconds) and has nothing
to read (a server's close the loop has not seen yet); otherwise a new one is made, with the
caller's TLS context for https. A connection found closed before a request is written on it is
replaced once; a written request is never sent again. The connection itself (writing, parsing,
the read timeout) is :mod:`serinus.http1.connection`.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from typing import NamedTuple

from serinus.http1.connection import Connection
from serinus.http1.errors import (
    SERVER_DISCONNECTED,
    ConnectError,
    ConnectTimeout,
    Disconnected,
    PoolTimeout,
    connect_words,
)
from serinus.http1.response import Response

KEEPALIVE = 15.0
"""Seconds an idle connection is kept for reuse (aiohttp's client default)."""


class Origin(NamedTuple):
    """Where connections go: ``tls`` for https."""

    tls: bool
    host: str
    port: int


class Pool:
    """Keep-alive connections per origin, ``limit`` in use at once (module docstring)."""

    def __init__(self, *, tls: ssl.SSLContext, limit: int) -> None:
        self._tls = tls
        self._limit = limit
        self._busy = 0
        self._idle: dict[Origin, list[Connection]] = {}
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self.closed = False

    async def request(
        self,
        origin: Origin,
        message: bytes,
        *,
        connect: float | None,
        pool: float | None,
        read: float | None,
    ) -> Response:
        """Send ``message`` (request line, headers and body, as bytes) to ``origin``."""
        if self.closed:
            raise Disconnected("the client is closed")
        if self._busy < self._limit and not self._waiters:
            self._busy += 1
        else:  # in turn: the first to wait is handed the first slot given back
            await self._wait(pool)
        try:
            for attempt in (1, 2):
                connection = self._reused(origin) or await self._connect(origin, connect)
                if connection.lost:  # closed on the way here; nothing was written: once more
                    if attempt == 1:
                        continue
                    raise Disconnected(SERVER_DISCONNECTED)
                try:
                    answer = await connection.exchange(message, read)
                except BaseException:
                    connection.close()  # its state is unknown (a timeout, a cancel, a cut)
                    raise
                if answer.keep_alive and not connection.lost and not self.closed:
                    connection.idle_since = asyncio.get_running_loop().time()
                    self._idle.setdefault(origin, []).append(connection)
                else:
                    connection.close()
                return answer
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            self._give_back()

    async def _wait(self, seconds: float | None) -> None:
        """Until a slot is handed over (:meth:`_give_back`); :class:`PoolTimeout` after
        ``seconds``."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(seconds):
                await waiter
        except BaseException as error:
            if waiter.done() and not waiter.cancelled():  # handed a slot too late: pass it on
                self._give_back()
            waiter.cancel()
            if isinstance(error, TimeoutError):
                raise PoolTimeout("timed out waiting for a connection") from error
            raise

    def _give_back(self) -> None:
        """A slot is free: to the first request waiting, else to the pool."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._busy -= 1

    def _reused(self, origin: Origin) -> Connection | None:
        """The most recently used idle connection to ``origin`` that is still open and fresh."""
        idle = self._idle.get(origin)
        if not idle:
            return None
        stale = asyncio.get_running_loop().time() - KEEPALIVE
        while idle:
            connection = idle.pop()
            if not connection.lost and connection.idle_since > stale and not connection.readable():
                if idle and idle[0].idle_since <= stale:  # the oldest are dropped as they age
                    self._drop_stale(idle, stale)
                return connection
            connection.close()
        return None

    @staticmethod
    def _drop_stale(idle: list[Connection], stale: float) -> None:
        while idle and idle[0].idle_since <= stale:
            idle.pop(0).close()

    async def _connect(self, origin: Origin, seconds: float | None) -> Connection:
        loop = asyncio.get_running_loop()
        tls = self._tls if origin.tls else None
        try:
            async with asyncio.timeout(seconds):
                transport, connection = await loop.create_connection(
                    lambda: Connection(loop),
                    origin.host,
                    origin.port,
                    ssl=tls,
                    server_hostname=origin.host if tls is not None else None,
                )
        except TimeoutError as error:
            raise ConnectTimeout("timed out connecting") from error
        except OSError as error:  # refused, unresolved (gaierror), TLS (SSLError)
            raise ConnectError(connect_words(origin.host, origin.port, error)) from error
        if connection.transport is None:  # uvloop may call connection_made only later
            connection.connection_made(transport)
        return connection

    def idle(self, origin: Origin) -> int:
        """Connections to ``origin`` kept for reuse and not known to be closed."""
        return sum(not connection.lost for connection in self._idle.get(origin, ()))

    async def close(self) -> None:
        """Close every idle connection; those in use close when their answer ends."""
        self.closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
