"""A lean HTTP/1.1 keep-alive client for the operator's two hot exchanges, on asyncio Protocols.

Every progressing tick writes to the Kubernetes API (:mod:`serinus.kube.wire`) and queries
Prometheus (:func:`serinus.outbound.get`), one small request and one small answer each time, to
the same one or two origins. aiohttp's client spent more CPU on each of those than the bytes on
the wire: its per-request objects (request and response, timers, trace hooks, header multidicts,
auto headers, cookie jar, the body stream) cost ~175 µs a Kubernetes write and ~200 µs a
Prometheus query. Here a request is its bytes, built by the caller once per route and written in
one call; the answer is parsed by httptools (llhttp, C) straight into a :class:`Response` with the
whole body; nothing else is made per request (numbers: ``pyproject.toml``'s comment).

What it does: a pool of keep-alive connections per origin (scheme, host, port), at most ``limit``
in use at once (a request waits for one up to its pool timeout); TLS through the caller's context
(client certificates included); bodies by ``Content-Length``, chunked or until the close; connect,
pool and read timeouts (the read timeout bounds the silence before and between reads, as
aiohttp's ``sock_read``); an idle connection is dropped after :data:`KEEPALIVE` seconds unused
(less than servers keep theirs, so a request rarely races a server's idle close). A connection
found closed when a request is about to be written on it is replaced, once; a request that was
written is never sent again (a POST is not repeated). Answers are not redirected or decoded:
callers undo ``Content-Encoding`` themselves. No HEAD (its answer's length would be taken for a
body to wait for), no ``Expect: 100-continue``, no upgrades. Streams (watches) and everything
else stay on aiohttp.

Errors: :class:`ConnectError` (raised from the OSError, DNS or certificate error),
:class:`ConnectTimeout`, :class:`PoolTimeout`, :class:`ReadTimeout`, :class:`Disconnected` (the
connection closed before the answer's end, or the answer is not HTTP).
"""

from __future__ import annotations

import asyncio
import collections
import os
import select
import ssl
import typing
from typing import NamedTuple

import httptools
import multidict

KEEPALIVE = 15.0
"""Seconds an idle connection is kept for reuse (aiohttp's client default)."""

_NO_BODY = frozenset({204, 304})


class HTTPError(Exception):
    """No answer (the subclass says why)."""


class ConnectError(HTTPError):
    """The connection could not be made; raised from the error the socket or TLS gave."""


class ConnectTimeout(HTTPError):
    """The connection was not made in time."""


class PoolTimeout(HTTPError):
    """No connection was free in time."""


class ReadTimeout(HTTPError):
    """The server stayed silent past the read timeout."""


class Disconnected(HTTPError):
    """The connection closed before the answer's end (or the answer was not HTTP)."""


SERVER_DISCONNECTED = "server disconnected"
CUT_SHORT = "the connection closed before the end of the answer's body"


def connect_words(host: str, port: int | None, error: BaseException) -> str:
    """How a failed connect reads (the words :mod:`serinus.aiotransport` uses for aiohttp's):
    the system's words for an errno (asyncio and uvloop word a refused connect differently),
    else the error's own."""
    detail = str(error)
    if isinstance(error, OSError) and not isinstance(error, ssl.SSLError):
        if isinstance(error.errno, int) and error.errno > 0:
            detail = os.strerror(error.errno)
        elif error.strerror:
            detail = error.strerror
    return f"cannot connect to {host}:{port}: {detail}"


class Origin(NamedTuple):
    """Where connections go: ``tls`` for https."""

    tls: bool
    host: str
    port: int


class Response:
    """An answer, read whole."""

    __slots__ = ("_headers", "body", "keep_alive", "raw_headers", "reason", "status")

    def __init__(self, status: int, reason: str, raw: list[tuple[bytes, bytes]], body: bytes):
        self.status = status
        self.reason = reason
        self.raw_headers = raw
        self.body = body
        self.keep_alive = False
        self._headers: multidict.CIMultiDictProxy[str] | None = None

    @property
    def headers(self) -> multidict.CIMultiDictProxy[str]:
        """Case-insensitive, every value of a repeated header kept (made on first use)."""
        if self._headers is None:
            pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.raw_headers]
            self._headers = multidict.CIMultiDictProxy(multidict.CIMultiDict(pairs))
        return self._headers

    async def read(self) -> bytes:
        """The body (read already)."""
        return self.body

    def release(self) -> None:
        """Nothing to give back: the connection went back to its pool with the answer's end."""


