"""Who may see and do what on the dashboard: Kubernetes decides, the dashboard only asks.

Every API request must carry ``Authorization: Bearer <token>``, a Kubernetes token (``kubectl
create token``, an OIDC id token the cluster accepts, a ServiceAccount's): no token or a token the
API server does not accept is a 401. What the caller sees and does is then asked of the API
server for that user, per namespace: ``get`` on ``canaries`` to see a Canary (its status, Events,
history, timeline), ``patch`` on ``canaries`` to press a control button (the same right that
writing the request annotation with kubectl needs). A Canary the caller may not get is a 403 that
says nothing about it, not even whether it exists.

The dashboard never uses cookies, so there is no session to steal across sites and no request
forgery to guard against; the page keeps the token in the tab's session storage. Answers are
cached briefly (:data:`TTL` seconds, bounded in number, keyed by a hash of the token, never the
token itself), so a revoked token or a removed RoleBinding stops working within that time, and
at most :data:`CONCURRENT` reviews are in flight, so a flood of made-up tokens cannot flood the
API server through the dashboard.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import time
from typing import Generic, TypeVar

from aiohttp import web

from serinus.kube import reviews
from serinus.kube.client import Kube
from serinus.kube.reviews import User

TTL = 10.0
CACHED = 2048
CONCURRENT = 8
MAX_TOKEN = 16 * 1024

K = TypeVar("K")
V = TypeVar("V")


class _Expiring(Generic[K, V]):
    def __init__(self, ttl: float, size: int) -> None:
        self._ttl, self._size = ttl, size
        self._items: collections.OrderedDict[K, tuple[float, V]] = collections.OrderedDict()

    def get(self, key: K) -> tuple[bool, V | None]:
        found = self._items.get(key)
        if found is None or found[0] < time.monotonic():
            self._items.pop(key, None)
            return False, None
        return True, found[1]

    def put(self, key: K, value: V) -> None:
        self._items[key] = (time.monotonic() + self._ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


def _refused(status: type[web.HTTPException], reason: str) -> web.HTTPException:
    headers = (
        {"WWW-Authenticate": 'Bearer realm="serinus"'} if status is web.HTTPUnauthorized else {}
    )
    return status(
        text=json.dumps({"error": reason}), content_type="application/json", headers=headers
    )


class Guard:
    """Authenticates callers (TokenReview) and authorizes what they ask (SubjectAccessReview)."""

    def __init__(self, kube: Kube, *, ttl: float = TTL) -> None:
        self._kube = kube
        self._users: _Expiring[str, User | None] = _Expiring(ttl, CACHED)
        self._access: _Expiring[tuple[str, str, str, str], bool] = _Expiring(ttl, CACHED)
        self._reviews = asyncio.Semaphore(CONCURRENT)

    async def user(self, request: web.Request) -> User:
        """The caller; 401 without a valid bearer token."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN:
            raise _refused(web.HTTPUnauthorized, "a Kubernetes bearer token is required")
        key = hashlib.sha256(token.encode()).hexdigest()
        known, user = self._users.get(key)
        if not known:
            async with self._reviews:
                user = await reviews.token_review(self._kube, token)
            self._users.put(key, user)  # None: a refusal is remembered too
        if user is None:
            raise _refused(web.HTTPUnauthorized, "the token was not accepted by Kubernetes")
        return user

    async def may(self, user: User, verb: str, namespace: str, name: str = "") -> bool:
        """Whether ``user`` may ``verb`` canaries (or Canary ``name``) in ``namespace``."""
        key = (repr(user), verb, namespace, name)
        known, answer = self._access.get(key)
        if known:
            return bool(answer)
        async with self._reviews:
            answer = await reviews.allowed(
                self._kube, user, verb=verb, group="flagger.app", resource="canaries",
                namespace=namespace, name=name,
            )  # fmt: skip
        self._access.put(key, answer)
        return answer

    async def require(self, user: User, verb: str, namespace: str, name: str = "") -> None:
        """403 unless ``user`` may ``verb`` the Canary; the refusal names nothing of it."""
        if not await self.may(user, verb, namespace, name):
            raise _refused(web.HTTPForbidden, f"you may not {verb} canaries there")
