"""API errors as the real server reports them: a ``Status`` object with ``reason`` and ``code``.

Clients act on these fields, not on prose: kubectl prints ``Error from server (<reason>): <msg>``,
lightkube raises ``ApiError`` carrying ``code``, retry loops look for ``reason: Conflict``. Every
failure inside the server is raised as :class:`ApiError` and turned into a JSON ``Status`` answer
in one place (``handlers``). The constructors below reproduce the real server's wording, because
users and tests compare it (``deployments.apps "web" not found``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from serinus.sandbox.apiserver.objects import Obj


@dataclass(frozen=True)
class Cause:
    """One field-level problem of a 422 Invalid answer."""

    field: str
    reason: str
    message: str

    def as_dict(self) -> Obj:
        return {"reason": self.reason, "message": self.message, "field": self.field}


class ApiError(Exception):
    """A request the server refuses; carries the ``Status`` the client receives."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: Obj | None = None,
        metadata: Obj | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.metadata = metadata or {}

    def status(self) -> Obj:
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": dict(self.metadata),
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code  # the real server's field order: details before code
        return body


def group_resource(group: str, plural: str) -> str:
    """``deployments.apps``, or ``pods`` for the core group: how messages name a resource."""
    return f"{plural}.{group}" if group else plural


def _details(group: str, kind: str, name: str) -> Obj:
    """StatusDetails in the real server's field order: name, group, kind (then uid, causes)."""
    details: Obj = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    return details


def not_found(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{group_resource(group, plural)} "{name}" not found',
        details=_details(group, plural, name),
    )


def no_such_path() -> ApiError:
    """A URL that names no resource the server serves."""
    return ApiError(404, "NotFound", "the server could not find the requested resource", details={})


def already_exists(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{group_resource(group, plural)} "{name}" already exists',
        details=_details(group, plural, name),
    )


def conflict(group: str, plural: str, name: str, why: str | None = None) -> ApiError:
    why = why or (
        "the object has been modified; please apply your changes to the latest version "
        "and try again"
    )
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {group_resource(group, plural)} "{name}": {why}',
        details=_details(group, plural, name),
    )


def invalid(group: str, kind: str, name: str, causes: Sequence[Cause]) -> ApiError:
    """422 Invalid, the message listing every cause as the real server does."""
    qualified = f"{kind}.{group}" if group else kind
    listed = [
        f"{cause.field}: {cause.message}" if cause.field else cause.message for cause in causes
    ]
    text = listed[0] if len(listed) == 1 else "[" + ", ".join(listed) + "]"
    details = _details(group, kind, name)
    details["causes"] = [cause.as_dict() for cause in causes]
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {text}', details=details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(group: str, plural: str, name: str, why: str) -> ApiError:
    return ApiError(
        403,
        "Forbidden",
        f'{group_resource(group, plural)} "{name}" is forbidden: {why}',
        details=_details(group, plural, name),
    )


def method_not_allowed(verb: str, what: str) -> ApiError:
    return ApiError(
        405,
        "MethodNotAllowed",
        f"the server does not allow this method on the requested resource ({verb} {what})",
        details={},
    )


def unsupported_media_type(content_type: str, accepted: Sequence[str]) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format ({content_type or 'none'}) - "
        f"accepted media types include: {', '.join(accepted)}",
        details={},
    )


def gone(requested: int, oldest: int) -> ApiError:
    return ApiError(410, "Expired", f"too old resource version: {requested} ({oldest})")


MAX_BODY_BYTES = 3 * 1024 * 1024
"""The largest request body the server reads, as the real API server's."""


def too_large() -> ApiError:
    """A request body past :data:`MAX_BODY_BYTES`, answered as the real API server does."""
    return ApiError(
        413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY_BYTES}"
    )


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}", details={})


def success(group: str, plural: str, name: str, uid: str) -> Obj:
    """The ``Status`` a DELETE answers with when the object is gone at once."""
    details = _details(group, plural, name)
    details["uid"] = uid
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }
