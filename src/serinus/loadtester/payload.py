"""The webhook payload the load tester receives, parsed and checked.

Flagger posts ``{"name", "namespace", "phase", "checksum", "metadata": {...}}`` to every webhook,
with ``metadata`` copied from the Canary's ``webhooks[].metadata`` (a map of strings). The routes in
:mod:`serinus.loadtester.app` parse every body through :func:`parse_payload`, so a bad body is
refused in one place with a text that names the field, what was expected and what was found.

:class:`PayloadError` is not part of the operator's error tree on purpose: it never leaves the load
tester's HTTP boundary, where it becomes a 400 response.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

# Go's strconv.ParseBool spellings, which Flagger uses for logCmdOutput and returnCmdOutput.
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


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
        """``name.namespace``, the key Flagger's logs and the gates use."""
        return f"{self.name}.{self.namespace}"

    def flag(self, key: str) -> bool:
        """A boolean metadata entry such as ``logCmdOutput``; absent means false."""
        value = self.metadata.get(key)
        if value is None or value in _FALSE:
            return False
        if value in _TRUE:
            return True
        raise PayloadError(f'metadata.{key}: expected "true" or "false", got {value!r}')


def parse_payload(body: bytes) -> Payload:
    """Decode and check a webhook body. Missing ``metadata`` is fine here (gates need none)."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PayloadError(f"payload is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise PayloadError(f"payload: expected a JSON object, got {_kind(document)}")
    return Payload(
        name=_required_text(document, "name"),
        namespace=_required_text(document, "namespace"),
        phase=_optional_text(document, "phase"),
        checksum=_optional_text(document, "checksum"),
        metadata=_metadata(document.get("metadata")),
    )


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
            raise PayloadError(f"metadata.{key}: expected a string, got {_shown(item)}")
    return dict(value)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return repr(value)
    return f"{_kind(value)} {json.dumps(value)}"
