"""One webhook POST with Flagger's retry rules, and the words for a receiver that cannot be reached.

Flagger sends hooks through a retrying HTTP client (go-retryablehttp) with ``RetryMax`` set to the
hook's ``retries``: a transport error, a 429 or a 5xx other than 501 is tried again, anything else
is final. :func:`post` does the same with a short exponential backoff (``backoff`` seconds,
doubling, at most two seconds between attempts, so that a hook stays well inside an analysis
interval), and returns the last response for the caller to judge. When no response ever came it
raises :class:`~serinus.errors.WebhookUnreachableError` with the URL and the cause in plain words
(refused, no answer within the timeout, host name not resolved, certificate not trusted), as
:mod:`serinus.outbound` words them. A URL that httpx cannot send to at all is the Canary's fault
and raises :class:`~serinus.errors.InvalidCanaryError`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx

from serinus import outbound
from serinus.errors import WebhookUnreachableError

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
            response = await outbound.send(
                client,
                "POST",
                url,
                content=body,
                headers=headers(),
                timeout_seconds=timeout_seconds,
                field="webhook url",
            )
        except outbound.NoAnswer as failure:
            certificate = failure.cause is outbound.Cause.CERTIFICATE
            if attempt == attempts or certificate:
                why = _words(failure)
                raise WebhookUnreachableError(url, f"{url} unreachable: {why}") from failure
            _log_retry(url, attempt, attempts, failure.words)
            continue
        if attempt < attempts and is_retriable_status(response.status_code):
            _log_retry(url, attempt, attempts, f"HTTP {response.status_code}")
            continue
        return response


def _words(failure: outbound.NoAnswer) -> str:
    if failure.cause is outbound.Cause.CERTIFICATE:
        return f"{failure.words}; disableTLS skips the verification"
    return failure.words


def _log_retry(url: str, attempt: int, attempts: int, outcome: str) -> None:
    logger.info(
        "webhook %s attempt %d of %d failed (%s), retrying", url, attempt, attempts, outcome
    )
