"""Merge patch (RFC 7386) and strategic merge patch, on plain dicts.

Strategic merge is what kubectl and lightkube send by default for built-in kinds: lists of objects
are merged by a key (containers by ``name``, container ports by ``containerPort``, Service ports
by ``port``) instead of being replaced, and the patch may carry directives (``$patch: delete``,
``$patch: replace``, ``$setElementOrder/<list>``, ``$retainKeys``, ``$deleteFromPrimitiveList/``).
The real server reads merge keys from Go struct tags; here :data:`MERGE_KEYS` names them per
field, which is what Deployments, Pods, Services and their status need. Server-side apply reuses
the same table to tell keyed lists from atomic ones (``apply``).
"""

from __future__ import annotations

from typing import Any

from serinus.sandbox.apiserver.objects import copy_value

MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "ports": ("containerPort", "port"),  # container ports, then Service ports
    "imagePullSecrets": ("name",),
    "hostAliases": ("ip",),
    "conditions": ("type",),
    "ownerReferences": ("uid",),
    "topologySpreadConstraints": ("topologyKey",),
    "resourceClaims": ("name",),
    "secrets": ("name",),
    "containerStatuses": ("name",),
    "initContainerStatuses": ("name",),
}
"""List fields merged item by item, and the candidate keys identifying an item."""

SET_LISTS = frozenset({"finalizers"})
"""Lists of scalars merged as sets (``patchStrategy: merge`` on a primitive list)."""

_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy_value(patch)
    result = copy_value(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def merge_key(field: str, items: list[Any]) -> str | None:
    """The key identifying items of list ``field``, or None when the list is replaced whole."""
    candidates = MERGE_KEYS.get(field)
    if not candidates or not all(isinstance(item, dict) for item in items):
        return None
    for candidate in candidates:
        if any(candidate in item for item in items):
            return candidate
    return candidates[0]


def strategic_merge(original: Any, patch: Any) -> Any:
    """Apply a strategic merge patch to ``original`` (a map); returns a new value."""
    if not isinstance(patch, dict):
        return copy_value(patch)
    base = original if isinstance(original, dict) else {}
    return _merge_map(base, patch)


def _merge_map(original: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    if patch.get("$patch") == "replace":
        replaced: dict[str, Any] = _strip(patch)
        return replaced
    result = copy_value(original)
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith(_ORDER):
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE) :]
            doomed = value if isinstance(value, list) else []
            if isinstance(result.get(field), list):
                result[field] = [item for item in result[field] if item not in doomed]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            if value.get("$patch") == "delete":
                result.pop(key, None)
            else:
                result[key] = _merge_map(_as_map(result.get(key)), value)
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value)
        else:
            result[key] = value
    for key, order in patch.items():
        if key.startswith(_ORDER) and isinstance(order, list):
            field = key[len(_ORDER) :]
            if isinstance(result.get(field), list):
                result[field] = _reorder(field, result[field], order)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _as_map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _merge_list(field: str, original: Any, patch: list[Any]) -> list[Any]:
    current = original if isinstance(original, list) else []
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [_strip(item) for item in patch if not _is_directive(item)]
    if field in SET_LISTS and all(not isinstance(item, dict | list) for item in patch):
        merged = list(current)
        merged.extend(item for item in patch if item not in merged)
        return merged
    key = merge_key(field, [*patch, *current])
    if key is None:
        return [_strip(item) if isinstance(item, dict) else item for item in patch]
    result = copy_value(current)
    for item in patch:
        if _is_directive(item):
            continue
        index = next(
            (
                i
                for i, old in enumerate(result)
                if isinstance(old, dict) and old.get(key) == item.get(key)
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(_merge_map({}, item))
        else:
            result[index] = _merge_map(result[index], item)
    return result


def _is_directive(item: Any) -> bool:
    return isinstance(item, dict) and set(item) == {"$patch"}


def _reorder(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    key = merge_key(field, [*order, *items])

    def identity(item: Any) -> Any:
        return item.get(key) if key is not None and isinstance(item, dict) else item

    wanted = [identity(entry) for entry in order]
    ranked = {value: rank for rank, value in enumerate(wanted) if isinstance(value, str | int)}
    return sorted(items, key=lambda item: ranked.get(identity(item), len(wanted)))


def _strip(value: Any) -> Any:
    """A patch value with its directives and nulls removed: what to store when nothing merges."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if v is not None and not k.startswith("$")}
    if isinstance(value, list):
        return [_strip(item) for item in value if not _is_directive(item)]
    return value
