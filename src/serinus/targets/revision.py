"""The pod template hash that identifies a release of the target (``lastAppliedSpec``).

The controller starts a run when this hash differs from both ``lastAppliedSpec`` and
``lastPromotedSpec`` (:mod:`serinus.controller.revision`), so it must be deterministic: the same
template always gives the same string, on any machine and Python version, and any change to the
template (image, env, resources, a ``kubectl rollout restart`` annotation) gives another.

The algorithm, in the spirit of Flagger's ``ComputeHash`` (FNV-32a over a deep dump of the
template, encoded with Kubernetes' ``SafeEncodeString``), but not bit-compatible with it:

1. serialize the template as canonical JSON: keys sorted, no whitespace
   (``separators=(",", ":")``), non-ASCII characters kept as UTF-8 (``ensure_ascii=False``);
2. hash those UTF-8 bytes with 32-bit FNV-1a (offset basis ``0x811C9DC5``, prime ``0x01000193``:
   for each byte, XOR it in, then multiply by the prime modulo 2**32);
3. write the hash in decimal and map each digit character ``c`` to
   ``"bcdfghjklmnpqrstvwxz2456789"[ord(c) % 27]`` (no vowels, so no accidental words).

Changing this algorithm makes every Canary see a new revision once after an upgrade (as
Flagger's own switch to FNV did), so it is fixed here and covered by a test with known values.

FNV-1a is a byte-by-byte loop, slow in Python (about 0.1 ms for a 1 KB template), and every tick
of every Canary hashes its target's template, which rarely changes. So the last
:data:`REMEMBERED` results are kept, keyed by a BLAKE2b digest of the canonical bytes (16 bytes,
computed in C): a template reads the same string as without the memory, at the cost of a digest.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
REMEMBERED = 16_384
"""Template hashes kept (about 200 bytes each): every Canary's target at N = 10,000."""


def fnv32a(data: bytes) -> int:
    """The 32-bit FNV-1a hash of ``data``."""
    value = _FNV_OFFSET
    for byte in data:
        value ^= byte
        value = (value * _FNV_PRIME) & 0xFFFFFFFF
    return value


def safe_encode(text: str) -> str:
    """Kubernetes' ``SafeEncodeString``: each character mapped into a vowel-free alphabet."""
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in text)


def canonical_json(value: Any) -> bytes:
    """``value`` as compact JSON with sorted keys, UTF-8 encoded."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def template_hash(template: Any) -> str:
    """The hash of a pod template, as written to ``lastAppliedSpec``."""
    data = canonical_json(template)
    digest = hashlib.blake2b(data, digest_size=16).digest()
    found = _remembered.get(digest)
    if found is None:
        found = safe_encode(str(fnv32a(data)))
        if len(_remembered) >= REMEMBERED:  # the oldest goes
            del _remembered[next(iter(_remembered))]
        _remembered[digest] = found
    return found


_remembered: dict[bytes, str] = {}
