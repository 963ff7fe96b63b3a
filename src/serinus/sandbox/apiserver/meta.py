"""Server-owned metadata: uid, timestamps, generation, generateName, and what a write may change.

The real server owns ``uid``, ``creationTimestamp``, ``resourceVersion``, ``generation`` and the
deletion fields: a client cannot set them on create nor change them on update. ``generation``
counts changes to what the object asks for (everything but metadata and, when the kind has a
status subresource, status); Deployments count annotation changes too, because their annotations
are copied to ReplicaSets. Kinds that do not track generation never get the field.
"""

from __future__ import annotations

import secrets

from serinus.sandbox.apiserver.objects import Obj, metadata, new_uid, now
from serinus.sandbox.apiserver.resources import ResourceType

_SERVER_FIELDS = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
)
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def generate_name(prefix: str) -> str:
    """``generateName`` + five random characters, from the real server's alphabet."""
    return prefix + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))


def prepare_create(resource: ResourceType, obj: Obj) -> None:
    """Stamp the server-owned fields of an object about to be created."""
    meta = metadata(obj)
    for key in _SERVER_FIELDS:
        meta.pop(key, None)
    meta["uid"] = new_uid()
    meta["creationTimestamp"] = now()
    if resource.generation:
        meta["generation"] = 1


def carry_over(resource: ResourceType, old: Obj, new: Obj) -> None:
    """Keep the server-owned fields of ``old`` in ``new``, and bump generation if due."""
    old_meta, new_meta = metadata(old), metadata(new)
    for key in _SERVER_FIELDS:
        new_meta.pop(key, None)
        if key in old_meta:
            new_meta[key] = old_meta[key]
    if "managedFields" in old_meta and "managedFields" not in new_meta:
        # shared, not copied: ownership.record_update builds new entries instead of changing them
        new_meta["managedFields"] = old_meta["managedFields"]
    if resource.generation and spec_changed(resource, old, new):
        new_meta["generation"] = int(old_meta.get("generation") or 0) + 1


def spec_changed(resource: ResourceType, old: Obj, new: Obj) -> bool:
    """Whether a write changes what counts for ``metadata.generation``."""
    if _desired(resource, old) != _desired(resource, new):
        return True
    if resource.generation_annotations:
        return metadata(old).get("annotations") != metadata(new).get("annotations")
    return False


def _desired(resource: ResourceType, obj: Obj) -> Obj:
    skipped = {"metadata", "apiVersion", "kind"}
    if resource.status:
        skipped.add("status")
    return {key: value for key, value in obj.items() if key not in skipped}


def same_content(old: Obj, new: Obj) -> bool:
    """Whether a write changes nothing (then it gets no new resourceVersion and no event).

    Everything counts but ``metadata.resourceVersion`` and the ``time`` of managedFields entries;
    compared in place (neither side is copied nor changed: this runs on every write).
    """
    if _without(old, "metadata") != _without(new, "metadata"):
        return False
    left, right = _metadata_view(old), _metadata_view(new)
    if _without(left, "resourceVersion", "managedFields") != _without(
        right, "resourceVersion", "managedFields"
    ):
        return False
    return _untimed(left.get("managedFields", _MISSING)) == _untimed(
        right.get("managedFields", _MISSING)
    )


_MISSING = object()


def _metadata_view(obj: Obj) -> Obj:
    found = obj.get("metadata")
    return found if isinstance(found, dict) else {}


def _without(obj: Obj, *keys: str) -> Obj:
    return {key: value for key, value in obj.items() if key not in keys}


def _untimed(entries: object) -> object:
    """managedFields without the entries' ``time`` (when it is a list; as it is otherwise)."""
    if not isinstance(entries, list):
        return entries
    return [_without(entry, "time") if isinstance(entry, dict) else entry for entry in entries]


def mark_deleting(resource: ResourceType, obj: Obj) -> None:
    """Set ``deletionTimestamp`` (once); a kind tracking generation counts it as a change."""
    meta = metadata(obj)
    if meta.get("deletionTimestamp"):
        return
    meta["deletionTimestamp"] = now()
    meta["deletionGracePeriodSeconds"] = 0
    if resource.generation:
        meta["generation"] = int(meta.get("generation") or 0) + 1
