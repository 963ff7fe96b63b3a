"""The JSON a webhook receives, byte for byte as Flagger sends it, and the revision checksum.

:class:`serinus.webhooks.client.WebhookClient` builds every request body here. Receivers written
for Flagger (the load tester, gate services, chat bridges, signature checkers that hash the raw
body) must not see a difference, so the body is encoded the way Go's ``encoding/json`` encodes
Flagger's ``CanaryWebhookPayload``: the keys ``name``, ``namespace``, ``phase``, ``checksum``,
``metadata`` in that order, ``metadata`` left out when empty and sorted by key, no spaces, UTF-8
as is, and ``<``, ``>``, ``&``, U+2028 and U+2029 escaped as ``\\u003c``-style sequences.

The ``checksum`` identifies the revision under analysis, so a receiver can tell two runs apart.
Flagger computes it with Kubernetes' ``ComputeHash``: the struct ``{TrackedConfigs *map[string]
string; LastAppliedSpec string}`` taken from the status is printed with go-spew's ``%#v`` (sorted
map keys, types shown, no pointer addresses), hashed with 32-bit FNV-1a, and the decimal digits of
the hash are mapped onto the alphabet ``bcdfghjklmnpqrstvwxz2456789`` (``SafeEncodeString``).
:func:`canary_checksum` rebuilds that exact text; the tests hold known answers computed with Go.
"""

from __future__ import annotations

import json

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase, CanaryStatus
from serinus.ports import EventType

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV32_OFFSET = 2166136261
_FNV32_PRIME = 16777619
_STRUCT_TYPE = "struct { TrackedConfigs *map[string]string; LastAppliedSpec string }"

# What Go's encoder escapes inside strings beyond what Python's json module does.
_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def canary_checksum(status: CanaryStatus | None) -> str:
    """Flagger's checksum of ``status.trackedConfigs`` and ``status.lastAppliedSpec``."""
    tracked = status.tracked_configs if status is not None else None
    spec = (status.last_applied_spec or "") if status is not None else ""
    if tracked is None:
        configs = "<nil>"
    else:
        ordered = sorted(tracked.items(), key=lambda item: item[0].encode())
        configs = "map[" + " ".join(f"{key}:{value}" for key, value in ordered) + "]"
    text = (
        f"({_STRUCT_TYPE}){{TrackedConfigs:(*map[string]string){configs} "
        f"LastAppliedSpec:(string){spec}}}"
    )
    return _safe_encode(str(_fnv1a32(text.encode())))


def hook_payload(
    canary: Canary, phase: CanaryPhase | str, metadata: dict[str, str] | None
) -> bytes:
    """The body of a call to a hook of any type but ``event``."""
    return encode_go_json(_payload(canary, phase, dict(metadata or {})))


def event_payload(
    canary: Canary,
    *,
    message: str,
    event_type: EventType,
    timestamp_ms: int,
    metadata: dict[str, str] | None,
) -> bytes:
    """The body sent to an ``event`` hook: the event's text, type and time, then the hook's
    own metadata for the keys the event does not use (as Flagger merges them)."""
    merged = {"eventMessage": message, "eventType": event_type, "timestamp": str(timestamp_ms)}
    for key, value in (metadata or {}).items():
        merged.setdefault(key, value)
    phase = canary.status.phase if canary.status is not None and canary.status.phase else ""
    return encode_go_json(_payload(canary, phase, merged))


def encode_go_json(document: Manifest) -> bytes:
    """Compact JSON as Go's ``json.Marshal`` writes it (key order is the caller's)."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return text.translate(_GO_ESCAPES).encode("utf-8", errors="replace")


def _payload(canary: Canary, phase: CanaryPhase | str, metadata: dict[str, str]) -> Manifest:
    document: Manifest = {
        "name": canary.name,
        "namespace": canary.namespace,
        "phase": str(phase),
        "checksum": canary_checksum(canary.status),
    }
    if metadata:
        document["metadata"] = {key: metadata[key] for key in sorted(metadata, key=str.encode)}
    return document


def _fnv1a32(data: bytes) -> int:
    value = _FNV32_OFFSET
    for byte in data:
        value = ((value ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return value


def _safe_encode(digits: str) -> str:
    return "".join(_SAFE_ALPHABET[ord(char) % len(_SAFE_ALPHABET)] for char in digits)
