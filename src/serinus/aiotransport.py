"""An httpx transport over aiohttp: the operator's outbound requests at a third of the CPU.

The metric providers, webhooks and notifiers share an httpx client, but httpx's own transport
(httpcore, h11, anyio) parses HTTP in Python: at 1,000 progressing Canaries it was about a third
of the operator's CPU (benchmarks/operator_scale.py, py-spy). aiohttp, already the framework of
every server serinus runs, parses HTTP in C. :class:`OutboundTransport` keeps httpx's client,
requests, responses, auth, timeouts and errors, and hands only the exchange itself to one
``aiohttp.ClientSession``; the metric queries' GETs, prepared once (:func:`prepare`), skip both
httpx and aiohttp and go through the lean client (:meth:`OutboundTransport.fetch`,
:mod:`serinus.http1`), with the same bytes on the wire and the same errors in the same words.
(The Kubernetes API client does without httpx altogether: :mod:`serinus.kube.wire`.) The
exchange and its errors are written for either httpx family (``httpx`` or lightkube's ``httpx2``:
the same names), so ``benchmarks/kube_request.py`` can measure the former Kubernetes request path
on them.

What httpx promises, kept: httpx decodes ``Content-Encoding`` itself (the session does not);
redirects are httpx's to follow or not (the session never follows); each of httpx's timeouts maps
to aiohttp's (``connect`` to the socket connect, ``pool`` to waiting for a connection, ``read``
to each read); failures become httpx's exception of the same kind, raised from what aiohttp saw,
so callers that sort errors by their cause (refused, unresolved, untrusted certificate: see
:func:`serinus.outbound.describe`) find the same causes. Connections are kept for reuse, up to
``limit`` at once.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from types import ModuleType
from typing import Any, NamedTuple

import aiohttp
import httpx
import yarl

from serinus import http1


class _Failure(Exception):
    """What went wrong in aiohttp, sorted; each transport raises its httpx's exception for it.

    ``kind``: ``protocol`` (not http or https), ``connect``, ``connect_timeout``,
    ``pool_timeout``, ``read_timeout``, ``read`` or ``remote``; ``cause``: the error behind it
    (the OSError or certificate error of a connect).
    """

    def __init__(self, kind: str, message: str, cause: BaseException | None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.cause = cause


class _Session:
    """One aiohttp session, opened on first use inside the running loop, closed with the client."""

    def __init__(self, tls: ssl.SSLContext, limit: int) -> None:
        self._tls = tls
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def get(self) -> aiohttp.ClientSession:
        if self._closed:  # a request that got past its client's check as the client closed
            raise _Failure("connect", "the client is closed", None)
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit, limit_per_host=0, ssl=self._tls)
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,  # httpx decodes Content-Encoding itself
                trust_env=False,  # proxies are httpx's settings, not the environment's
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx's client keeps the cookies
            )
        return self._session

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        timeouts: Mapping[str, float | None],
    ) -> aiohttp.ClientResponse:
        scheme = url.partition(":")[0].lower()
        if scheme not in ("http", "https"):  # as httpx's own transport says it
            words = f"Request URL has an unsupported protocol '{scheme}://'."
            raise _Failure("protocol", words, None)
        connect, pool = timeouts.get("connect"), timeouts.get("pool")
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=timeouts.get("read"),
        )
        session = self.get()
        try:
            return await session.request(
                method,
                _target(url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            )
        except BaseException as error:
            raise _sorted(error) from error


def _sorted(error: BaseException) -> BaseException:
    """aiohttp's (or asyncio's) error as a :class:`_Failure`; anything else as it is."""
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        words = http1.connect_words(error.host, error.port, error.certificate_error)
        return _Failure("connect", words, error.certificate_error)
    if isinstance(error, aiohttp.ClientConnectorError):
        words = http1.connect_words(error.host, error.port, error.os_error)
        return _Failure("connect", words, error.os_error)
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return _Failure("connect_timeout", "timed out connecting", error)
    if isinstance(error, aiohttp.SocketTimeoutError):
        return _Failure("read_timeout", "timed out reading", error)
    if isinstance(error, TimeoutError):  # the pool: no connection free in time
        return _Failure("pool_timeout", "timed out waiting for a connection", error)
    if isinstance(error, aiohttp.ServerDisconnectedError):  # in the lean client's words
        return _Failure("remote", http1.SERVER_DISCONNECTED, error)
    if isinstance(error, aiohttp.ClientPayloadError):
        return _Failure("remote", http1.CUT_SHORT, error)
    if isinstance(error, aiohttp.ClientError | OSError):
        return _Failure("read", str(error) or type(error).__name__, error)
    return error


def _lean(error: http1.HTTPError) -> _Failure:
    """The lean client's error as a :class:`_Failure`, in the words :func:`_sorted` uses."""
    if isinstance(error, http1.ConnectError):
        return _Failure("connect", str(error), error.__cause__)
    if isinstance(error, http1.ConnectTimeout):
        return _Failure("connect_timeout", "timed out connecting", error)
    if isinstance(error, http1.ReadTimeout):
        return _Failure("read_timeout", "timed out reading", error)
    if isinstance(error, http1.PoolTimeout):
        return _Failure("pool_timeout", "timed out waiting for a connection", error)
    return _Failure("remote", str(error), error)


