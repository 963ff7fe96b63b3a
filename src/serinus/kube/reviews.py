"""Who is calling, and may they? TokenReview and SubjectAccessReview, as a web front end asks.

The dashboard trusts nothing but Kubernetes: a caller's bearer token is sent to the API server in
a TokenReview (who is this?), and each thing they want to see or do becomes a
SubjectAccessReview for that user, their groups and extra attributes (may they ``get`` or
``patch`` ``canaries`` in this namespace?). Both are answered by the API server and never
stored; the operator needs ``create`` on ``tokenreviews`` and ``subjectaccessreviews``. A token
never reaches a log line or an error message from here.
"""

from __future__ import annotations

import dataclasses

from serinus import errors
from serinus.apis.base import Manifest
from serinus.kube.client import Kube


@dataclasses.dataclass(frozen=True)
class User:
    """A caller as the API server knows them."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


async def token_review(kube: Kube, token: str) -> User | None:
    """The user the token belongs to; None when it is not a valid token."""
    review: Manifest = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "metadata": {"name": "serinus-dashboard"},  # ignored; this client names every create
        "spec": {"token": token},
    }
    try:
        answered = await kube.create(review)
    except errors.KubeError as error:
        # the answer is an error about the review, never about the token: say only that
        raise errors.KubeError(
            f"TokenReview failed: HTTP {error.http_status}", status=error.http_status
        ) from None
    status = answered.get("status") or {}
    if not status.get("authenticated"):
        return None
    user = status.get("user") or {}
    extra = user.get("extra") or {}
    return User(
        name=str(user.get("username") or ""),
        uid=str(user.get("uid") or ""),
        groups=tuple(str(g) for g in user.get("groups") or []),
        extra=tuple(sorted((str(k), tuple(str(v) for v in vs)) for k, vs in extra.items())),
    )


async def allowed(
    kube: Kube,
    user: User,
    *,
    verb: str,
    group: str,
    resource: str,
    namespace: str,
    name: str = "",
) -> bool:
    """Whether RBAC (or whatever authorizes the cluster) lets ``user`` do this."""
    attributes = {"verb": verb, "group": group, "resource": resource, "namespace": namespace}
    if name:
        attributes["name"] = name
    spec: Manifest = {
        "resourceAttributes": attributes,
        "user": user.name,
        "groups": list(user.groups),
    }
    if user.uid:
        spec["uid"] = user.uid
    if user.extra:
        spec["extra"] = {key: list(values) for key, values in user.extra}
    review: Manifest = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "metadata": {"name": "serinus-dashboard"},
        "spec": spec,
    }
    answered = await kube.create(review)
    return bool((answered.get("status") or {}).get("allowed"))
