"""A CRD's structural schema applied to custom resources: prune, default, validate.

The real server does three things with ``openAPIV3Schema`` on every write, and users notice each:
fields the schema does not declare are dropped (and, with ``fieldValidation=Strict`` as kubectl
sends it, refused: a typo such as ``stepWeigth`` fails the apply instead of vanishing); ``default``
values are filled in; and types, ``enum``, ``required``, bounds, lengths and ``pattern`` are
checked, failing with 422 Invalid and a message naming the field. ``x-kubernetes-preserve-unknown-
fields``, ``x-kubernetes-int-or-string``, ``x-kubernetes-embedded-resource``, ``nullable`` and
``additionalProperties`` are honoured. CEL rules (``x-kubernetes-validations``) are not evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from serinus.sandbox.apiserver import pruning, schemanodes
from serinus.sandbox.apiserver.objects import Obj, copy_value
from serinus.sandbox.apiserver.status import Cause


@dataclass
class Outcome:
    """The object after pruning and defaulting, with what was pruned and what is invalid."""

    obj: Obj
    unknown: list[str] = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)


def apply_schema(
    schema: Obj, obj: Obj, *, in_place: bool = False, shared: frozenset[str] = frozenset()
) -> Outcome:
    """Prune, default and validate ``obj`` (a whole custom resource) against ``schema``; a copy
    of it unless ``in_place`` (a write's own object, whose top-level values named in ``shared``
    may be a stored object's: those are copied before anything in them changes). The walk is
    ``pruning``'s, over the schema compiled once."""
    result = obj if in_place else copy_value(obj)
    outcome = Outcome(result)
    sink = pruning.Sink(outcome.unknown, outcome.causes)
    pruning.walk_root(result, schemanodes.compiled(schema), sink, shared)
    return outcome


def schema_at(schema: Obj, names: tuple[str, ...]) -> Obj | None:
    """The sub-schema for a path of field names (list items are stepped through)."""
    node: Obj = schema
    for name in names:
        while node.get("type") == "array" and isinstance(node.get("items"), dict):
            node = node["items"]
        properties = node.get("properties") or {}
        if name in properties:
            node = properties[name]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    return node


def list_kind(
    schema: Obj | None, names: tuple[str, ...]
) -> tuple[str, ...] | Literal["set"] | None:
    """How server-side apply merges the list at ``names``: map keys, a set, or atomic (None)."""
    node = schema_at(schema, names) if schema else None
    if node is None:
        return None
    if node.get("x-kubernetes-list-type") == "set":
        return "set"
    keys = node.get("x-kubernetes-list-map-keys")
    if node.get("x-kubernetes-list-type") == "map" and isinstance(keys, list) and keys:
        return tuple(str(key) for key in keys)
    return None


_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean"})
_NUMBERS = (
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
)


def check_schema(node: Any, path: str) -> list[Cause]:
    """Shape problems of an ``openAPIV3Schema`` (what the walker above relies on)."""
    if not isinstance(node, dict):
        return [Cause(path, "FieldValueInvalid", "Invalid value: must be an object")]
    causes = []
    if "type" in node and not (isinstance(node["type"], str) and node["type"] in _TYPES):
        causes.append(
            Cause(
                f"{path}.type",
                "FieldValueNotSupported",
                f"Unsupported value: {pruning.show(node['type'])}: supported values: "
                + ", ".join(f'"{t}"' for t in sorted(_TYPES)),
            )
        )
    properties = node.get("properties", {})
    if not isinstance(properties, dict):
        causes.append(
            Cause(f"{path}.properties", "FieldValueInvalid", "Invalid value: must be an object")
        )
    else:
        for key, child in properties.items():
            causes += check_schema(child, f"{path}.properties[{key}]")
    for key in ("items", "additionalProperties"):
        child = node.get(key)
        if child is not None and not (key == "additionalProperties" and isinstance(child, bool)):
            causes += check_schema(child, f"{path}.{key}")
    for key, kind in (("required", str), ("enum", object), ("x-kubernetes-list-map-keys", str)):
        listed = node.get(key, [])
        if not isinstance(listed, list) or not all(isinstance(v, kind) for v in listed):
            causes.append(
                Cause(f"{path}.{key}", "FieldValueInvalid", "Invalid value: must be a list")
            )
    for key in _NUMBERS:
        if key in node and (isinstance(node[key], bool) or not isinstance(node[key], int | float)):
            causes.append(
                Cause(f"{path}.{key}", "FieldValueInvalid", "Invalid value: must be a number")
            )
    pattern = node.get("pattern")
    if pattern is not None:
        try:
            re.compile(str(pattern))
        except re.error as error:
            causes.append(
                Cause(
                    f"{path}.pattern",
                    "FieldValueInvalid",
                    f"Invalid value: {pruning.show(pattern)}: {error}",
                )
            )
    return causes
