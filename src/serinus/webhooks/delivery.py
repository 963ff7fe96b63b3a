"""One webhook POST with Flagger's retry rules, and the words for a receiver that cannot be reached.

Flagger sends hooks through a retrying HTTP client (go-retryablehttp) with ``RetryMax`` set to the
hook's ``retries``: a transport error, a 429 or a 5xx other than 501 is tried again, anything else
is final. :func:`post` does the same with a short exponential backoff (``backoff`` seconds,
doubling, at most two seconds between attempts, so that a hook stays well inside an analysis
interval), and returns the last response for the caller to judge. When no response ever came it
raises :class:`~serinus.errors.WebhookUnreachableError` with the URL and the cause in plain words
(refused, no answer within the timeout, host name not resolved, certificate not trusted). A URL
that httpx cannot send to at all is the Canary's fault and raises
:class:`~serinus.errors.InvalidCanaryError`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable

import httpx

from serinus.errors import InvalidCanaryError, WebhookUnreachableError

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 2.0


def is_retriable_status(status: int) -> bool:
    """Statuses worth another attempt (go-retryablehttp's default policy)."""
    return status == 429 or (status >= 500 and status != 501)


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    body: bytes,
    headers: Callable[[], dict[str, str]],
    timeout_seconds: float,
    retries: int,
    backoff: float,
) -> httpx.Response:
    """POST ``body`` to ``url``, up to ``retries`` more times on a retriable outcome.

    ``headers`` is called for every attempt, so a signature can carry the attempt's own time.
    Returns the last response (which may still be a failure status); raises
    WebhookUnreachableError when the last attempt got no response.
    """
    attempts = retries + 1
    attempt = 0
    while True:
        attempt += 1
        if attempt > 1:
            await asyncio.sleep(min(backoff * 2 ** (attempt - 2), MAX_BACKOFF_SECONDS))
        try:
            response = await client.post(
                url, content=body, headers=headers(), timeout=timeout_seconds
            )
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
            raise InvalidCanaryError(
                f"webhook url: expected an http:// or https:// URL, found {url!r} ({error})"
            ) from error
        except httpx.TransportError as error:
            why = cause(error, timeout_seconds)
            if attempt == attempts or _certificate_problem(error) is not None:
                raise WebhookUnreachableError(url, f"{url} unreachable: {why}") from error
            _log_retry(url, attempt, attempts, why)
            continue
        if attempt < attempts and is_retriable_status(response.status_code):
            _log_retry(url, attempt, attempts, f"HTTP {response.status_code}")
            continue
        return response


def cause(error: httpx.TransportError, timeout: float) -> str:
    """Why a request got no response, in words a user can act on."""
    if isinstance(error, httpx.TimeoutException):
        return f"no answer within {timeout:g}s"
    certificate = _certificate_problem(error)
    if certificate is not None:
        reason = certificate.verify_message or certificate.reason or "verification failed"
        return f"TLS certificate not trusted ({reason}); disableTLS skips the verification"
    for link in _chain(error):
        if isinstance(link, ConnectionRefusedError):
            return "connection refused"
        if isinstance(link, socket.gaierror):
            return f"host name did not resolve ({link.strerror or link})"
    return str(error) or type(error).__name__


def _certificate_problem(error: BaseException) -> ssl.SSLCertVerificationError | None:
    for link in _chain(error):
        if isinstance(link, ssl.SSLCertVerificationError):
            return link
    return None


def _chain(error: BaseException) -> list[BaseException]:
    """The error and the errors it was raised from, innermost last."""
    links: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in links:
        links.append(current)
        current = current.__cause__ or current.__context__
    return links


def _log_retry(url: str, attempt: int, attempts: int, outcome: str) -> None:
    logger.info(
        "webhook %s attempt %d of %d failed (%s), retrying", url, attempt, attempts, outcome
    )
