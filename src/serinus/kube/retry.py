"""Retrying Kubernetes requests: transient failures, throttling, and read-modify-write conflicts.

Two different things are retried here, and they are kept apart on purpose:

* :func:`with_retries` repeats *one request* that got no useful answer: 429 Too Many Requests
  (after the server's ``Retry-After``, capped), 5xx, or no answer at all. It is bounded
  (:attr:`RetryPolicy.attempts`) and backs off exponentially with jitter, so a struggling API
  server is not hammered by every canary at once. The last error is raised unchanged.
* :func:`retry_on_conflict` repeats a *read-modify-write cycle* whose write lost a race (409
  Conflict on a stale resourceVersion): it reads again, re-applies the change to what it read and
  writes again, as client-go's ``RetryOnConflict`` and Flagger's status writes do.

:class:`serinus.kube.client.Kube` wraps every call in :func:`with_retries`; status writers and
routers use :func:`retry_on_conflict` around their own get/replace pairs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from serinus import errors
from serinus.kube import errors as kube_errors

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How many times and how patiently a request is retried."""

    attempts: int = 5
    """Tries per request in all, the first one included."""
    backoff: float = 0.2
    """Seconds before the second try; doubled for each further one."""
    max_backoff: float = 5.0
    """Longest wait between two tries."""
    max_retry_after: float = 30.0
    """Longest wait honoured from a 429's Retry-After header."""
    jitter: float = 0.2
    """Each wait is stretched by up to this fraction at random, so clients spread out."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts: expected at least 1, found {self.attempts}")
        for name in ("backoff", "max_backoff", "max_retry_after", "jitter"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: expected a number >= 0, found {getattr(self, name)}")

    def delay(self, attempt: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        base = min(self.backoff * 2.0 ** (attempt - 1), self.max_backoff)
        return base * (1 + self.jitter * random.random())


RETRIED = (errors.TooManyRequestsError, errors.ServerError)
"""Errors that say "try the same request again later"."""


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
) -> T:
    """Run ``call``, retrying on 429, 5xx and unanswered requests; re-raise the last error.

    ``call`` must raise serinus errors (``Kube`` translates before this sees them).
    """
    attempt = 1
    while True:
        try:
            return await call()
        except RETRIED as error:
            if attempt >= policy.attempts:
                raise
            wait = policy.delay(attempt, retry_after=kube_errors.retry_after(error))
            logger.debug("retrying in %.2fs after try %d failed: %s", wait, attempt, error)
            await asyncio.sleep(wait)
            attempt += 1


async def retry_on_conflict(
    fetch: Callable[[], Awaitable[T]],
    mutate: Callable[[T], T],
    write: Callable[[T], Awaitable[R]],
    *,
    attempts: int = 5,
) -> R:
    """Read, change, write; on 409 Conflict read again and redo the change, up to ``attempts``.

    Args:
        fetch: reads the current object (with its resourceVersion).
        mutate: returns the object to write, given the one just read; called once per attempt,
            so it must not depend on an earlier attempt's result.
        write: writes it with the resourceVersion it was read at (``Kube.replace``,
            ``Kube.replace_status``), so a concurrent change makes it fail with ConflictError.
        attempts: cycles in all before the last ConflictError is raised.
    """
    if attempts < 1:
        raise ValueError(f"attempts: expected at least 1, found {attempts}")
    for attempt in range(1, attempts + 1):
        current = await fetch()
        try:
            return await write(mutate(current))
        except errors.ConflictError as conflict:
            if attempt == attempts:
                raise
            logger.debug(
                "write conflict (try %d of %d), reading again: %s", attempt, attempts, conflict
            )
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
