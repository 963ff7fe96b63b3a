"""HTTP answers of the Kubernetes API turned into :mod:`serinus.errors` classes.

Every call of :class:`serinus.kube.client.Kube` goes through :func:`translate`, so callers above
``kube/`` never see lightkube's or httpx's exceptions, only the serinus tree::

    401, 403        ForbiddenError          permanent: RBAC or credentials
    404             NotFoundError           (``Kube.get`` and ``Kube.delete`` turn it into None)
    409             ConflictError           retriable: stale resourceVersion or AlreadyExists
    400, 413,       InvalidError            permanent: the object or patch was rejected
      415, 422                                (413: larger than the server takes)
    429             TooManyRequestsError    retriable, after the server's Retry-After
    5xx             ServerError             retriable
    no answer       UnreachableError        retriable (a ServerError): refused, reset, timeout

As kopf does, the message is the API's own (``canaries.flagger.app "x" not found``) prefixed with
what was being done, the original exception is chained with ``from``, and the body kept on the
error is cut to 256 characters so that a rejected Secret never lands whole in a log line. The
few errors that are about the connection rather than an answer (a bad kubeconfig, a lost
leadership) also live here, under :class:`~serinus.errors.KubeError`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
from lightkube.core.exceptions import ApiError

from serinus import errors
from serinus.errors import BODY_LIMIT


class KubeConfigError(errors.KubeError):
    """The connection settings cannot be used (missing kubeconfig, context or service account)."""

    retriable = False
    status = 0


class UnreachableError(errors.ServerError):
    """The API server gave no answer: connection refused or reset, timeout, TLS failure."""

    status = 0


class LeadershipLostError(errors.KubeError):
    """This replica could not renew its leader lease in time and stopped leading."""

    status = 0


_BY_STATUS: dict[int, type[errors.KubeError]] = {
    400: errors.InvalidError,
    401: errors.ForbiddenError,
    403: errors.ForbiddenError,
    404: errors.NotFoundError,
    409: errors.ConflictError,
    413: errors.InvalidError,
    415: errors.InvalidError,
    422: errors.InvalidError,
    429: errors.TooManyRequestsError,
}


def error_class(code: int) -> type[errors.KubeError]:
    """The serinus class for an HTTP status of the API."""
    if code in _BY_STATUS:
        return _BY_STATUS[code]
    if code >= 500:
        return errors.ServerError
    return errors.KubeError


def from_status(
    code: int, *, action: str, message: str = "", reason: str = "", body: str = ""
) -> errors.KubeError:
    """The error for a ``Status`` answer (HTTP error or in-stream watch ERROR)."""
    cls = error_class(code)
    text = message or body[:BODY_LIMIT] or "no message"
    label = f"{code} {reason}".strip()
    return cls(f"{action}: {text} ({label})", status=code, body=body)


def translate(error: BaseException, *, action: str) -> errors.KubeError | None:
    """The serinus error for an exception raised by lightkube or httpx2, or None for others."""
    if isinstance(error, ApiError) and error.status is not None:
        status = error.status
        body = _body(error.response) or _status_json(status)
        code = status.code or (error.response.status_code if error.response is not None else 0)
        return from_status(
            code, action=action, message=status.message or "", reason=status.reason or "", body=body
        )
    if isinstance(error, httpx2.HTTPStatusError):
        body = _body(error.response)
        message, reason = _parse_status(body)
        return from_status(
            error.response.status_code,
            action=action,
            message=message,
            reason=reason or error.response.reason_phrase,
            body=body,
        )
    if isinstance(error, httpx2.TransportError):
        detail = str(error) or type(error).__name__
        return UnreachableError(f"{action}: the API server did not answer: {detail}")
    return None


def wrap(error: BaseException, *, action: str) -> errors.KubeError:
    """Like :func:`translate`, with a plain KubeError for anything it does not know."""
    found = translate(error, action=action)
    return found if found is not None else errors.KubeError(f"{action}: {error}")


def retry_after(error: errors.KubeError) -> float | None:
    """Seconds the server asked to wait (``Retry-After``), when the answer carried it."""
    cause = error.__cause__
    response = cause.response if isinstance(cause, httpx2.HTTPStatusError) else None
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None  # an HTTP date: rare from an API server; the backoff applies instead


def _body(response: httpx2.Response | None) -> str:
    if response is None:
        return ""
    try:
        return response.text[: BODY_LIMIT * 4]
    except httpx2.ResponseNotRead:  # a streamed (watch) answer whose body was never read
        return ""


def _status_json(status: Any) -> str:
    try:
        return json.dumps(status.to_dict())
    except (AttributeError, TypeError, ValueError):
        return ""


def _parse_status(body: str) -> tuple[str, str]:
    """(message, reason) of a Status body, or empty strings when it is not one."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return "", ""
    if not isinstance(parsed, dict):
        return "", ""
    return str(parsed.get("message") or ""), str(parsed.get("reason") or "")
