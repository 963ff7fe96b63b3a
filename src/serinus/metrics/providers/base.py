"""The contract every metrics backend meets, the settings it is built from, and the HTTP plumbing
they share.

A backend answers two questions: "what is the value of this query?" (:meth:`Provider.query`) and
"can I reach you?" (:meth:`Provider.check_online`). :mod:`serinus.metrics.providers.registry` maps a
MetricTemplate's ``provider.type`` to the module that builds one from :class:`ProviderSettings`.

Every backend fails the same way, so a user reads the same kind of message whichever backend
answered: no answer at all (timeout, refused, DNS) is
:class:`~serinus.errors.ProviderUnavailableError` naming the address; HTTP 4xx is
:class:`~serinus.errors.QueryError` carrying the backend's own error text; 5xx is
``ProviderUnavailableError`` again (the backend is there but cannot serve). A throttled request
(HTTP 429, or the backend's own throttling answer) is sent again up to :data:`THROTTLE_ATTEMPTS`
times in all, waiting as ``Retry-After`` asks (at most :data:`MAX_THROTTLE_WAIT` seconds), and then
is ``ProviderUnavailableError`` saying so: the next interval asks again. Requests go through
:func:`serinus.outbound.send`, and bodies are cut to :data:`~serinus.errors.BODY_LIMIT`
characters so a misbehaving proxy cannot flood a Kubernetes Event. The HTTP client is injected (one
``httpx.AsyncClient`` for the whole operator), so the timeout is set per request. Each exchange
(each attempt of a throttled request, an online check's too) is timed for
:attr:`ProviderSettings.timed`, whatever its answer or failure: the one path every HTTP backend's
queries take. keptn and externalmetrics without an address ask the Kubernetes API instead: their
time is in the operator's ``serinus_kube_request_duration_seconds``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx

from serinus import outbound
from serinus.errors import BODY_LIMIT as BODY_LIMIT  # the one limit, under the name backends use
from serinus.errors import InvalidCanaryError, ProviderUnavailableError, QueryError
from serinus.ports import Clock

if TYPE_CHECKING:
    from serinus.kube import Kube

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 5.0
THROTTLE_ATTEMPTS = 3
"""Attempts in all for a throttled request (the AWS SDKs' default retries, Flagger's 3 for
CloudWatch)."""
MAX_THROTTLE_WAIT = 1.0
"""Seconds waited at most between throttled attempts, whatever ``Retry-After`` asks: a tick must
not stall on one metric."""


class Provider(Protocol):
    """One metrics backend at one address, with its credentials."""

    kind: str
    """The MetricTemplate provider type (``prometheus``, ``datadog``, ...)."""
    address: str

    async def query(self, query: str) -> float:
        """The single value the query yields now.

        Raises NoValuesFoundError (no data, or NaN), MultipleValuesError (several series),
        QueryError (the backend rejected the query) or ProviderUnavailableError (no answer).
        """

    async def check_online(self) -> None:
        """Raise ProviderUnavailableError (or QueryError for rejected credentials) unless the
        backend answers. Sends one cheap request; safe to call on every tick."""


@dataclasses.dataclass(frozen=True)
class ProviderSettings:
    """What a backend is built from: a MetricTemplate's ``spec.provider`` plus its Secret."""

    kind: str
    http: httpx.AsyncClient
    address: str | None = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    secret: Mapping[str, str] | None = None
    """The decoded data of ``spec.provider.secretRef``; None when the template names no Secret."""
    secret_name: str = ""
    interval: str = "1m"
    """The metric's window; backends without a window in the query language use it (datadog)."""
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    clock: Clock | None = None
    """Evaluate queries at this clock's time instead of the backend's now (rehearsals, tests)."""
    source: str = "metric provider"
    """The object the settings came from, for error messages: ``MetricTemplate prod/latency``."""
    address_field: str = "spec.provider.address"
    """Where the address is set, for the error when it is missing."""
    region: str | None = None
    """``spec.provider.region`` (cloudwatch)."""
    kube: Kube | None = None
    """The operator's Kubernetes connection, for backends that live in the cluster's API
    (keptn, externalmetrics); None where there is no cluster (backtests)."""
    timed: Callable[[str, float], None] | None = None
    """Told ``(kind, seconds)`` after each HTTP exchange with the backend (the operator's
    ``serinus_metric_query_duration_seconds``); must be cheap and must not raise."""

    def require_address(self, example: str) -> str:
        """The address without a trailing slash; an error naming the field when it is missing."""
        if not self.address:
            raise InvalidCanaryError(
                f"{self.source}: {self.address_field}: expected the {self.kind} API address"
                f" (e.g. {example}), got nothing"
            )
        return self.address.rstrip("/")

    def secret_value(self, key: str) -> str:
        """One key of the provider's Secret; an error naming the Secret and its keys when absent."""
        secret = self.secret or {}
        if key not in secret:
            if self.secret is None:
                where = "spec.provider.secretRef is not set"
            else:
                found = ", ".join(sorted(secret)) or "none"
                where = f"Secret {self.secret_name} has no such key (keys found: {found})"
            raise InvalidCanaryError(f"{self.source}: {self.kind} needs the key {key}: {where}")
        return secret[key]

    def now(self) -> float:
        """Seconds since the epoch: the clock's time when one is set, the system's otherwise."""
        if self.clock is not None:
            return self.clock.now().timestamp()
        return time.time()


