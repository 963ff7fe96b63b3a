"""HMAC signatures on webhook requests, so a receiver can tell serinus from anyone else.

A hook with ``signingSecretRef`` gets two headers on every request (every retry too):

* ``X-Serinus-Timestamp``: the Unix time of the attempt, in whole seconds;
* ``X-Serinus-Signature``: ``sha256=`` followed by the lowercase hex HMAC-SHA256, keyed with the
  Secret's value (UTF-8), of the ASCII timestamp, a dot, and the exact body bytes.

Signing the timestamp with the body lets a receiver refuse a replayed request: it recomputes the
HMAC over ``<timestamp>.<body>``, compares in constant time, and rejects timestamps too far from
its own clock. ``docs/webhooks.md`` shows a receiver. :mod:`serinus.webhooks.client` reads the
Secret and calls :func:`signature_headers`; nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Serinus-Signature"
TIMESTAMP_HEADER = "X-Serinus-Timestamp"
DEFAULT_SECRET_KEY = "key"


def signed_material(body: bytes, *, timestamp: int) -> bytes:
    """The bytes the HMAC covers: ``<timestamp>.<body>``."""
    return str(timestamp).encode("ascii") + b"." + body


def signature(body: bytes, *, key: bytes, timestamp: int) -> str:
    """``sha256=<hex>`` for a body sent at ``timestamp`` (Unix seconds)."""
    digest = hmac.new(key, signed_material(body, timestamp=timestamp), hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signature_headers(body: bytes, *, key: bytes, timestamp: int) -> dict[str, str]:
    """The two headers a signed request carries."""
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(body, key=key, timestamp=timestamp),
    }
