"""Field sets of managedFields computed by walking trees side by side, for every write.

``ownership`` records each non-apply write: which leaf fields of the new object are new or
changed, and which fields of every manager's ``fieldsV1`` still exist. Done path by path (every
leaf's path built, then looked up again from the object's root, ``k:`` keys parsed anew each
time) this was a fifth of a status write's cost. Here the object and its old version, or a
``fieldsV1`` tree and the object, are walked together once, and equal parts are skipped whole.
The results are the same sets ``apply.fields_of`` and ``apply.lookup`` give (paths of list items
whose key repeats in the same list are looked up from the root, as before).
"""

from __future__ import annotations

import json
from typing import Any

from serinus.sandbox.apiserver.apply import (
    ListRule,
    Path,
    dump,
    fields_of,
    item_key,
    lookup,
    owned_top,
)
from serinus.sandbox.apiserver.objects import Obj

_ABSENT: Any = object()


def changed(old: Obj | None, new: Obj, rule: ListRule) -> set[Path]:
    """``apply.fields_of(new)``'s paths that ``old`` lacks or holds another value at."""
    out: set[Path] = set()
    if old is None:
        return fields_of(new, rule)
    for key, value in owned_top(new):
        if key == "metadata" and isinstance(value, dict):
            before = old.get(key, _ABSENT)
            if isinstance(before, dict):  # compared field by field: server fields left out
                for name, child in value.items():
                    path, names = ("f:metadata", f"f:{name}"), ("metadata", name)
                    _changed(child, before.get(name, _ABSENT), path, names, rule, out)
                continue
        _changed(value, old.get(key, _ABSENT), (f"f:{key}",), (key,), rule, out)
    return out


def _changed(
    value: Any, before: Any, path: Path, names: tuple[str, ...], rule: ListRule, out: set[Path]
) -> None:
    """Paths under ``path`` (``value`` in the new object, ``before`` in the old, or absent)."""
    if before is not _ABSENT and type(before) is type(value) and before == value:
        return  # every path under here is found in the old object with the same value
    if isinstance(value, dict) and value:
        old = before if isinstance(before, dict) else None
        for key, child in value.items():
            below = old.get(key, _ABSENT) if old is not None else _ABSENT
            _changed(child, below, (*path, f"f:{key}"), (*names, key), rule, out)
        return
    if isinstance(value, list):
        kind = rule(names, value)
        old_list = before if isinstance(before, list) else None
        if kind == "set":
            for item in value:
                text = dump(item)
                if old_list is None or json.loads(text) not in old_list:
                    out.add((*path, f"v:{text}"))
            return
        if kind is not None and all(isinstance(item, dict) for item in value):
            for item in value:
                _changed_item(item, value, old_list, kind, path, names, rule, out)
            return
    if before is _ABSENT or before != value:
        out.add(path)


def _changed_item(
    item: Obj,
    items: list[Any],
    old_items: list[Any] | None,
    keys: tuple[str, ...],
    path: Path,
    names: tuple[str, ...],
    rule: ListRule,
    out: set[Path],
) -> None:
    """One item of a keyed list: its own path, then its fields, against the old item with the
    same key (the first one, as ``lookup`` finds it)."""
    key = item_key(item, keys)
    item_path = (*path, key)
    wanted = json.loads(key[2:])
    if _first(items, wanted) is not item:  # its key repeats: looked up as before
        collected: set[Path] = set()
        for name, child in item.items():
            _collect_all(child, (*item_path, f"f:{name}"), (*names, name), rule, collected)
        collected.add(item_path)
        new = {"": items}
        old = {"": old_items} if old_items is not None else {}
        for found in collected:
            rooted = ("f:", *found[len(path) :])
            present, was = lookup(old, rooted)
            if not present or was != lookup(new, rooted)[1]:
                out.add(found)
        return
    before = _first(old_items, wanted) if old_items is not None else None
    if before is None:
        before = _ABSENT
    if before is _ABSENT or before != item:
        out.add(item_path)
    else:
        return
    for name, child in item.items():
        below = before.get(name, _ABSENT) if before is not _ABSENT else _ABSENT
        _changed(child, below, (*item_path, f"f:{name}"), (*names, name), rule, out)


def _first(items: list[Any], wanted: Obj) -> Obj | None:
    for candidate in items:
        if isinstance(candidate, dict) and all(
            candidate.get(key) == value for key, value in wanted.items()
        ):
            return candidate
    return None


def _collect_all(
    value: Any, path: Path, names: tuple[str, ...], rule: ListRule, out: set[Path]
) -> None:
    """Every path of ``value`` (``apply``'s collection, for an item looked up from the root)."""
    _changed(value, _ABSENT, path, names, rule, out)


def present(tree: Any, obj: Obj) -> tuple[set[Path], bool]:
    """The paths of a ``fieldsV1`` tree that exist in ``obj`` (``apply.from_fields_v1``'s paths
    kept by ``apply.lookup``), and whether that is all of them."""
    found: set[Path] = set()
    if not isinstance(tree, dict):
        return found, True
    missing = _present(tree, obj, (), found)
    return found, missing == 0


def _present(tree: Obj, current: Any, prefix: Path, found: set[Path]) -> int:
    """Adds the existing paths under ``prefix`` (``current`` is the value there, or absent);
    returns how many paths were missing."""
    missing = 0
    for key, child in tree.items():
        if key == ".":
            if current is _ABSENT:
                missing += 1
            else:
                found.add(prefix)
            continue
        below = _step(current, key) if current is not _ABSENT else _ABSENT
        if isinstance(child, dict) and child:
            missing += _present(child, below, (*prefix, key), found)
        elif below is _ABSENT:
            missing += 1
        else:
            found.add((*prefix, key))
    return missing


_PARSED: dict[str, Any] = {}
_PARSED_KEPT = 4096


def _parsed(text: str) -> Any:
    """A ``k:`` or ``v:`` part's JSON, parsed once (parts repeat write after write)."""
    found = _PARSED.get(text, _ABSENT)
    if found is _ABSENT:
        found = json.loads(text)
        if len(_PARSED) >= _PARSED_KEPT:
            _PARSED.clear()
        _PARSED[text] = found
    return found


def _step(current: Any, part: str) -> Any:
    """``apply.lookup``'s step through one part, or absent."""
    kind, _, name = part.partition(":")
    if kind == "f" and isinstance(current, dict) and name in current:
        return current[name]
    if kind == "k" and isinstance(current, list):
        match = _first(current, _parsed(name))
        return _ABSENT if match is None else match
    if kind == "v" and isinstance(current, list):
        value = _parsed(name)
        return value if value in current else _ABSENT
    return _ABSENT
