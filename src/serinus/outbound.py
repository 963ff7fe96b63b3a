"""Requests serinus sends to addresses its users wrote: webhooks, chat services, metric backends.

The webhook client (:mod:`serinus.webhooks`), the notifiers (:mod:`serinus.notifiers`) and the
metric providers (:mod:`serinus.metrics.providers`) each POST or GET to a URL taken from a Canary,
an AlertProvider or a MetricTemplate, through the operator's one injected ``httpx.AsyncClient``.
They fail the same ways, so :func:`send` is the one place that sends such a request and sorts
what can go wrong into two shapes:

* a URL httpx cannot send to at all (no scheme, ``ftp://``, a malformed host) is the user's to
  fix: :class:`~serinus.errors.InvalidCanaryError` naming the field and showing the address;
* no answer at all is a :class:`NoAnswer` carrying the cause in words a user can act on
  (``no answer within 5s``, ``connection refused``, ``host name did not resolve (...)``, ``TLS
  certificate not trusted (...)``). It is not a :class:`~serinus.errors.SerinusError`: each
  family catches it and raises its own error, in its own sentence (``WebhookUnreachableError``,
  ``NotifierError``, ``ProviderUnavailableError``), because that is what its callers and its
  tests speak.

An answer, whatever its status, is returned for the caller to judge; :func:`excerpt` cuts a body
to :data:`~serinus.errors.BODY_LIMIT` characters for an error message, so a receiver cannot flood a
log line, an Event or a status with its page (or with a secret it echoes).

:func:`get` is the metric queries' path (two per progressing tick): the same request on the wire
and the same errors as :func:`send`, without httpx's per-request machinery. At 1,000 progressing
Canaries a query through httpx's client cost 10.7 % of the operator's CPU, of which the exchange
itself (aiohttp) was 3.9 %; the rest was httpx building a Request (URL parsing, header merging),
its auth, redirect and cookie handling and its Response object, all the same every tick for one
address. So httpx prepares the request once per (client, address, headers, credentials, timeout)
and :func:`get` then adds the query string (``urlencode``, as httpx encodes ``params=``) and hands
it to :meth:`serinus.aiotransport.OutboundTransport.fetch`, which writes it through the lean
client (:mod:`serinus.http1`): about half the CPU of the same GET through aiohttp
(``benchmarks/prometheus_query.py`` measures both). Whatever that shortcut cannot promise
to send identically goes through :func:`send` (a client with cookies, a proxy or another
transport, an address with a query, user info or another scheme).
"""

from __future__ import annotations

import dataclasses
import enum
import errno
import json
import socket
import ssl
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from serinus import aiotransport
from serinus.errors import BODY_LIMIT, InvalidCanaryError

POOL_SIZE = 100
"""Connections of the operator's client (metric providers, webhooks, notifiers) at once. Every one
opened is kept for reuse: httpx kept 20 and closed the rest after each request, so with dozens of
ticks querying Prometheus at once most queries opened a new connection."""


def client() -> httpx.AsyncClient:
    """The operator's one client for outbound calls: httpx over aiohttp
    (:mod:`serinus.aiotransport`), :data:`POOL_SIZE` connections."""
    return httpx.AsyncClient(transport=aiotransport.OutboundTransport(limit=POOL_SIZE))


class Cause(enum.Enum):
    """Why a request got no answer."""

    TIMEOUT = "timeout"
    REFUSED = "refused"
    UNRESOLVED = "unresolved"
    CERTIFICATE = "certificate"
    CONNECT = "connect"
    """Any other failure to connect."""
    OTHER = "other"
    """The connection broke after it was made, or httpx gave up for another reason."""


class NoAnswer(Exception):
    """A request that got no answer; :attr:`words` say why, :attr:`cause` sorts it."""

    def __init__(self, cause: Cause, words: str) -> None:
        super().__init__(words)
        self.cause = cause
        self.words = words


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    timeout_seconds: float,
    field: str,
    shown: str | None = None,
    **request: Any,
) -> httpx.Response:
    """Send one request and return the answer, whatever its status.

    Args:
        client: the HTTP client to send with (the shared one, or one made for a proxy or TLS).
        method: ``GET`` or ``POST``.
        url: where to.
        timeout_seconds: seconds for each phase of the exchange (httpx's timeout).
        field: where the URL was written, for the error when it cannot be sent to.
        shown: the address as errors may show it (a URL with a secret in its path shows less).
        request: ``json=``, ``content=``, ``params=``, ``headers=``, ``auth=`` as httpx takes them.

    Raises:
        InvalidCanaryError: httpx cannot send to ``url`` at all.
        NoAnswer: no answer came back.
    """
    try:
        return await client.request(method, url, timeout=timeout_seconds, **request)
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
        raise InvalidCanaryError(
            f"{field}: expected an http:// or https:// address, found {shown or url!r}"
        ) from error
    except httpx.HTTPError as error:
        cause, words = describe(error, timeout_seconds)
        raise NoAnswer(cause, words) from error