def window_text(start_ms: int, stop_ms: int) -> str:
    """A query's time window as a message shows it: UTC times, not epoch milliseconds."""

    def utc(ms: int) -> str:
        moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    return f"between {utc(start_ms)} and {utc(stop_ms)}"


def collapse_whitespace(query: str) -> str:
    """Runs of whitespace become one space, as Flagger sends queries (templates span lines)."""
    return " ".join(query.split())


class Reply(Protocol):
    """What the backends read of an answer: an ``httpx.Response`` or :class:`outbound.Answer`."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def text(self) -> str: ...

    @property
    def url(self) -> object: ...

    def json(self) -> Any: ...


R = TypeVar("R", bound=Reply)


def is_throttled(response: Reply) -> bool:
    """HTTP 429 Too Many Requests: the backend asks the caller to slow down."""
    return response.status_code == 429


def throttle_wait(response: Reply, attempt: int) -> float:
    """Seconds to wait before the next attempt: ``Retry-After`` if given, else 0.25 s doubling."""
    asked = response.headers.get("Retry-After", "")
    try:
        wait = float(asked)
    except ValueError:
        wait = 0.25 * 2**attempt
    return max(0.0, min(wait, MAX_THROTTLE_WAIT))


async def send(
    settings: ProviderSettings,
    method: str,
    url: str,
    *,
    throttled: Callable[[httpx.Response], bool] = is_throttled,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request, again while the backend throttles it (at most THROTTLE_ATTEMPTS in all).

    A transport failure becomes ProviderUnavailableError naming the address; the last throttled
    answer is returned for :func:`check_status` (or the backend's own check) to explain.
    """
    return await _again_while_throttled(
        settings, lambda: send_once(settings, method, url, **kwargs), throttled
    )


async def get(
    settings: ProviderSettings,
    url: str,
    *,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    basic_auth: tuple[str, str] | None = None,
) -> outbound.Answer:
    """GET with a query string through :func:`serinus.outbound.get` (the metric queries' path:
    the same request and errors as :func:`send`, for less CPU), again while throttled."""

    async def once() -> outbound.Answer:
        began = time.perf_counter()
        try:
            return await outbound.get(
                settings.http,
                url,
                params=params,
                headers=headers,
                basic_auth=basic_auth,
                timeout_seconds=settings.timeout,
                field=f"{settings.source}: {settings.address_field}",
            )
        except outbound.NoAnswer as failure:
            raise unavailable(settings, url, failure) from failure
        finally:
            if settings.timed is not None:
                settings.timed(settings.kind, time.perf_counter() - began)

    return await _again_while_throttled(settings, once, is_throttled)


