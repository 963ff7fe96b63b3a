"""A CRD's structural schema compiled once, for the walk every write of a custom resource makes.

``schema.apply_schema`` prunes, defaults and validates a whole object on every write (a status
write too: the real server validates the whole object). Reading the raw ``openAPIV3Schema`` on
every visit cost most of a Canary write (each object node looped over every declared property to
find defaults, each leaf asked the schema a dozen questions), so each schema node is compiled into
a :class:`Node` holding the answers: child nodes, defaults, required keys, bounds, a compiled
pattern, and whether a leaf needs any check beyond its type. The walk over an object is then the
same as before (same pruning, defaults, causes, in the same order), minus the questions.

A schema is compiled the first time it is used and kept while it is; it must not change in place
afterwards (the server never changes a stored CRD's schema: a CRD update brings new objects).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from serinus.sandbox.apiserver.objects import Obj, copy_value
from serinus.sandbox.apiserver.status import Cause

ROOT_KEEP = ("apiVersion", "kind", "metadata")


class Sink:
    """Where a walk reports: the unknown (pruned) field paths and the causes of a 422."""

    __slots__ = ("causes", "frozen", "unknown")

    def __init__(self, unknown: list[str], causes: list[Cause], *, frozen: bool = False) -> None:
        self.unknown = unknown
        self.causes = causes
        self.frozen = frozen
        """The value walked is shared with a stored object: a change raises :class:`Shared`."""


class Shared(Exception):
    """A walk over a shared value would change it (see :func:`walk_root`)."""


def _is_object(value: Any) -> bool:
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
    "object": _is_object,
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


def walk_root(obj: Obj, node: Node, sink: Sink, shared: frozenset[str]) -> None:
    """:func:`walk` over a whole object whose top-level values named in ``shared`` are shared
    with a stored object (a status write takes everything but status from the stored version).

    The walk first changes nothing: an object that needs no pruning or default (the usual
    write) is then done, and its shared values are remembered as conforming (a later write
    sharing the very same value, unchanged since it is stored, skips it: walking it would find
    nothing again). One that needs a change anywhere gets copies of its shared values, then the
    walk runs again and changes what it must."""
    if shared and node.enum is None and node.is_type in (None, _is_object):
        properties = node.properties
        skip = frozenset(key for key in shared if _conforming(obj.get(key), properties.get(key)))
        try:
            _walk_object(obj, node, "", Sink(sink.unknown, sink.causes, frozen=True), skip)
        except Shared:
            del sink.unknown[:], sink.causes[:]
            for key in shared:
                if key in obj:
                    obj[key] = copy_value(obj[key])
        else:
            if not sink.unknown and not sink.causes:
                for key in shared - skip:
                    _remember(obj.get(key), properties.get(key))
            return
    walk(obj, node, "", sink)


_CONFORMING: dict[int, tuple[Any, Node]] = {}
"""Stored values (by identity) a walk found nothing to change or report in, with their node."""
_CONFORMING_KEPT = 16_384


def _conforming(value: Any, node: Node | None) -> bool:
    found = _CONFORMING.get(id(value))
    return node is not None and found is not None and found[0] is value and found[1] is node


def _remember(value: Any, node: Node | None) -> None:
    if node is None or not isinstance(value, dict | list):
        return
    if len(_CONFORMING) >= _CONFORMING_KEPT:
        _CONFORMING.clear()
    _CONFORMING[id(value)] = (value, node)


def walk(value: Any, node: Node, path: str, sink: Sink) -> None:
    """Prune, default and check ``value`` (in place) against ``node``; ``path`` names it."""
    if value is None:  # only kept where the schema says nullable
        return
    check = node.is_type
    if check is not None and not check(value):
        _wrong_type(value, node, path, sink)
        return
    if isinstance(value, dict):
        _walk_object(value, node, path, sink)
    elif isinstance(value, list):
        _walk_array(value, node, path, sink)
    elif not node.plain:
        _check_scalar(value, node, path, sink)
    if node.enum is not None and value not in node.enum:
        allowed = ", ".join(show(v) for v in node.enum)
        sink.causes.append(
            Cause(
                path,
                "FieldValueNotSupported",
                f"Unsupported value: {show(value)}: supported values: {allowed}",
            )
        )


def _wrong_type(value: Any, node: Node, path: str, sink: Sink) -> None:
    wanted = "integer or string" if node.int_or_string else node.wanted
    found = _type_name(value)
    sink.causes.append(
        Cause(
            path,
            "FieldValueTypeInvalid",
            f'Invalid value: "{found}": {path} in body must be of type {wanted}: "{found}"',
        )
    )


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


_SCALARS = (str, int, float, bool)


def _walk_object(
    value: Obj, node: Node, path: str, sink: Sink, skip: frozenset[str] = frozenset()
) -> None:
    properties = node.properties
    extra = node.extra
    for key in list(value):
        if key in skip:
            continue
        child = value[key]
        sub = properties.get(key)
        if child is None:
            nullable = key in node.nullable if sub is not None else node.extra_nullable
            if not nullable:
                if sink.frozen:
                    raise Shared
                del value[key]
            continue
        if sub is None:
            sub = extra
        if sub is not None:
            check = sub.is_type
            if (
                sub.plain
                and isinstance(child, _SCALARS)
                and (check is None or check(child))
                and sub.enum is None
            ):
                continue  # a leaf that only needed its type checked
            walk(child, sub, f"{path}.{key}" if path else key, sink)
        elif not node.keep_unknown and not (node.embedded and key in ROOT_KEEP):
            if sink.frozen:
                raise Shared
            sink.unknown.append(f"{path}.{key}" if path else key)
            del value[key]
    for key, default in node.defaults:
        if key not in value:
            if sink.frozen:
                raise Shared
            value[key] = copy_value(default)
    for key in node.required:
        if key not in value:
            sink.causes.append(
                Cause(f"{path}.{key}" if path else key, "FieldValueRequired", "Required value")
            )
    _check_count(len(value), node.min_count[0], node.max_count[0], path, sink, "properties")


def _walk_array(value: list[Any], node: Node, path: str, sink: Sink) -> None:
    items = node.items
    if items is not None:
        for index, item in enumerate(value):
            walk(item, items, f"{path}[{index}]", sink)
    _check_count(len(value), node.min_count[1], node.max_count[1], path, sink, "items")
    if node.list_set:
        seen: list[Any] = []
        for index, item in enumerate(value):
            if item in seen:
                sink.causes.append(
                    Cause(
                        f"{path}[{index}]", "FieldValueDuplicate", f"Duplicate value: {show(item)}"
                    )
                )
            seen.append(item)


def _check_count(
    count: int, low: int | None, high: int | None, path: str, sink: Sink, noun: str
) -> None:
    if high is not None and count > high:
        sink.causes.append(
            Cause(path, "FieldValueTooMany", f"Too many: {count}: must have at most {high} {noun}")
        )
    if low is not None and count < low:
        sink.causes.append(
            Cause(
                path,
                "FieldValueInvalid",
                f"Invalid value: {count}: {path} in body should have at least {low} {noun}",
            )
        )


def _check_scalar(value: Any, node: Node, path: str, sink: Sink) -> None:
    problems: list[str] = []
    if isinstance(value, str):
        low, high = node.min_length, node.max_length
        if low is not None and len(value) < low:
            problems.append(f"should be at least {low} chars long")
        if high is not None and len(value) > high:
            problems.append(f"may not be more than {high} bytes")
        if node.pattern_text is not None:
            found = (
                node.pattern.search(value)
                if node.pattern is not None
                else re.search(node.pattern_text, value)
            )
            if found is None:
                problems.append(f"should match '{node.pattern_text}'")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        problems.extend(_bounds(value, node))
    for problem in problems:
        sink.causes.append(
            Cause(
                path, "FieldValueInvalid", f"Invalid value: {show(value)}: {path} in body {problem}"
            )
        )


def _bounds(value: float, node: Node) -> list[str]:
    problems = []
    low, high = node.minimum, node.maximum
    if low is not None:
        if node.exclusive_minimum and value <= low:
            problems.append(f"should be greater than {show(low)}")
        elif value < low:
            problems.append(f"should be greater than or equal to {show(low)}")
    if high is not None:
        if node.exclusive_maximum and value >= high:
            problems.append(f"should be less than {show(high)}")
        elif value > high:
            problems.append(f"should be less than or equal to {show(high)}")
    return problems


def show(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


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