class Answer:
    """An answer of :func:`get`: what its callers read of an ``httpx.Response``, read alike."""

    __slots__ = ("content", "headers", "status_code", "url")

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes, url: str):
        self.status_code = status_code
        self.headers = headers
        """Case-insensitive, as httpx's."""
        self.content = content
        """The body, ``Content-Encoding`` decoded."""
        self.url = url

    def json(self) -> Any:
        """The body as JSON (httpx's ``Response.json``: ``json.loads`` of the bytes)."""
        return json.loads(self.content)

    @property
    def text(self) -> str:
        """The body as text, decoded as httpx decodes it (the ``Content-Type`` charset, else
        UTF-8, undecodable bytes replaced). Only error messages read it."""
        kind = self.headers.get("Content-Type")
        headers = [("Content-Type", kind)] if kind is not None else []
        return httpx.Response(self.status_code, headers=headers, content=self.content).text


async def get(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    basic_auth: tuple[str, str] | None,
    timeout_seconds: float,
    field: str,
) -> Answer:
    """GET ``url`` with ``params`` as :func:`send` would, for less CPU (see the module docstring).

    Raises:
        InvalidCanaryError: httpx cannot send to ``url`` at all.
        NoAnswer: no answer came back (or its body could not be decoded).
    """
    route = (
        None
        if client.is_closed or client.cookies
        else _route(client, url, headers, basic_auth, timeout_seconds)
    )
    if route is None:
        auth = httpx.BasicAuth(*basic_auth) if basic_auth else httpx.USE_CLIENT_DEFAULT
        response = await send(
            client,
            "GET",
            url,
            timeout_seconds=timeout_seconds,
            field=field,
            params=params,
            headers=headers,
            auth=auth,
        )
        return Answer(response.status_code, response.headers, response.content, str(response.url))
    query = _query_string(params) if params else None
    target = f"{route.url}?{query}" if query else route.url
    try:
        status, answered, encodings, body = await route.transport.fetch(route.prepared, query)
        if "Set-Cookie" in answered:  # httpx's client keeps them; so does this path, then
            _keep_cookies(client, target, route, status, answered)
        return Answer(status, answered, _decoded(status, answered, encodings, body), target)
    except httpx.HTTPError as error:
        cause, words = describe(error, timeout_seconds)
        raise NoAnswer(cause, words) from error


@dataclasses.dataclass(frozen=True, slots=True)
class _Route:
    """A GET as httpx prepared it, less its query string."""

    transport: aiotransport.OutboundTransport
    url: str
    headers: list[tuple[str, str]]
    prepared: aiotransport.Prepared


_ROUTES: dict[tuple[object, ...], _Route | None] = {}
ROUTES_KEPT = 1024
"""Prepared requests kept at most (one per provider address and credentials in use); all are
forgotten when there would be more, and prepared again on their next use."""


def _route(
    client: httpx.AsyncClient,
    url: str,
    headers: Mapping[str, str],
    basic_auth: tuple[str, str] | None,
    timeout: float,
) -> _Route | None:
    """The prepared request for ``url``; None when only :func:`send` can send it as httpx would."""
    key = (client, url, tuple(headers.items()), basic_auth, timeout)
    try:
        return _ROUTES[key]
    except KeyError:
        pass
    route = _prepare(client, url, headers, basic_auth, timeout)
    if len(_ROUTES) >= ROUTES_KEPT:
        _ROUTES.clear()
    _ROUTES[key] = route
    return route