class _Connection(asyncio.Protocol):
    """One connection: writes a request, parses its answer (httptools calls the ``on_*``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self._fd = -1
        self.idle_since = 0.0
        self._answer: asyncio.Future[Response] | None = None
        self._reason = b""
        self._raw: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._headed = False
        self._until_close = False
        self._last_read = 0.0
        self._read_timeout = 0.0
        self._timer: asyncio.TimerHandle | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)  # uvloop's is none by type
        self._fd = transport.get_extra_info("socket").fileno()

    def data_received(self, data: bytes) -> None:
        if self._answer is None or self._answer.done():  # bytes while idle: not reusable
            self.close()
            return
        self._last_read = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(Disconnected(f"the answer is not HTTP/1.1: {error}"))

    def eof_received(self) -> bool:
        return False  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._answer is None or self._answer.done():
            return
        if self._headed and self._until_close:  # a body that ends with the connection
            self.on_message_complete()
            return
        words = CUT_SHORT if self._headed else SERVER_DISCONNECTED
        error = Disconnected(words)
        error.__cause__ = exc
        self._fail(error)

    # httptools
    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw.append((name, value))

    def on_headers_complete(self) -> None:
        self._headed = True
        status = self._parser.get_status_code()
        if status in _NO_BODY or status < 200:
            return
        names = {name.lower() for name, _ in self._raw}
        self._until_close = b"content-length" not in names and b"transfer-encoding" not in names

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        answer = self._answer
        if answer is None or answer.done():
            return
        status = self._parser.get_status_code()
        if status < 200:  # an interim answer (100 Continue): the real one follows
            self._reason, self._raw, self._body, self._headed = b"", [], [], False
            return
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        response = Response(status, self._reason.decode("latin-1"), self._raw, body)
        response.keep_alive = not self._until_close and self._parser.should_keep_alive()
        self._stop_timer()
        answer.set_result(response)

    # the exchange
    async def exchange(self, message: bytes, read_timeout: float | None) -> Response:
        """The answer to ``message`` (one whole request)."""
        assert self.transport is not None
        self._reason, self._raw, self._body = b"", [], []
        self._headed = self._until_close = False
        answer: asyncio.Future[Response] = self._loop.create_future()
        self._answer = answer
        self.transport.write(message)
        if read_timeout is not None:
            self._last_read = self._loop.time()
            self._read_timeout = read_timeout
            self._timer = self._loop.call_at(self._last_read + read_timeout, self._check)
        try:
            return await answer
        finally:
            self._answer = None
            self._stop_timer()

    def readable(self) -> bool:
        """Whether the idle connection has something to read: the server's close (or bytes it
        should not have sent) that the loop has not seen yet. One ``poll``, under a µs."""
        if self._fd < 0:
            return False
        watch = select.poll()
        watch.register(self._fd, select.POLLIN)
        return bool(watch.poll(0))

    def _check(self) -> None:
        """The read timer: fail when silent past the timeout, else look again when it could be."""
        due = self._last_read + self._read_timeout
        if self._loop.time() >= due:
            self._timer = None
            self._fail(ReadTimeout("timed out reading"))
        else:
            self._timer = self._loop.call_at(due, self._check)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fail(self, error: BaseException) -> None:
        self.close()
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()


class Pool:
    """Keep-alive connections per origin, ``limit`` in use at once (module docstring)."""

    def __init__(self, *, tls: ssl.SSLContext, limit: int) -> None:
        self._tls = tls
        self._limit = limit
        self._busy = 0
        self._idle: dict[Origin, list[_Connection]] = {}
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

    def _reused(self, origin: Origin) -> _Connection | None:
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
    def _drop_stale(idle: list[_Connection], stale: float) -> None:
        while idle and idle[0].idle_since <= stale:
            idle.pop(0).close()

    async def _connect(self, origin: Origin, seconds: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = self._tls if origin.tls else None
        try:
            async with asyncio.timeout(seconds):
                transport, connection = await loop.create_connection(
                    lambda: _Connection(loop),
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


def content_encoding(response: Response) -> str | None:
    """The answer's ``Content-Encoding``, lowercased; None when it has none."""
    for name, value in response.raw_headers:
        if len(name) == 16 and name.lower() == b"content-encoding":
            return value.decode("latin-1").strip().lower()
    return None
