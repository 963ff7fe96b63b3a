"""Server-side apply: merge an applied configuration and track which manager owns which fields.

A good approximation of the real algorithm, kept to what users notice:

* the applied configuration is merged into the live object (maps deeply, keyed lists item by item,
  other lists replaced whole);
* each ``fieldManager`` that applies owns the fields of its configuration, recorded in
  ``metadata.managedFields`` as ``FieldsV1`` (``f:spec``, ``k:{"name":"web"}``, ``v:"x"``);
* a field the manager applied before and has now left out is removed, unless another manager
  still owns it, which is how a dropped env var or label disappears;
* a field another manager owns with a different value is a 409 conflict naming that manager
  unless ``force=true``, which takes the field over; the other manager may be an applier or an
  updater (a create, PUT or non-apply patch, recorded by ``ownership``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Literal

from serinus.sandbox.apiserver.objects import Obj, copy_value, metadata, now
from serinus.sandbox.apiserver.status import ApiError

Path = tuple[str, ...]
"""A field path in FieldsV1 notation: ``("f:spec", "f:containers", 'k:{"name":"web"}')``."""

ListRule = Callable[[tuple[str, ...], list[Any]], tuple[str, ...] | Literal["set"] | None]
"""For a list at a path of field names: its item keys, ``"set"`` for scalars, None if atomic."""

SERVER_META = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
    }
)


def owned_top(obj: Obj) -> Iterator[tuple[str, Any]]:
    """The top-level fields of ``obj`` a manager can own, with their values: ``apiVersion`` and
    ``kind`` skipped, ``metadata`` without the fields the server sets (:data:`SERVER_META`), and
    skipped when nothing else is left."""
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        if key == "metadata" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in SERVER_META}
            if not value:
                continue
        yield key, value


def fields_of(config: Obj, rule: ListRule) -> set[Path]:
    """The leaf fields an applied configuration sets."""
    found: set[Path] = set()
    for key, value in owned_top(config):
        _collect(value, (f"f:{key}",), (key,), rule, found)
    return found


def _collect(
    value: Any, path: Path, names: tuple[str, ...], rule: ListRule, out: set[Path]
) -> None:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            _collect(child, (*path, f"f:{key}"), (*names, key), rule, out)
        return
    if isinstance(value, list):
        kind = rule(names, value)
        if kind == "set":
            out.update((*path, f"v:{dump(item)}") for item in value)
            return
        if kind is not None and all(isinstance(item, dict) for item in value):
            for item in value:
                item_path = (*path, item_key(item, kind))
                out.add(item_path)
                for key, child in item.items():
                    _collect(child, (*item_path, f"f:{key}"), (*names, key), rule, out)
            return
    out.add(path)


def dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def item_key(item: Obj, keys: tuple[str, ...]) -> str:
    return "k:" + dump({key: item.get(key) for key in keys})


def to_fields_v1(paths: set[Path]) -> Obj:
    """Paths as the nested ``fieldsV1`` document."""
    tree: Obj = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault(part, {})
        if path[-1].startswith("k:"):
            node["."] = {}
    return tree


def from_fields_v1(tree: Any, prefix: Path = ()) -> set[Path]:
    found: set[Path] = set()
    if not isinstance(tree, dict):
        return found
    for key, child in tree.items():
        if key == ".":
            found.add(prefix)
        elif isinstance(child, dict) and child:
            found |= from_fields_v1(child, (*prefix, key))
        else:
            found.add((*prefix, key))
    return found


def lookup(obj: Any, path: Path) -> tuple[bool, Any]:
    """Whether ``path`` exists in ``obj``, and its value."""
    current = obj
    for part in path:
        kind, _, name = part.partition(":")
        if kind == "f" and isinstance(current, dict) and name in current:
            current = current[name]
        elif kind == "k" and isinstance(current, list):
            wanted = json.loads(name)
            match = [i for i in current if isinstance(i, dict) and _has(i, wanted)]
            if not match:
                return False, None
            current = match[0]
        elif kind == "v" and isinstance(current, list):
            value = json.loads(name)
            if value not in current:
                return False, None
            current = value
        else:
            return False, None
    return True, current


def _has(item: Obj, wanted: Obj) -> bool:
    return all(item.get(key) == value for key, value in wanted.items())


def _remove(obj: Obj, path: Path) -> None:
    found, parent = lookup(obj, path[:-1])
    if not found:
        return
    kind, _, name = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(name, None)
    elif kind == "k" and isinstance(parent, list):
        wanted = json.loads(name)
        parent[:] = [i for i in parent if not (isinstance(i, dict) and _has(i, wanted))]
    elif kind == "v" and isinstance(parent, list):
        value = json.loads(name)
        parent[:] = [i for i in parent if i != value]


def render(path: Path) -> str:
    """A path as conflict messages print it: ``.spec.containers[name="web"].image``."""
    text = ""
    for part in path:
        kind, _, name = part.partition(":")
        if kind == "f":
            text += f".{name}"
        elif kind == "k":
            pairs = ",".join(f"{k}={dump(v)}" for k, v in json.loads(name).items())
            text += f"[{pairs}]"
        else:
            text += f"[={name}]"
    return text


def merge_applied(live: Any, config: Any, names: tuple[str, ...], rule: ListRule) -> Any:
    """The live value with the applied configuration merged over it."""
    if isinstance(config, dict):
        result = copy_value(live) if isinstance(live, dict) else {}
        for key, value in config.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = merge_applied(result.get(key), value, (*names, key), rule)
        return result
    if isinstance(config, list):
        current = live if isinstance(live, list) else []
        kind = rule(names, [*config, *current])
        if kind == "set":
            return [*[i for i in current if i not in config], *copy_value(config)]
        if kind is not None and all(isinstance(i, dict) for i in [*config, *current]):
            result_list = copy_value(current)
            for item in config:
                wanted = {key: item.get(key) for key in kind}
                index = next((n for n, old in enumerate(result_list) if _has(old, wanted)), None)
                if index is None:
                    result_list.append(merge_applied(None, item, names, rule))
                else:
                    result_list[index] = merge_applied(result_list[index], item, names, rule)
            return result_list
    return copy_value(config)


Owner = tuple[str, str, str]
"""An entry of managedFields: (manager, operation, subresource)."""


def server_side_apply(
    live: Obj | None,
    config: Obj,
    *,
    manager: str,
    force: bool,
    api_version: str,
    rule: ListRule,
    subresource: str = "",
) -> Obj:
    """The object after ``manager`` applies ``config`` to ``live`` (None when creating).

    Raises:
        ApiError: 409 Conflict when another manager (an applier or an updater) owns a field
            that the configuration sets to a different value.
    """
    base = copy_value(live) if live is not None else {}
    entries = [dict(e) for e in metadata(base).get("managedFields") or [] if isinstance(e, dict)]
    mine_key: Owner = (manager, "Apply", subresource)
    owned: dict[Owner, set[Path]] = {
        _owner(e): from_fields_v1(e.get("fieldsV1")) for e in entries if _owner(e) != mine_key
    }
    previous = next(
        (from_fields_v1(e.get("fieldsV1")) for e in entries if _owner(e) == mine_key), set()
    )
    wanted = fields_of(config, rule)
    conflicts = _conflicts(base, config, wanted, owned)
    if conflicts and not force:
        raise _conflict_error(conflicts, api_version)
    for other, paths in owned.items():
        owned[other] = paths - {path for who, path in conflicts if who == other}
    still_owned = set().union(*owned.values()) if owned else set()
    for path in sorted(previous - wanted - still_owned, key=len):  # items before their fields
        _remove(base, path)
    merged: Obj = merge_applied(base, config, (), rule)
    owned[mine_key] = wanted
    metadata(merged)["managedFields"] = _entries(entries, owned, api_version, mine_key)
    return merged


def _owner(entry: Obj) -> Owner:
    return (
        str(entry.get("manager")),
        str(entry.get("operation", "")),
        str(entry.get("subresource", "")),
    )


def _conflicts(
    live: Obj, config: Obj, wanted: set[Path], owned: dict[Owner, set[Path]]
) -> list[tuple[Owner, Path]]:
    found = []
    for other, paths in owned.items():
        for path in sorted(wanted & paths):
            if path[-1].startswith(("k:", "v:")):
                continue  # owning a list item is about its presence, not its whole value
            _, new = lookup(config, path)
            exists, current = lookup(live, path)
            if exists and new != current:
                found.append((other, path))
    return found


def _conflict_error(conflicts: list[tuple[Owner, Path]], api_version: str) -> ApiError:
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f'conflict with "{manager}"'
            + (f' with subresource "{subresource}"' if subresource else "")
            + f" using {api_version}",
            "field": render(path),
        }
        for (manager, _, subresource), path in conflicts
    ]
    count = len(conflicts)
    lines = "\n".join(f"- {c['message']}: {c['field']}" for c in causes)
    noun = "conflict" if count == 1 else "conflicts"
    if count == 1:
        message = f"Apply failed with 1 conflict: {causes[0]['message']}: {causes[0]['field']}"
    else:
        message = f"Apply failed with {count} {noun}:\n{lines}"
    return ApiError(409, "Conflict", message, details={"causes": causes})


def _entries(
    entries: list[Obj], owned: dict[Owner, set[Path]], api_version: str, mine: Owner
) -> list[Obj]:
    result = []
    for entry in entries:
        key = _owner(entry)
        if key != mine and owned.get(key):
            entry["fieldsV1"] = to_fields_v1(owned[key])
            result.append(entry)
    new: Obj = {
        "manager": mine[0],
        "operation": "Apply",
        "apiVersion": api_version,
        "time": now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(owned[mine]),
    }
    if mine[2]:
        new["subresource"] = mine[2]
    result.append(new)
    return result
