"""The webhook payload the load tester receives, parsed and checked.

Flagger posts ``{"name", "namespace", "phase", "checksum", "metadata": {...}}`` to every webhook,
with ``metadata`` copied from the Canary's ``webhooks[].metadata`` (a map of strings). The routes in
:mod:`serinus.loadtester.app` parse every body through :func:`parse_payload`, so a bad body is
refused in one place with a text that names the field, what was expected and what was found.

Hostile bodies are refused before they cost anything: more than :data:`MAX_BODY_BYTES` (the route
stops reading there), JSON nested deeper than :data:`MAX_DEPTH` (measured on the raw bytes, before
the decoder could recurse), a ``name`` that is not a Kubernetes object name or a ``namespace`` that
is not a namespace name (so gate keys and dedupe keys cannot be forged from odd characters). Every
text that quotes the caller's input quotes at most :data:`QUOTE_LIMIT` characters of it.

:class:`PayloadError` is not part of the operator's error tree on purpose: it never leaves the load
tester's HTTP boundary, where it becomes a 400 response.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

MAX_BODY_BYTES = 64 * 1024
"""Largest body read. Flagger's payloads are a few hundred bytes; a long ``cmd`` fits easily."""
MAX_DEPTH = 8
"""Deepest nesting of arrays and objects. A valid payload nests 2 deep."""
QUOTE_LIMIT = 64
"""Characters of the caller's input that an error text quotes at most."""

# Go's strconv.ParseBool spellings, which Flagger uses for logCmdOutput and returnCmdOutput.
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})

# Kubernetes names: a namespace is a DNS-1123 label, a Canary name a DNS-1123 subdomain.
_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_NAMESPACE = re.compile(_LABEL)
_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


class PayloadError(ValueError):
    """The request body is not a usable webhook payload; the message is the 400 response text."""


@dataclasses.dataclass(frozen=True)
class Payload:
    """One webhook call: which canary, in which phase, and the hook's metadata."""

    name: str
    namespace: str
    phase: str
    checksum: str
    metadata: Mapping[str, str]

    @property
    def canary(self) -> str:
        """``name.namespace``, how Flagger's logs name the canary."""
        return f"{self.name}.{self.namespace}"

    def flag(self, key: str) -> bool:
        """A boolean metadata entry such as ``logCmdOutput``; absent means false."""
        value = self.metadata.get(key)
        if value is None or value in _FALSE:
            return False
        if value in _TRUE:
            return True
        raise PayloadError(f'{_field(key)}: expected "true" or "false", got {quote(value)}')


def parse_payload(body: bytes) -> Payload:
    """Decode and check a webhook body. Missing ``metadata`` is fine here (gates need none)."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadError(f"payload: larger than {MAX_BODY_BYTES} bytes")
    _check_depth(body)
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PayloadError(f"payload is not JSON: {str(error)[:120]}") from None
    if not isinstance(document, dict):
        raise PayloadError(f"payload: expected a JSON object, got {_kind(document)}")
    name = _required_text(document, "name")
    namespace = _required_text(document, "namespace")
    if len(name) > 253 or not _NAME.fullmatch(name):
        raise PayloadError(f"payload.name: expected a Kubernetes object name, got {quote(name)}")
    if not _NAMESPACE.fullmatch(namespace):
        raise PayloadError(f"payload.namespace: expected a namespace name, got {quote(namespace)}")
    return Payload(
        name=name,
        namespace=namespace,
        phase=_optional_text(document, "phase"),
        checksum=_optional_text(document, "checksum"),
        metadata=_metadata(document.get("metadata")),
    )


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` quoted for an error message, cut to ``limit`` characters (the length is said)."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def _check_depth(body: bytes) -> None:
    """Refuse nesting deeper than MAX_DEPTH, counting brackets outside strings."""
    depth = 0
    for bracket in _BRACKETS.finditer(_STRINGS.sub(b'""', body)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise PayloadError(f"payload: nested deeper than {MAX_DEPTH} levels")
        else:
            depth -= 1


def _required_text(document: Mapping[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value:
        raise PayloadError(f"payload.{key}: expected a non-empty string, got {_shown(value)}")
    return value


def _optional_text(document: Mapping[str, Any], key: str) -> str:
    value = document.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"payload.{key}: expected a string, got {_shown(value)}")
    return value


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"payload.metadata: expected an object of strings, got {_kind(value)}")
    for key, item in value.items():
        if not isinstance(item, str):
            raise PayloadError(f"{_field(key)}: expected a string, got {_shown(item)}")
    return dict(value)


def _field(key: str) -> str:
    """``metadata.<key>`` for a plain key, else the key quoted (and cut)."""
    if len(key) <= QUOTE_LIMIT and key.isidentifier():
        return f"metadata.{key}"
    return f"metadata[{quote(key)}]"


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return quote(value)
    text = json.dumps(value)
    if len(text) > QUOTE_LIMIT:
        return f"{_kind(value)} of {len(text)} characters"
    return f"{_kind(value)} {text}"
