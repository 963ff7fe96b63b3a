"""HMAC signatures on webhook requests: how serinus signs them and how a receiver checks them.

Both sides live here so they cannot drift apart: :mod:`serinus.webhooks.client` signs every request
of a hook with ``signingSecretRef``, and ``serinus loadtester --signing-secret`` verifies them. A
signed request carries four headers (every retry too):

* ``X-Serinus-Timestamp``: the Unix time of the attempt, in whole seconds;
* ``X-Serinus-Webhook-Type``: the hook's type (``rollout``, ``confirm-promotion``, ``event``, ...);
* ``X-Serinus-Webhook-URL``: the URL the request was sent to, without any ``user:password@``;
* ``X-Serinus-Signature``: ``sha256=`` and the lowercase hex HMAC-SHA256, keyed with the shared
  secret (UTF-8), of :func:`signed_material`: the timestamp, the type and the URL, each followed by
  a newline, then the exact body bytes.

Signing the type and the URL with the body means a request signed for one hook cannot be replayed
to another hook of the same Canary (a ``rollout`` body sent again to a ``rollback`` URL): the
receiver checks that the signed URL is the one it was called on. The timestamp bounds replays of
the very same request to a short window. Newlines cannot occur in a timestamp, a type or a URL, so
the material has one reading only. ``docs/webhooks.md`` shows a receiver; :func:`verify` is the
load tester's. Nothing here does I/O.

The key must come from a Secret labelled :data:`SIGNING_LABEL` ``: "true"`` (in the Canary's
namespace). Otherwise anyone who may create a Canary could name any Secret of the namespace (a
database password, say) and have the operator sign bodies with it towards an address of their
choosing: an offline guessing oracle for Secrets they may not read. The label is the Secret
owner's consent that its value serves as a signing key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Serinus-Signature"
TIMESTAMP_HEADER = "X-Serinus-Timestamp"
TYPE_HEADER = "X-Serinus-Webhook-Type"
URL_HEADER = "X-Serinus-Webhook-URL"
DEFAULT_SECRET_KEY = "key"
SIGNING_LABEL = "serinus.io/signing"
"""The label (value ``"true"``) a Secret needs before serinus signs webhook requests with it."""
DEFAULT_MAX_AGE_SECONDS = 300
"""How far a signed timestamp may be from the receiver's clock (either way) by default."""

_PREFIX = "sha256="
_MAX_HEADER = 2048
"""Longest header value a verifier looks at; longer ones are refused unread."""


def signed_url(url: str) -> str:
    """``url`` without userinfo: what the signature covers and the URL header says."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit(parts._replace(netloc=host))


def signed_material(body: bytes, *, timestamp: int, hook_type: str, url: str) -> bytes:
    """The bytes the HMAC covers: ``<timestamp>\\n<type>\\n<url>\\n<body>``."""
    header = f"{timestamp}\n{hook_type}\n{signed_url(url)}\n"
    return header.encode("utf-8") + body


def signature(body: bytes, *, key: bytes, timestamp: int, hook_type: str, url: str) -> str:
    """``sha256=<hex>`` for a body sent to ``url`` by a hook of ``hook_type`` at ``timestamp``."""
    material = signed_material(body, timestamp=timestamp, hook_type=hook_type, url=url)
    return _PREFIX + hmac.new(key, material, hashlib.sha256).hexdigest()


def signature_headers(
    body: bytes, *, key: bytes, timestamp: int, hook_type: str, url: str
) -> dict[str, str]:
    """The four headers a signed request carries."""
    return {
        TIMESTAMP_HEADER: str(timestamp),
        TYPE_HEADER: hook_type,
        URL_HEADER: signed_url(url),
        SIGNATURE_HEADER: signature(
            body, key=key, timestamp=timestamp, hook_type=hook_type, url=url
        ),
    }


@dataclasses.dataclass(frozen=True)
class Verified:
    """What a valid signature vouches for."""

    hook_type: str
    url: str
    timestamp: int


class SignatureError(ValueError):
    """The request is not signed by the holder of the key; the message says what was wrong."""


def verify(
    body: bytes,
    headers: Mapping[str, str],
    *,
    key: bytes,
    now: float,
    path: str,
    max_age: float = DEFAULT_MAX_AGE_SECONDS,
) -> Verified:
    """Check a received request; return what it was signed for or raise :class:`SignatureError`.

    ``path`` is the path the request arrived on: the signed URL must name the same path (and
    query), so a request signed for one hook is refused at another. The messages name the header
    at fault and never echo a value.
    """
    values = {}
    for name in (TIMESTAMP_HEADER, TYPE_HEADER, URL_HEADER, SIGNATURE_HEADER):
        value = headers.get(name)
        if not value:
            raise SignatureError(f"missing {name} header (signed requests are required)")
        if len(value) > _MAX_HEADER or "\n" in value:
            raise SignatureError(f"{name} header is not valid")
        values[name] = value
    stamp = values[TIMESTAMP_HEADER]
    if not stamp.isascii() or not stamp.isdigit():
        raise SignatureError(f"{TIMESTAMP_HEADER} header: expected Unix seconds")
    timestamp = int(stamp)
    expected = signature(
        body, key=key, timestamp=timestamp, hook_type=values[TYPE_HEADER], url=values[URL_HEADER]
    )
    if not hmac.compare_digest(expected.encode(), values[SIGNATURE_HEADER].encode("utf-8")):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the request")
    if abs(now - timestamp) > max_age:
        raise SignatureError(
            f"{TIMESTAMP_HEADER} is {int(now - timestamp)}s from this receiver's clock "
            f"(at most {int(max_age)}s allowed): stale or replayed"
        )
    if _path_of(values[URL_HEADER]) != path:
        raise SignatureError(f"{URL_HEADER}: signed for another URL, not for this one")
    return Verified(hook_type=values[TYPE_HEADER], url=values[URL_HEADER], timestamp=timestamp)


def _path_of(url: str) -> str:
    """The path and query a request for ``url`` arrives on (``/`` for an empty path)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path
