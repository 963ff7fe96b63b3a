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
"""

from __future__ import annotations

import enum
import errno
import socket
import ssl
from typing import Any

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