class Prepared(NamedTuple):
    """A GET as httpx built it, for :meth:`OutboundTransport.fetch`: where to, the path, and the
    header lines as httpx spelt and ordered them (its ``Host`` first)."""

    origin: http1.Origin
    path: str
    head: str
    timeouts: Mapping[str, float | None]


def prepare(
    url: str, headers: list[tuple[str, str]], timeouts: Mapping[str, float | None]
) -> Prepared | None:
    """``url`` (http or https, no query, no user info) and ``headers`` as they go on the wire;
    None for what the lean client cannot send exactly so (a header with a line break in it)."""
    target = yarl.URL(url, encoded=True)
    if target.scheme not in ("http", "https") or not target.raw_host or target.port is None:
        return None
    if any(("\r" in n or "\n" in n or "\r" in v or "\n" in v) for n, v in headers):
        return None
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    origin = http1.Origin(target.scheme == "https", target.raw_host, target.port)
    return Prepared(origin, target.raw_path or "/", head, dict(timeouts))


def _target(url: str) -> yarl.URL:
    """The URL as httpx encoded it (not re-quoted), without user info: httpx has already sent
    that as the Authorization header, and aiohttp refuses both at once."""
    target = yarl.URL(url, encoded=True)
    return target.with_user(None) if target.raw_user is not None else target


def _raw(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """Request headers as the caller spelt them (httpx's own listing lowercases the names)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]


async def _chunks(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.content.iter_any():
            yield chunk
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        raise _sorted(error) from error


_EXCEPTIONS = {
    "connect": "ConnectError",
    "connect_timeout": "ConnectTimeout",
    "pool_timeout": "PoolTimeout",
    "read_timeout": "ReadTimeout",
    "remote": "RemoteProtocolError",
    "read": "ReadError",
    "protocol": "UnsupportedProtocol",
}
"""The name of httpx's (and httpx2's: the same names) exception for each kind of failure."""


def _error(family: ModuleType, failure: _Failure, request: Any) -> Exception:
    """``family``'s (httpx or httpx2) exception for ``failure``."""
    kind: Callable[..., Exception] = getattr(family, _EXCEPTIONS[failure.kind])
    return kind(failure.message, request=request)


async def _exchange(session: _Session, family: ModuleType, request: Any) -> aiohttp.ClientResponse:
    """Send an httpx or httpx2 ``request``; the answer, or ``family``'s exception."""
    body = await request.aread()
    timeouts: dict[str, Any] = request.extensions.get("timeout", {})
    try:
        return await session.send(
            request.method, str(request.url), _raw(request.headers.raw), body, timeouts
        )
    except _Failure as failure:
        raise _error(family, failure, request) from failure.cause


class _Streamed:
    """An answer's body as httpx reads it, failures as ``family``'s exceptions."""

    family: ModuleType

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in _chunks(self._response):
                yield chunk
        except _Failure as failure:
            raise _error(self.family, failure, None) from failure.cause

    async def aclose(self) -> None:
        self._response.release()


class _OutboundBody(_Streamed, httpx.AsyncByteStream):
    family = httpx


class OutboundTransport(httpx.AsyncBaseTransport):
    """An httpx transport over aiohttp (see the module's docstring)."""

    def __init__(self, *, limit: int) -> None:
        tls = httpx.create_ssl_context()
        self._session = _Session(tls, limit)
        self._pool = http1.Pool(tls=tls, limit=limit)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await _exchange(self._session, httpx, request)
        headers, body = list(answer.headers.items()), _OutboundBody(answer)
        return httpx.Response(answer.status, headers=headers, stream=body, request=request)

    async def fetch(
        self, prepared: Prepared, query: str | None
    ) -> tuple[int, Mapping[str, str], list[str], bytes]:
        """GET a request httpx prepared (:func:`prepare`), ``query`` its query string, without
        httpx's Request and Response objects, over the lean client (:mod:`serinus.http1`).

        :func:`serinus.outbound.get`, the metric queries' path, builds a request once and sends
        it every tick through here: the same bytes on the wire, timeouts and httpx exceptions
        (with the same causes and words) as :meth:`handle_async_request`. The answer: status,
        headers, the values of ``Content-Encoding`` and the body, read whole and not decoded.
        """
        target = f"{prepared.path}?{query}" if query else prepared.path
        message = f"GET {target} HTTP/1.1\r\n{prepared.head}\r\n".encode()
        timeouts = prepared.timeouts
        try:
            answer = await self._pool.request(
                prepared.origin,
                message,
                connect=timeouts.get("connect"),
                pool=timeouts.get("pool"),
                read=timeouts.get("read"),
            )
        except http1.HTTPError as error:
            failure = _lean(error)
            raise _error(httpx, failure, None) from failure.cause
        headers = answer.headers
        return answer.status, headers, headers.getall("Content-Encoding", []), answer.body

    async def aclose(self) -> None:
        await self._pool.close()
        await self._session.close()
