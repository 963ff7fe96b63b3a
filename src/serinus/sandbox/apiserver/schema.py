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

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from serinus.sandbox.apiserver.objects import Obj, copy_value
from serinus.sandbox.apiserver.status import Cause

_ROOT_KEEP = ("apiVersion", "kind", "metadata")


@dataclass
class Outcome:
    """The object after pruning and defaulting, with what was pruned and what is invalid."""

    obj: Obj
    unknown: list[str] = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)


def apply_schema(schema: Obj, obj: Obj, *, in_place: bool = False) -> Outcome:
    """Prune, default and validate ``obj`` (a whole custom resource) against ``schema``; a copy
    of it unless ``in_place`` (a write's own object)."""
    result = obj if in_place else copy_value(obj)
    outcome = Outcome(result)
    root = dict(schema)
    properties = dict(root.get("properties") or {})
    for key in _ROOT_KEEP:
        properties.setdefault(key, {"x-kubernetes-preserve-unknown-fields": True})
    properties["metadata"] = {"x-kubernetes-preserve-unknown-fields": True}
    root["properties"] = properties
    root.setdefault("type", "object")
    _walk(result, root, "", outcome)
    return outcome


def _walk(value: Any, schema: Obj, path: str, outcome: Outcome) -> None:
    if value is None:  # only kept where the schema says nullable
        return
    if not _type_ok(value, schema, path, outcome):
        return
    if isinstance(value, dict):
        _walk_object(value, schema, path, outcome)
    elif isinstance(value, list):
        _walk_array(value, schema, path, outcome)
    else:
        _check_scalar(value, schema, path, outcome)
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(_show(v) for v in schema["enum"])
        outcome.causes.append(
            Cause(
                path,
                "FieldValueNotSupported",
                f"Unsupported value: {_show(value)}: supported values: {allowed}",
            )
        )


def _type_ok(value: Any, schema: Obj, path: str, outcome: Outcome) -> bool:
    wanted = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        ok = isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
        wanted = "integer or string" if not ok else wanted
    elif wanted is None:
        return True
    else:
        ok = _is_type(value, str(wanted))
    if not ok:
        found = _type_name(value)
        outcome.causes.append(
            Cause(
                path,
                "FieldValueTypeInvalid",
                f'Invalid value: "{found}": {path} in body must be of type {wanted}: "{found}"',
            )
        )
    return ok


def _is_type(value: Any, wanted: str) -> bool:
    if wanted == "object":
        return isinstance(value, dict)
    if wanted == "string":
        return isinstance(value, str)
    if wanted == "array":
        return isinstance(value, list)
    if wanted == "boolean":
        return isinstance(value, bool)
    if wanted == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if wanted == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _walk_object(value: Obj, schema: Obj, path: str, outcome: Outcome) -> None:
    properties: Obj = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    keep_unknown = bool(schema.get("x-kubernetes-preserve-unknown-fields")) or extra is True
    embedded = bool(schema.get("x-kubernetes-embedded-resource"))
    for key in list(value):
        child_path = f"{path}.{key}" if path else key
        if value[key] is None and not _nullable(properties.get(key), extra):
            del value[key]
        elif key in properties:
            _walk(value[key], properties[key], child_path, outcome)
        elif isinstance(extra, dict):
            _walk(value[key], extra, child_path, outcome)
        elif not keep_unknown and not (embedded and key in _ROOT_KEEP):
            outcome.unknown.append(child_path)
            del value[key]
    for key, child in properties.items():
        if key not in value and isinstance(child, dict) and "default" in child:
            value[key] = copy_value(child["default"])
    for key in schema.get("required") or []:
        if key not in value:
            outcome.causes.append(
                Cause(f"{path}.{key}" if path else key, "FieldValueRequired", "Required value")
            )
    _check_count(len(value), schema, path, outcome, "Properties", "properties")


def _nullable(schema: Any, extra: Any) -> bool:
    chosen = schema if isinstance(schema, dict) else extra
    return isinstance(chosen, dict) and bool(chosen.get("nullable"))


def _walk_array(value: list[Any], schema: Obj, path: str, outcome: Outcome) -> None:
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            _walk(item, items, f"{path}[{index}]", outcome)
    _check_count(len(value), schema, path, outcome, "Items", "items")
    if schema.get("x-kubernetes-list-type") == "set":
        seen: list[Any] = []
        for index, item in enumerate(value):
            if item in seen:
                outcome.causes.append(
                    Cause(
                        f"{path}[{index}]", "FieldValueDuplicate", f"Duplicate value: {_show(item)}"
                    )
                )
            seen.append(item)


def _check_count(
    count: int, schema: Obj, path: str, outcome: Outcome, suffix: str, noun: str
) -> None:
    low, high = schema.get(f"min{suffix}"), schema.get(f"max{suffix}")
    if isinstance(high, int) and count > high:
        outcome.causes.append(
            Cause(path, "FieldValueTooMany", f"Too many: {count}: must have at most {high} {noun}")
        )
    if isinstance(low, int) and count < low:
        outcome.causes.append(
            Cause(
                path,
                "FieldValueInvalid",
                f"Invalid value: {count}: {path} in body should have at least {low} {noun}",
            )
        )


def _check_scalar(value: Any, schema: Obj, path: str, outcome: Outcome) -> None:
    problems: list[str] = []
    if isinstance(value, str):
        low, high = schema.get("minLength"), schema.get("maxLength")
        if isinstance(low, int) and len(value) < low:
            problems.append(f"should be at least {low} chars long")
        if isinstance(high, int) and len(value) > high:
            problems.append(f"may not be more than {high} bytes")
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and re.search(pattern, value) is None:
            problems.append(f"should match '{pattern}'")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        problems.extend(_bounds(value, schema))
    for problem in problems:
        outcome.causes.append(
            Cause(
                path,
                "FieldValueInvalid",
                f"Invalid value: {_show(value)}: {path} in body {problem}",
            )
        )


def _bounds(value: float, schema: Obj) -> list[str]:
    problems = []
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, int | float):
        if schema.get("exclusiveMinimum") and value <= low:
            problems.append(f"should be greater than {_show(low)}")
        elif value < low:
            problems.append(f"should be greater than or equal to {_show(low)}")
    if isinstance(high, int | float):
        if schema.get("exclusiveMaximum") and value >= high:
            problems.append(f"should be less than {_show(high)}")
        elif value > high:
            problems.append(f"should be less than or equal to {_show(high)}")
    return problems


def _show(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


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
                f"Unsupported value: {_show(node['type'])}: supported values: "
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
                    f"Invalid value: {_show(pattern)}: {error}",
                )
            )
    return causes
