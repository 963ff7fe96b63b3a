"""The walk every write of a custom resource makes: prune, default and check an object against
its CRD's schema compiled once (:mod:`serinus.sandbox.apiserver.schemanodes`).

``schema.apply_schema`` runs it on every write. It drops the fields the schema does not declare
(reporting their paths), fills in defaults, and reports each invalid value as a :class:`Cause` of
the 422 (``schema`` says which checks the server makes). The walk reads only the answers each
:class:`~serinus.sandbox.apiserver.schemanodes.Node` holds, never the raw schema. A status write
shares the stored object's other values: :func:`walk_root` walks them without a change first,
copies them only when something must change, and remembers a value found conforming so that a later
write sharing it unchanged skips it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from serinus.sandbox.apiserver.objects import Obj, copy_value
from serinus.sandbox.apiserver.schemanodes import ROOT_KEEP, Node, is_object
from serinus.sandbox.apiserver.status import Cause


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


def walk_root(obj: Obj, node: Node, sink: Sink, shared: frozenset[str]) -> None:
    """:func:`walk` over a whole object whose top-level values named in ``shared`` are shared
    with a stored object (a status write takes everything but status from the stored version).

    The walk first changes nothing: an object that needs no pruning or default (the usual
    write) is then done, and its shared values are remembered as conforming (a later write
    sharing the very same value, unchanged since it is stored, skips it: walking it would find
    nothing again). One that needs a change anywhere gets copies of its shared values, then the
    walk runs again and changes what it must."""
    if shared and node.enum is None and node.is_type in (None, is_object):
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