async def _again_while_throttled(
    settings: ProviderSettings, attempt: Callable[[], Awaitable[R]], throttled: Callable[[R], bool]
) -> R:
    for number in range(THROTTLE_ATTEMPTS - 1):
        response = await attempt()
        if not throttled(response):
            return response
        wait = throttle_wait(response, number)
        logger.debug("%s throttled a request; asking again in %.2fs", settings.kind, wait)
        await asyncio.sleep(wait)
    return await attempt()


async def send_once(
    settings: ProviderSettings, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """Send one request; no answer becomes ProviderUnavailableError naming the address."""
    began = time.perf_counter()
    try:
        return await outbound.send(
            settings.http,
            method,
            url,
            timeout_seconds=settings.timeout,
            field=f"{settings.source}: {settings.address_field}",
            **kwargs,
        )
    except outbound.NoAnswer as failure:
        raise unavailable(settings, url, failure) from failure
    finally:
        if settings.timed is not None:
            settings.timed(settings.kind, time.perf_counter() - began)


def unavailable(
    settings: ProviderSettings, url: str, failure: outbound.NoAnswer
) -> ProviderUnavailableError:
    """The error for a request to ``url`` that got no answer, naming the address."""
    where = f"{settings.kind} at {settings.address or url}"
    if failure.cause is outbound.Cause.TIMEOUT:
        message = f"{where} did not answer within {settings.timeout:g}s"
    elif failure.cause is outbound.Cause.REFUSED:
        message = (
            f"{where} refused the connection:"
            " nothing listens there (is it running? is the address right?)"
        )
    elif failure.cause is outbound.Cause.OTHER:
        message = f"request to {where} failed: {failure.__cause__ or failure.words}"
    else:  # httpx's own text names the TLS or resolver error as the backend's users know it
        message = f"could not connect to {where}: {failure.__cause__ or failure.words}"
    return ProviderUnavailableError(message)


def check_status(settings: ProviderSettings, response: Reply, *, query: str) -> None:
    """HTTP 4xx is QueryError with the backend's own error text; 5xx ProviderUnavailableError."""
    status = response.status_code
    if status < 400:
        return
    text = error_text(response)
    where = f"{settings.kind} at {settings.address or response.url}"
    if status >= 500:
        raise ProviderUnavailableError(f"{where} failed (HTTP {status}): {text}")
    if status == 429:
        raise ProviderUnavailableError(throttled_message(where, f"HTTP 429: {text}"))
    if status in (401, 403):
        raise QueryError(
            f"{where} refused the credentials (HTTP {status}): {text}; check the provider's Secret"
        )
    raise QueryError(f"{where} rejected the query (HTTP {status}): {text}; query: {query}")


def throttled_message(where: str, answer: str) -> str:
    """What a request throttled on every attempt says."""
    return (
        f"{where} throttled the request {THROTTLE_ATTEMPTS} times ({answer}); the next interval"
        " asks again (raise the backend's rate limit or lengthen the metric's interval)"
    )


def error_text(response: Reply) -> str:
    """The error message a backend put in its body, or the body itself, cut to BODY_LIMIT."""
    try:
        body: object = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return outbound.excerpt(response.text)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        nested = body["error"]  # {"error": {"code": 403, "status": ..., "message": ...}} (Google,
        parts = [nested[k] for k in ("status", "message") if nested.get(k)]  # Dynatrace)
        if parts:
            return ": ".join(str(part) for part in parts)[:BODY_LIMIT]
    if isinstance(body, dict):
        parts = [body[k] for k in ("errorType", "code", "error", "message") if body.get(k)]
        errors = body.get("errors")
        if isinstance(errors, list):
            parts.extend(errors)
        if parts:
            return ": ".join(str(part) for part in parts)[:BODY_LIMIT]
    return json.dumps(body)[:BODY_LIMIT]


def json_body(settings: ProviderSettings, response: Reply) -> Any:
    """The decoded JSON body; QueryError naming the address when the body is not JSON."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise QueryError(
            f"{settings.kind} at {settings.address} answered with something that is not JSON:"
            f" {response.text[:BODY_LIMIT]!r}"
        ) from err
