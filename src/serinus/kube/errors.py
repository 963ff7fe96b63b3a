"""HTTP answers of the Kubernetes API turned into :mod:`serinus.errors` classes.

Every call of :class:`serinus.kube.client.Kube` goes through :func:`translate`, so callers above
``kube/`` never see the HTTP layer's exceptions (:class:`Answered`, :class:`Unanswered`, raised by
:mod:`serinus.kube.wire`), only the serinus tree::

    401, 403        ForbiddenError          permanent: RBAC or credentials
    404             NotFoundError           (``Kube.get`` and ``Kube.delete`` turn it into None)
    409             ConflictError           retriable: stale resourceVersion or AlreadyExists
    400, 413,       InvalidError            permanent: the object or patch was rejected
      415, 422                                (413: larger than the server takes)
    429             TooManyRequestsError    retriable, after the server's Retry-After
    5xx             ServerError             retriable
    no answer       UnreachableError        retriable (a ServerError): refused, reset, timeout

As kopf does, the message is the API's own (``canaries.flagger.app "x" not found``, read from the
whole Status body; cut to 1,024 characters) prefixed with what was being done, the original
exception is chained with ``from``, and the body kept on the error is cut to 256 characters so
that a rejected Secret never lands whole in a log line. A body that is not a Status (a load
balancer's HTML, garbage) gives its first characters as the message and the HTTP reason. The
few errors that are about the connection rather than an answer (a bad kubeconfig, a lost
leadership) also live here, under :class:`~serinus.errors.KubeError`.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from serinus import errors
from serinus.errors import BODY_LIMIT

MESSAGE_LIMIT = BODY_LIMIT * 4
"""Characters of the API's own message an error keeps (a 422 lists every rejected field)."""


class Answered(Exception):
    """An error answer of the API server as received; the cause of the error it translates to."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str], body: bytes) -> None:
        super().__init__(f"{status} {reason}".strip())
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body


class Unanswered(Exception):
    """No answer from the API server: refused, reset, cut mid-body, timed out, TLS refused."""


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
    """The serinus error for :class:`Answered` or :class:`Unanswered`, or None for others."""
    if isinstance(error, Answered):
        body = error.body.decode("utf-8", "replace")
        message, reason, is_status = _parse_status(error.body)
        return from_status(
            error.status,
            action=action,
            message=message[:MESSAGE_LIMIT],
            reason=reason if is_status else error.reason,
            body=body[:MESSAGE_LIMIT],
        )
    if isinstance(error, Unanswered):
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
    if not isinstance(cause, Answered):
        return None
    value = cause.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None  # an HTTP date: rare from an API server; the backoff applies instead


def _parse_status(body: bytes) -> tuple[str, str, bool]:
    """(message, reason, whether it is a JSON object) of an error body."""
    try:
        parsed = msgspec.json.decode(body)
    except ValueError:
        return "", "", False
    if not isinstance(parsed, dict):
        return "", "", False
    return str(parsed.get("message") or ""), str(parsed.get("reason") or ""), True
