"""Requests to the Kubernetes API: URL, JSON body and credentials in, status and JSON out.

Every call of :class:`serinus.kube.client.Kube` is one :meth:`Wire.request`, sent by the lean
HTTP/1.1 client (:mod:`serinus.http1`: the request's bytes built here, written in one call, the
answer parsed in C; connections kept for reuse), and every watch stream one :meth:`Wire.stream`
over an ``aiohttp.ClientSession`` (opened by the first watch). aiohttp's per-request objects cost
more than the exchange: a status PUT took about twice the client CPU through it
(``benchmarks/kube_request.py`` measures both). lightkube still loads the configuration
(:mod:`serinus.kube.config`), the TLS context with the CA and client certificate, and the
credentials (:mod:`serinus.kube.credentials`); it no longer builds or sends the requests. Its
request path (lightkube's request building and response decoding, then httpx2's client: request,
URL and response objects, auth and redirect handling, then an httpx2 transport onto aiohttp) cost
about three times the exchange itself: a status PUT took 480 µs of client CPU that way and takes
130 µs here (``benchmarks/kube_request.py``). Without lightkube's path, at 1,000 progressing
Canaries the Kubernetes requests went from 27.7 % to ~10 % of the operator's CPU
(``benchmarks/operator_scale.py``); with :mod:`serinus.http1`, the operator's CPU per
progressing tick went from 5.0 to 4.0 ms.

What stays as it was: JSON is encoded and decoded with msgspec, as lightkube does (exact for
integers beyond 64 bits, which orjson is not); every request names the settings' user agent (the
API server records it as the field manager of writes that name none); each request times out
after the settings' timeout (connect, wait for a connection, each read); answers are not
redirected; gzip (and deflate) answers are decoded; the bytes on the wire are the ones aiohttp
sent (its header order and spelling, ``Host`` without a default port, ``Content-Length: 0`` on a
DELETE without a body). An HTTP error answer is raised as
:class:`~serinus.kube.errors.Answered` (read whole, so :func:`serinus.kube.errors.translate` finds
the Status' message), no answer at all as :class:`~serinus.kube.errors.Unanswered`.
"""

from __future__ import annotations

import contextlib
import ssl
import urllib.parse
import zlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import httpx2
import msgspec
import yarl

from serinus import http1
from serinus.kube import credentials
from serinus.kube.errors import Answered, Unanswered

JSON = "application/json"

_NO_LENGTH = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""Methods sent without ``Content-Length`` when they have no body (the others say 0, as aiohttp
did)."""

_encode = msgspec.json.encode
_decode = msgspec.json.decode


def encode(document: Any) -> bytes:
    """A request body."""
    return _encode(document)


def decode(body: bytes) -> Any:
    """An answer's JSON; ValueError when it is none."""
    return _decode(body)


def quote(segment: str) -> str:
    """One path segment (a name), percent-encoded: a ``/`` or ``?`` in it stays in it."""
    return urllib.parse.quote(segment, safe="")


