"""The one exception tree of serinus.

Every error serinus raises on purpose derives from :class:`SerinusError`. A controller tick
catches ``SerinusError`` in one place and turns it into a log line, a Kubernetes Event and a
metric; anything else is a bug and is logged with its traceback. Each class says whether retrying
later can help (``retriable``): a retriable error leaves the Canary where it is until the next
tick, a permanent one is shown on the Canary until its spec changes.

::

    SerinusError
    ├── InvalidCanaryError          the Canary or a template cannot run as written   permanent
    ├── UnknownProviderError        a provider/kind/type serinus does not implement  permanent
    ├── KubeError                   the Kubernetes API said no                       by status
    │   ├── NotFoundError (404)     ConflictError (409)     ForbiddenError (401/403)
    │   │   └── TargetNotFoundError  the Canary's target workload does not exist
    │   ├── InvalidError (422)      TooManyRequestsError (429)     ServerError (5xx)
    │   └── (serinus.kube.errors) KubeConfigError  UnreachableError  LeadershipLostError
    ├── TargetError                 the workload cannot be set up, promoted, scaled  retriable
    ├── RouterError                 the mesh/ingress object cannot be written/read   retriable
    ├── MetricsError                a metric could not be measured                   retriable
    │   ├── ProviderUnavailableError  QueryError  NoValuesFoundError  MultipleValuesError
    ├── WebhookError                a webhook call failed                            retriable
    │   ├── WebhookRejectedError    (the receiver answered, and said no)
    │   └── WebhookUnreachableError (no answer: refused, timeout, DNS)
    └── NotifierError               an alert could not be delivered                  retriable
"""

from __future__ import annotations

from typing import ClassVar

BODY_LIMIT = 256
"""Characters of a foreign body (an API's, a receiver's, a backend's answer) that an error keeps:
enough for a reason, too few to flood a log line, an Event or a status, or to leak much."""


class SerinusError(Exception):
    """Root of every error serinus raises on purpose."""

    retriable: ClassVar[bool] = True


class InvalidCanaryError(SerinusError):
    """The Canary cannot run as written; the message names the field and what was expected."""

    retriable = False


class UnknownProviderError(SerinusError):
    """A provider, kind or type that serinus does not implement. Never silently defaulted."""

    retriable = False

    def __init__(self, family: str, name: str) -> None:
        super().__init__(f"{family} {name} is not supported")
        self.family = family
        self.name = name


class KubeError(SerinusError):
    """The Kubernetes API answered with an error status (body cut to :data:`BODY_LIMIT`)."""

    status: ClassVar[int] = 0

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.http_status = status if status is not None else self.status
        self.body = body[:BODY_LIMIT]


class NotFoundError(KubeError):
    status = 404
    retriable = False


class TargetNotFoundError(NotFoundError):
    """The Canary's target workload does not exist (never created, or deleted).

    Raised by whatever reads the target (its controller, the Services that select its pods), so
    the controller can tell a missing target from other missing objects: mid-run it waits for it
    until the progress deadline, then rolls back; on deletion there is nothing to give back.
    """


class ConflictError(KubeError):
    status = 409


class ForbiddenError(KubeError):
    status = 403
    retriable = False


class InvalidError(KubeError):
    status = 422
    retriable = False


class TooManyRequestsError(KubeError):
    status = 429


class ServerError(KubeError):
    status = 500


class TargetError(SerinusError):
    """The target workload could not be initialized, promoted, scaled or read."""

    def __init__(self, message: str, *, retriable: bool = True) -> None:
        super().__init__(message)
        self._retriable = retriable

    @property
    def is_retriable(self) -> bool:
        return self._retriable


class RouterError(SerinusError):
    """The traffic object of a mesh or ingress could not be written or read."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(message)
        self.provider = provider


class MetricsError(SerinusError):
    """A metric could not be measured (as opposed to measured and found bad)."""


class ProviderUnavailableError(MetricsError):
    """The metrics backend did not answer (refused, timed out, or not online)."""


class QueryError(MetricsError):
    """The backend rejected the query (HTTP 4xx with its own error text)."""


class NoValuesFoundError(MetricsError):
    """The query matched no series, or the value was NaN (no traffic in the window)."""


class MultipleValuesError(MetricsError):
    """The query returned several series where one value was expected."""


class WebhookError(SerinusError):
    """A webhook did not succeed."""

    def __init__(self, url: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class WebhookRejectedError(WebhookError):
    """The receiver answered with a status that means no."""


class WebhookUnreachableError(WebhookError):
    """The receiver could not be reached: refused, timed out, or its name did not resolve."""


class NotifierError(SerinusError):
    """An alert could not be delivered to its chat provider."""


def is_retriable(error: BaseException) -> bool:
    """Whether trying the same thing again on a later tick can succeed."""
    if isinstance(error, TargetError):
        return error.is_retriable
    if isinstance(error, SerinusError):
        return type(error).retriable
    return True
