"""A CRD's structural schema compiled once into nodes, for the walk every write of a custom
resource makes (:mod:`serinus.sandbox.apiserver.pruning`).

``schema.apply_schema`` prunes, defaults and validates a whole object on every write (a status
write too: the real server validates the whole object). Reading the raw ``openAPIV3Schema`` on
every visit cost most of a Canary write (each object node looped over every declared property to
find defaults, each leaf asked the schema a dozen questions), so each schema node is compiled into
a :class:`Node` holding the answers: child nodes, defaults, required keys, bounds, a compiled
pattern, and whether a leaf needs any check beyond its type.

A schema is compiled the first time it is used and kept while it is; it must not change in place
afterwards (the server never changes a stored CRD's schema: a CRD update brings new objects).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from serinus.sandbox.apiserver.objects import Obj

ROOT_KEEP = ("apiVersion", "kind", "metadata")


def is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_array(value: Any) -> bool:
    return isinstance(value, list)


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int_or_string(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


_CHECKS: dict[str, Callable[[Any], bool]] = {
    "object": is_object,
    "string": _is_string,
    "array": _is_array,
    "boolean": _is_boolean,
    "integer": _is_integer,
    "number": _is_number,
}


def _bound(schema: Obj, key: str) -> int | None:
    value = schema.get(key)
    return value if isinstance(value, int) else None


def _number(schema: Obj, key: str) -> float | None:
    value = schema.get(key)
    return value if isinstance(value, int | float) else None


class Node:
    """One schema node with the answers the walk needs, computed once."""

    __slots__ = (
        "defaults",
        "embedded",
        "enum",
        "exclusive_maximum",
        "exclusive_minimum",
        "extra",
        "extra_nullable",
        "int_or_string",
        "is_type",
        "items",
        "keep_unknown",
        "list_set",
        "max_count",
        "max_length",
        "maximum",
        "min_count",
        "min_length",
        "minimum",
        "nullable",
        "pattern",
        "pattern_text",
        "plain",
        "properties",
        "required",
        "wanted",
    )

    def __init__(self, schema: Obj) -> None:
        wanted = schema.get("type")
        self.int_or_string = bool(schema.get("x-kubernetes-int-or-string"))
        self.wanted: Any = wanted
        check: Callable[[Any], bool] | None
        if self.int_or_string:
            check = _is_int_or_string
        elif wanted is None:
            check = None
        else:
            check = _CHECKS.get(str(wanted))
        self.is_type = check
        self.enum: Any = schema.get("enum")
        raw: Obj = schema.get("properties") or {}
        self.properties = {key: Node(child) for key, child in raw.items()}
        self.nullable = frozenset(
            key for key, child in raw.items() if isinstance(child, dict) and child.get("nullable")
        )
        extra = schema.get("additionalProperties")
        self.extra = Node(extra) if isinstance(extra, dict) else None
        self.extra_nullable = isinstance(extra, dict) and bool(extra.get("nullable"))
        self.keep_unknown = bool(schema.get("x-kubernetes-preserve-unknown-fields")) or (
            extra is True
        )
        self.embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        self.defaults = tuple(
            (key, child["default"])
            for key, child in raw.items()
            if isinstance(child, dict) and "default" in child
        )
        self.required = tuple(schema.get("required") or ())
        items = schema.get("items")
        self.items = Node(items) if isinstance(items, dict) else None
        self.list_set = schema.get("x-kubernetes-list-type") == "set"
        self._counts(schema)
        self._scalars(schema)
        self.plain = (
            self.enum is None
            and self.min_length is None
            and self.max_length is None
            and self.pattern_text is None
            and self.minimum is None
            and self.maximum is None
        )
        """A scalar here needs no check but its type."""

    def _counts(self, schema: Obj) -> None:
        """Bounds on a mapping's properties and a list's items (index 0 and 1)."""
        self.min_count = (_bound(schema, "minProperties"), _bound(schema, "minItems"))
        self.max_count = (_bound(schema, "maxProperties"), _bound(schema, "maxItems"))

    def _scalars(self, schema: Obj) -> None:
        self.min_length = _bound(schema, "minLength")
        self.max_length = _bound(schema, "maxLength")
        pattern = schema.get("pattern")
        self.pattern_text = pattern if isinstance(pattern, str) else None
        self.pattern: re.Pattern[str] | None = None
        if self.pattern_text is not None:
            try:
                self.pattern = re.compile(self.pattern_text)
            except re.error:
                self.pattern = None  # searched at walk time, failing as it always did
        self.minimum = _number(schema, "minimum")
        self.maximum = _number(schema, "maximum")
        self.exclusive_minimum = bool(schema.get("exclusiveMinimum"))
        self.exclusive_maximum = bool(schema.get("exclusiveMaximum"))


_COMPILED: dict[int, tuple[Obj, Node]] = {}
_COMPILED_KEPT = 256


def compiled(schema: Obj) -> Node:
    """The root node for a whole custom resource under ``schema`` (``apiVersion``, ``kind`` and
    ``metadata`` kept as they are), compiled on first use."""
    found = _COMPILED.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    root = dict(schema)
    properties = dict(root.get("properties") or {})
    for key in ROOT_KEEP:
        properties.setdefault(key, {"x-kubernetes-preserve-unknown-fields": True})
    properties["metadata"] = {"x-kubernetes-preserve-unknown-fields": True}
    root["properties"] = properties
    root.setdefault("type", "object")
    node = Node(root)
    if len(_COMPILED) >= _COMPILED_KEPT:
        _COMPILED.clear()
    _COMPILED[id(schema)] = (schema, node)
    return node
