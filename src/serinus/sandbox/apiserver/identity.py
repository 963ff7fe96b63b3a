"""Who is calling: bearer tokens, ServiceAccount tokens, and the kubeconfig's admin.

A request without credentials is the sandbox's admin (``kubernetes-admin`` in ``system:masters``,
allowed everything), which is who the kubeconfig the sandbox writes speaks for: the server
listens on loopback only and checks no client certificate, the way a kind cluster's admin
kubeconfig is all-powerful. A request with ``Authorization: Bearer <token>`` is whoever the token
names, and an unknown, expired or tampered token is a 401, as on a real server.

Tokens are issued for ServiceAccounts by the ``token`` subresource (``kubectl create token``):
JWTs with Kubernetes' claims (issuer, ``system:serviceaccount:<ns>:<name>`` subject, audiences,
expiry, the account's name and uid), signed with HMAC-SHA256 by a key kept in ``kube-system``
(so tokens survive a restart with a state file). A token stops working when its ServiceAccount
is deleted (or recreated with another uid), as bound tokens do. The user of a ServiceAccount
token is in the groups ``system:serviceaccounts``, ``system:serviceaccounts:<ns>`` and
``system:authenticated``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field

from serinus.sandbox.apiserver.cluster import Cluster
from serinus.sandbox.apiserver.objects import Obj, as_map, metadata, new_uid, uid_of
from serinus.sandbox.apiserver.status import ApiError

ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_AUDIENCE = ISSUER
_KEY_SECRET = "serinus-sandbox-token-signing-key"
_KEY_NAMESPACE = "kube-system"
_ADMIN_UID = "a0000000-0000-4000-8000-000000000001"


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict, compare=False, hash=False)

    @property
    def superuser(self) -> bool:
        return "system:masters" in self.groups

    def info(self) -> Obj:
        """The ``UserInfo`` of reviews."""
        found: Obj = {"username": self.name, "groups": list(self.groups)}
        if self.uid:
            found["uid"] = self.uid
        if self.extra:
            found["extra"] = self.extra
        return found


ADMIN = User("kubernetes-admin", ("system:masters", "system:authenticated"), _ADMIN_UID)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def service_account_user(namespace: str, name: str, uid: str = "") -> User:
    return User(
        f"system:serviceaccount:{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
        uid,
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Tokens:
    """Issues and checks ServiceAccount tokens for one cluster."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def _key(self) -> bytes:
        stored = self.cluster.store.get("secrets", _KEY_NAMESPACE, _KEY_SECRET)
        key = as_map(stored.get("data") if stored else None).get("key")
        if key:
            return base64.b64decode(str(key))
        fresh = secrets.token_bytes(32)
        secret: Obj = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": _KEY_SECRET,
                "namespace": _KEY_NAMESPACE,
                "uid": new_uid(),
                "creationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
            "type": "Opaque",
            "data": {"key": base64.b64encode(fresh).decode()},
        }
        self.cluster.store.add("secrets", secret)
        return fresh

    def issue(
        self, account: Obj, *, audiences: list[str], seconds: int, now: float | None = None
    ) -> tuple[str, int]:
        """A token for ``account`` (a ServiceAccount) and when it expires (epoch seconds)."""
        issued = int(now if now is not None else time.time())
        expires = issued + seconds
        namespace = str(metadata(account).get("namespace"))
        name = str(metadata(account).get("name"))
        claims = {
            "aud": audiences,
            "exp": expires,
            "iat": issued,
            "nbf": issued,
            "iss": ISSUER,
            "jti": new_uid(),
            "sub": f"system:serviceaccount:{namespace}:{name}",
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": {"name": name, "uid": uid_of(account)},
            },
        }
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._key(), f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{_b64(signature)}", expires

    def review(self, token: str, audiences: list[str] | None = None) -> tuple[User, list[str]]:
        """The user a token authenticates and its audiences; ``unauthorized()`` otherwise."""
        try:
            header, body, signature = token.split(".")
            expected = hmac.new(self._key(), f"{header}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(signature)):
                raise unauthorized()
            claims = json.loads(_unb64(body))
            bound = claims["kubernetes.io"]
            namespace, name = str(bound["namespace"]), str(bound["serviceaccount"]["name"])
            uid = str(bound["serviceaccount"]["uid"])
            granted = [str(a) for a in claims.get("aud") or []]
            expired = int(claims["exp"]) <= time.time()
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise unauthorized() from None
        account = self.cluster.store.get("serviceaccounts", namespace, name)
        if expired or account is None or uid_of(account) != uid:
            raise unauthorized()
        if audiences and not set(audiences) & set(granted):
            raise unauthorized()
        return service_account_user(namespace, name, uid), granted


def authenticate(tokens: Tokens, authorization: str | None) -> User:
    """The caller of a request with this ``Authorization`` header."""
    if not authorization:
        return ADMIN
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise unauthorized()
    user, _ = tokens.review(credential.strip())
    return user
