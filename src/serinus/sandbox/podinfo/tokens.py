"""HS256 JSON Web Tokens for podinfo's ``/token`` and ``/token/validate``.

podinfo issues a one-minute token for the user named in the request body (``anonymous`` when the
body is empty), with the claims ``name``, ``exp`` and ``iss: podinfo``. Flagger's acceptance tests
only check that the reply mentions "token", but the validate route is here too, so the pair
behaves like the real one. Built on ``hmac``: a dependency for 40 lines would be a poor trade.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import hmac
import json
from typing import Any

LIFETIME = datetime.timedelta(minutes=1)
ISSUER = "podinfo"


class TokenError(ValueError):
    """A token that is malformed, wrongly signed or expired."""


@dataclasses.dataclass(frozen=True)
class Token:
    token: str
    name: str
    expires_at: datetime.datetime


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, message: str) -> str:
    return _encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest())


def issue(name: str, *, secret: str, now: datetime.datetime) -> Token:
    """A token for ``name`` that expires one minute after ``now``."""
    expires = now + LIFETIME
    header = _encode(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"name": name, "exp": int(expires.timestamp()), "iss": ISSUER}
    payload = _encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}"
    return Token(f"{signing_input}.{_sign(secret, signing_input)}", name, expires)


def validate(token: str, *, secret: str, now: datetime.datetime) -> Token:
    """The token's claims when it is well formed, signed with ``secret`` and not expired."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("token contains an invalid number of segments")
    signing_input = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_sign(secret, signing_input), parts[2]):
        raise TokenError("signature is invalid")
    try:
        claims: Any = json.loads(_decode(parts[1]))
        expires = datetime.datetime.fromtimestamp(int(claims["exp"]), tz=datetime.UTC)
        name = str(claims["name"])
    except (ValueError, KeyError, TypeError) as error:
        raise TokenError(f"invalid claims: {error}") from None
    if expires <= now:
        raise TokenError("token is expired")
    return Token(token, name, expires)
