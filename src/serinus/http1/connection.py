"""One connection of the lean client (:mod:`serinus.http1`): an asyncio Protocol that writes a
request and parses its answer with httptools (llhttp, C).

httptools calls the ``on_*`` methods as bytes arrive; they gather the answer's parts and, at its
end, resolve the :meth:`Connection.exchange` waiting for it with a :class:`Response` holding the
whole body. A body is framed by ``Content-Length``, chunked, or ends with the connection; an
interim answer (``100 Continue``) is skipped. The read timeout is one timer per request, moved
on as bytes arrive, so it bounds silence, not the whole answer. What a connection cannot tell
(whether to keep it, when it went stale) the pool (:mod:`serinus.http1.pool`) decides.
"""

from __future__ import annotations

import asyncio
import select
import typing

import httptools

from serinus.http1.errors import CUT_SHORT, SERVER_DISCONNECTED, Disconnected, ReadTimeout
from serinus.http1.response import Response

_NO_BODY = frozenset({204, 304})


class Connection(asyncio.Protocol):
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