class Wire:
    """One API server's HTTP: a pool, a session, credentials, timeouts (module docstring)."""

    def __init__(
        self,
        server: str,
        *,
        tls: ssl.SSLContext,
        auth: httpx2.Auth | None,
        user_agent: str,
        timeout: float,
        limit: int,
    ) -> None:
        base = yarl.URL(server)
        if auth is None and (base.user or base.password):  # as httpx: user info is basic auth
            auth = httpx2.BasicAuth(base.user or "", base.password or "")
        self._base = str(base.with_user(None)).rstrip("/")
        self._credentials = credentials.Credentials(auth, self._base)
        self._headers = {"User-Agent": user_agent, "Accept": JSON, "Accept-Encoding": "gzip"}
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=2 * timeout, sock_connect=timeout, sock_read=timeout
        )
        self._connect = timeout
        self._tls, self._limit = tls, limit
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        # Requests: the lean client, their fixed header lines (aiohttp's order and spelling).
        self._origin: http1.Origin | None = None
        if base.scheme in ("http", "https") and base.host:
            self._origin = http1.Origin(base.scheme == "https", base.host, base.port or 0)
        self._prefix = base.raw_path.rstrip("/")
        self._head = _lines_of({"Host": base.host_port_subcomponent or "", **self._headers})
        self._pool = http1.Pool(tls=tls, limit=limit)

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise Unanswered("the client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit, limit_per_host=0, ssl=self._tls),
                trust_env=False,  # proxies and CA bundles come from the settings, not the env
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("Content-Type",),
            )
        return self._session

    async def close(self) -> None:
        self._closed = True
        await self._pool.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """``path`` (already quoted) under the server's URL, with ``params`` as its query."""
        if params:
            return f"{self._base}{path}?{urllib.parse.urlencode(params)}"
        return f"{self._base}{path}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = JSON,
    ) -> bytes:
        """The body of a successful answer; :class:`Answered` for an error status."""
        if self._closed or self._origin is None:
            raise Unanswered(
                "the client is closed" if self._closed else f"not http(s): {self._base}"
            )
        target = (
            f"{self._prefix}{path}?{urllib.parse.urlencode(params)}"
            if params
            else self._prefix + path
        )
        head = f"{method} {target} HTTP/1.1\r\n{self._head}"
        if body is not None:
            head = f"{head}Content-Type: {content_type}\r\n"
        size = len(body) if body is not None else 0 if method not in _NO_LENGTH else None
        origin, timeout = self._origin, self._connect

        async def exchange(authorization: str | None) -> http1.Response:
            text = (
                head if authorization is None else f"{head}{_line('Authorization', authorization)}"
            )
            if size is not None:
                text = f"{text}Content-Length: {size}\r\n"
            message = f"{text}\r\n".encode()
            if body:
                message += body
            return await self._pool.request(
                origin, message, connect=timeout, pool=timeout, read=timeout
            )

        try:
            answer = await self._credentials.send(method, self._base + target, exchange)
        except (http1.HTTPError, OSError) as error:
            raise _unanswered(error) from error
        data = _decoded(answer)
        if answer.status >= 400:
            raise Answered(answer.status, answer.reason, answer.headers, data)
        return data

    @contextlib.asynccontextmanager
    async def stream(
        self, path: str, params: Mapping[str, str], *, read_timeout: float
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """A streamed answer's lines (a watch), as they arrive; :class:`Answered` for an error
        status, :class:`Unanswered` when the connection drops or stays silent past
        ``read_timeout``."""
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=2 * self._connect,
            sock_connect=self._connect,
            sock_read=read_timeout,
        )
        answer = await self._send("GET", self.url(path, params), self._headers, None, timeout)
        try:
            if answer.status >= 400:
                try:
                    data = await answer.read()
                except (aiohttp.ClientError, OSError, TimeoutError) as error:
                    raise _unanswered(error) from error
                raise Answered(answer.status, answer.reason or "", answer.headers, data)
            yield _lines(answer)
        finally:
            answer.release()

    async def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        limits: aiohttp.ClientTimeout,
    ) -> aiohttp.ClientResponse:
        session = self._open()
        target = yarl.URL(url, encoded=True)

        async def exchange(authorization: str | None) -> aiohttp.ClientResponse:
            sent = headers if authorization is None else {**headers, "Authorization": authorization}
            return await session.request(
                method,
                target,
                headers=sent,
                data=body,
                allow_redirects=False,
                timeout=limits,
            )

        try:
            return await self._credentials.send(method, url, exchange)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise _unanswered(error) from error


async def _lines(answer: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The non-blank lines of a body, however its chunks cut them (a line may be megabytes)."""
    pending: list[bytes] = []
    try:
        async for chunk in answer.content.iter_any():
            if b"\n" not in chunk:
                pending.append(chunk)
                continue
            if pending:
                pending.append(chunk)
                chunk, pending = b"".join(pending), []
            *lines, rest = chunk.split(b"\n")
            if rest:
                pending.append(rest)
            for line in lines:
                if line.strip():
                    yield line
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        raise _unanswered(error) from error
    rest = b"".join(pending)
    if rest.strip():
        yield rest


def _line(name: str, value: str) -> str:
    """One header line; a value that would end the line early is refused, as aiohttp did."""
    if "\n" in value or "\r" in value:
        raise Unanswered(f"the {name} header has a line break in it")
    return f"{name}: {value}\r\n"


def _lines_of(headers: Mapping[str, str]) -> str:
    return "".join(_line(name, value) for name, value in headers.items())


def _decoded(answer: http1.Response) -> bytes:
    """The body with a gzip or deflate ``Content-Encoding`` undone (aiohttp's auto-decompress);
    a body that is not what it says is :class:`Unanswered`."""
    body = answer.body
    encoding = http1.content_encoding(answer)
    if encoding is None or not body:
        return body
    wbits = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16}.get(encoding)
    if wbits is None and encoding == "deflate":
        wbits = zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS  # zlib or raw
    if wbits is None:
        return body
    try:
        decoder = zlib.decompressobj(wbits)
        return decoder.decompress(body) + decoder.flush()
    except zlib.error as error:
        raise Unanswered(f"the answer's {encoding} body does not decode: {error}") from error


def _unanswered(error: BaseException) -> Unanswered:
    """The lean client's, aiohttp's (or asyncio's) error as :class:`Unanswered`, in words a log
    line can use."""
    if isinstance(error, aiohttp.ConnectionTimeoutError | http1.ConnectTimeout):
        detail = "timed out connecting"
    elif isinstance(error, aiohttp.SocketTimeoutError | http1.ReadTimeout):
        detail = "timed out reading"
    elif isinstance(error, TimeoutError | http1.PoolTimeout):
        detail = "timed out waiting for a connection"
    else:
        detail = str(error) or type(error).__name__
    return Unanswered(detail)