def _prepare(
    client: httpx.AsyncClient,
    url: str,
    headers: Mapping[str, str],
    basic_auth: tuple[str, str] | None,
    timeout: float,
) -> _Route | None:
    """httpx's own request for ``url`` (its URL normalisation, default and merged headers, auth
    header and timeouts), when httpx's client would send it unchanged through the aiohttp
    transport."""
    if client.follow_redirects or client.params or str(client.base_url) or client.auth is not None:
        return None
    if any(client.event_hooks.values()):
        return None
    try:
        request = client.build_request("GET", url, headers=headers, timeout=timeout)
    except httpx.HTTPError:  # an address httpx refuses: send() says so in the user's terms
        return None
    address = request.url
    if address.scheme not in ("http", "https") or address.query or address.fragment:
        return None
    if address.userinfo:  # httpx sends it as basic auth; leave that to httpx
        return None
    # The transport httpx would pick (a proxy from the environment mounts its own).
    transport = client._transport_for_url(address)  # httpx has no public way to ask
    if not isinstance(transport, aiotransport.OutboundTransport):
        return None
    if basic_auth is not None:
        next(httpx.BasicAuth(*basic_auth).sync_auth_flow(request))  # sets Authorization
    raw = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw]
    prepared = aiotransport.prepare(str(address), raw, request.extensions["timeout"])
    if prepared is None:
        return None
    return _Route(transport, str(address), raw, prepared)


_QUERY_STRINGS: dict[tuple[tuple[str, str], ...], str] = {}


def _query_string(params: Mapping[str, str]) -> str:
    """``params`` encoded as httpx encodes them (``urlencode``); a Canary's query is the same
    every tick, so its encoding is kept (up to :data:`ROUTES_KEPT` of them)."""
    key = tuple(params.items())
    encoded = _QUERY_STRINGS.get(key)
    if encoded is None:
        if len(_QUERY_STRINGS) >= ROUTES_KEPT:
            _QUERY_STRINGS.clear()
        encoded = _QUERY_STRINGS[key] = urlencode(key)
    return encoded


def _decoded(status: int, headers: Mapping[str, str], encodings: list[str], body: bytes) -> bytes:
    """The body with its ``Content-Encoding`` undone, as httpx does it (errors included)."""
    if not encodings:
        return body
    if len(encodings) == 1 and encodings[0].strip().lower() == "gzip":  # Prometheus' own
        try:  # httpx's gzip decoder, in one call
            decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
            return decoder.decompress(body) + decoder.flush()
        except zlib.error as error:
            raise httpx.DecodingError(str(error)) from error
    # Anything else (deflate, br, several) is decoded by httpx itself.
    return httpx.Response(status, headers=list(headers.items()), content=body).content


def _keep_cookies(
    client: httpx.AsyncClient, url: str, route: _Route, status: int, headers: Mapping[str, str]
) -> None:
    """Keep the cookies of an answer in the client's jar, as httpx's client does."""
    request = httpx.Request("GET", url, headers=route.headers)
    response = httpx.Response(status, headers=list(headers.items()), request=request)
    client.cookies.extract_cookies(response)


def describe(error: httpx.HTTPError, timeout: float) -> tuple[Cause, str]:
    """Why a request got no answer, sorted, and in words a user can act on."""
    if isinstance(error, httpx.TimeoutException):
        return Cause.TIMEOUT, f"no answer within {timeout:g}s"
    certificate = certificate_problem(error)
    if certificate is not None:
        reason = certificate.verify_message or certificate.reason or "verification failed"
        return Cause.CERTIFICATE, f"TLS certificate not trusted ({reason})"
    for link in _chain(error):
        if isinstance(link, ConnectionRefusedError) or (
            isinstance(link, OSError) and link.errno == errno.ECONNREFUSED
        ):
            return Cause.REFUSED, "connection refused"
        if isinstance(link, socket.gaierror):
            return Cause.UNRESOLVED, f"host name did not resolve ({link.strerror or link})"
    text = str(error) or type(error).__name__
    if "connection refused" in text.lower():
        return Cause.REFUSED, "connection refused"
    if isinstance(error, httpx.ConnectError):
        return Cause.CONNECT, text
    return Cause.OTHER, text


def certificate_problem(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind ``error``, if that is what it was."""
    for link in _chain(error):
        if isinstance(link, ssl.SSLCertVerificationError):
            return link
    return None


def excerpt(text: str) -> str:
    """The start of a body for an error message: stripped, cut, never empty."""
    return text.strip()[:BODY_LIMIT] or "(empty body)"


def _chain(error: BaseException) -> list[BaseException]:
    """The error and the errors it was raised from, innermost last."""
    links: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in links:
        links.append(current)
        current = current.__cause__ or current.__context__
    return links
