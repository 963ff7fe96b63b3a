"""DELETE: finalizers, propagation policies, garbage collection, namespace and CRD teardown.

The real server splits this between the API server and controllers; here the server plays them
all, at once and in order, so that tests see the end state as soon as the DELETE returns:

* an object with finalizers only gets ``deletionTimestamp`` (a MODIFIED event); it goes when a
  write removes its last finalizer (``writes.commit_update``);
* ``Background`` (the default) removes the object, then every object whose ``ownerReferences``
  name its uid (or drops the reference when another owner is still alive); ``Foreground`` marks
  the owner with the ``foregroundDeletion`` finalizer and removes it once its dependents are gone;
  ``Orphan`` strips the references and leaves dependents be;
* an object written with owner references that name no existing object loses those references,
  and is deleted when none of its owners exists (the collector's "dangling owner" rule);
* a namespace turns ``Terminating``, its content is deleted, and it goes once it is empty; a CRD
  is handled the same way with its custom resources, and is then no longer served.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from serinus.sandbox.apiserver import meta
from serinus.sandbox.apiserver.cluster import CRD_STORAGE, NAMESPACES, Cluster
from serinus.sandbox.apiserver.crds import status_for
from serinus.sandbox.apiserver.objects import (
    Obj,
    deep_copy,
    metadata,
    name_of,
    namespace_of,
    uid_of,
)
from serinus.sandbox.apiserver.resources import ResourceType
from serinus.sandbox.apiserver.selectors import FieldSelector, LabelSelector
from serinus.sandbox.apiserver.status import conflict, success

logger = logging.getLogger(__name__)

FOREGROUND = "foregroundDeletion"


@dataclass(frozen=True)
class DeleteOptions:
    propagation: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    dry_run: bool = False


@dataclass
class Deleted:
    """What DELETE answers: the object while finalizers hold it; once it is gone, the deleted
    object for the kinds whose registry returns it (pods, services, ...), else a ``Status``."""

    body: Obj
    gone: bool


def delete(
    cluster: Cluster, resource: ResourceType, namespace: str, name: str, options: DeleteOptions
) -> Deleted:
    stored = cluster.get(resource, namespace, name)
    _check_preconditions(resource, stored, options)
    if options.dry_run:
        if metadata(stored).get("finalizers"):
            return Deleted(cluster.served(resource, stored), False)
        return _gone(resource, cluster.served(resource, stored))
    if resource.storage == NAMESPACES:
        return _terminate(cluster, resource, stored, _namespace_content(cluster, name))
    if resource.storage == CRD_STORAGE:
        return _terminate(cluster, resource, stored, _crd_content(cluster, name))
    return _delete_one(cluster, resource, stored, options.propagation or "Background")


def delete_collection(
    cluster: Cluster,
    resource: ResourceType,
    namespace: str | None,
    labels: LabelSelector,
    fields: FieldSelector,
    options: DeleteOptions,
) -> list[Obj]:
    """DELETE on a collection: every matching object, as the list of what was deleted."""
    chosen = cluster.select(resource, namespace, labels, fields)
    results = []
    for obj in chosen:
        outcome = delete(cluster, resource, namespace_of(obj), name_of(obj), options)
        results.append(outcome.body if not outcome.gone else obj)
    return results


def _check_preconditions(resource: ResourceType, stored: Obj, options: DeleteOptions) -> None:
    if options.uid and options.uid != uid_of(stored):
        raise conflict(
            resource.group,
            resource.plural,
            name_of(stored),
            f"Precondition failed: UID in precondition: {options.uid}, UID in object meta: "
            f"{uid_of(stored)}",
        )
    current = str(metadata(stored).get("resourceVersion"))
    if options.resource_version and options.resource_version != current:
        raise conflict(
            resource.group,
            resource.plural,
            name_of(stored),
            f"Precondition failed: ResourceVersion in precondition: {options.resource_version}, "
            f"ResourceVersion in object meta: {current}",
        )


def _delete_one(cluster: Cluster, resource: ResourceType, stored: Obj, policy: str) -> Deleted:
    uid = uid_of(stored)
    if policy == "Orphan":
        _orphan(cluster, uid)
    obj = cluster.served(resource, stored)
    finalizers = list(metadata(obj).get("finalizers") or [])
    if policy == "Foreground" and _dependents(cluster, uid) and FOREGROUND not in finalizers:
        finalizers.append(FOREGROUND)
        metadata(obj)["finalizers"] = finalizers
    if finalizers:
        if metadata(stored).get("deletionTimestamp") and metadata(obj)["finalizers"] == metadata(
            stored
        ).get("finalizers"):
            return Deleted(obj, False)
        meta.mark_deleting(resource, obj)
        marked = cluster.replace(resource, obj)
        if FOREGROUND in finalizers:
            _collect_dependents(cluster, uid)
        return Deleted(cluster.served(resource, marked), False)
    final = cluster.remove(resource.storage, namespace_of(stored), name_of(stored))
    return _gone(resource, cluster.served(resource, final))


def _gone(resource: ResourceType, final: Obj) -> Deleted:
    if resource.return_deleted:
        return Deleted(final, True)
    return Deleted(success(resource.group, resource.plural, name_of(final), uid_of(final)), True)


def _terminate(
    cluster: Cluster, resource: ResourceType, stored: Obj, content: list[tuple[str, Obj]]
) -> Deleted:
    """Namespaces and CRDs: mark, delete what they hold, go when nothing is left."""
    obj = cluster.served(resource, stored)
    if not metadata(obj).get("deletionTimestamp"):
        meta.mark_deleting(resource, obj)
        if resource.storage == NAMESPACES:
            obj.setdefault("status", {})["phase"] = "Terminating"
        else:
            obj["status"] = status_for(obj, terminating=True)
        cluster.replace(resource, obj)
        for storage, item in content:
            _delete_content(cluster, storage, item)
    _finish_if_empty(cluster, resource.storage, name_of(stored))
    final = cluster.store.get(resource.storage, "", name_of(stored))
    if final is None:
        return _gone(resource, cluster.served(resource, obj))
    return Deleted(cluster.served(resource, final), False)


def _delete_content(cluster: Cluster, storage: str, item: Obj) -> None:
    current = cluster.store.get(storage, namespace_of(item), name_of(item))
    if current is None:
        return
    _delete_one(cluster, cluster.type_of(storage), current, "Background")


def _namespace_content(cluster: Cluster, namespace: str) -> list[tuple[str, Obj]]:
    return [(s, o) for s, o in cluster.store.everything() if namespace_of(o) == namespace]


def _crd_content(cluster: Cluster, crd_name: str) -> list[tuple[str, Obj]]:
    storage = cluster.registry.custom_storages().get(crd_name)
    if storage is None:
        return []
    return [(storage, obj) for obj in cluster.store.items(storage)]


def _finish_if_empty(cluster: Cluster, storage: str, name: str) -> None:
    holder = cluster.store.get(storage, "", name)
    if holder is None or not metadata(holder).get("deletionTimestamp"):
        return
    content = (
        _namespace_content(cluster, name) if storage == NAMESPACES else _crd_content(cluster, name)
    )
    if not content and not metadata(holder).get("finalizers"):
        cluster.remove(storage, "", name)


def _dependents(cluster: Cluster, uid: str) -> list[tuple[str, Obj]]:
    return [
        (storage, obj)
        for storage, obj in cluster.store.everything()
        if any(
            isinstance(ref, dict) and ref.get("uid") == uid
            for ref in metadata(obj).get("ownerReferences") or []
        )
    ]


def _orphan(cluster: Cluster, uid: str) -> None:
    for storage, obj in _dependents(cluster, uid):
        _drop_reference(cluster, storage, obj, uid)


def _drop_reference(cluster: Cluster, storage: str, obj: Obj, uid: str) -> None:
    changed = deep_copy(obj)
    references = [
        ref for ref in metadata(changed).get("ownerReferences") or [] if ref.get("uid") != uid
    ]
    if references:
        metadata(changed)["ownerReferences"] = references
    else:
        metadata(changed).pop("ownerReferences", None)
    cluster.store.replace(storage, changed)


def _collect_dependents(cluster: Cluster, uid: str) -> None:
    """The garbage collector's pass for a deleted (or foreground-deleting) owner."""
    for storage, obj in _dependents(cluster, uid):
        current = cluster.store.get(storage, namespace_of(obj), name_of(obj))
        if current is None:
            continue
        others = [ref for ref in cluster.owners_alive(current) if ref.get("uid") != uid]
        if others:
            _drop_reference(cluster, storage, current, uid)
        elif not metadata(current).get("deletionTimestamp"):
            logger.debug("garbage-collecting %s %s", storage, name_of(current))
            _delete_one(cluster, cluster.type_of(storage), current, "Background")


def collect_if_orphaned(cluster: Cluster, storage: str, obj: Obj) -> None:
    """The collector's check of a written object: references to owners that do not exist are
    dropped, and the object is deleted when none of its owners exists."""
    references = metadata(obj).get("ownerReferences") or []
    if not references or metadata(obj).get("deletionTimestamp"):
        return
    alive = {str(ref.get("uid")) for ref in cluster.owners_alive(obj)}
    dangling = [str(ref.get("uid")) for ref in references if str(ref.get("uid")) not in alive]
    if not dangling:
        return
    if not alive:
        logger.debug("garbage-collecting %s %s: its owners are gone", storage, name_of(obj))
        _delete_one(cluster, cluster.type_of(storage), obj, "Background")
        return
    current = obj
    for uid in dangling:
        _drop_reference(cluster, storage, current, uid)
        current = cluster.store.get(storage, namespace_of(obj), name_of(obj)) or current


def after_removal(cluster: Cluster, storage: str, final: Obj) -> None:
    """Everything that follows an object leaving the store (installed as a removal hook)."""
    _collect_dependents(cluster, uid_of(final))
    for reference in metadata(final).get("ownerReferences") or []:
        _release_foreground_owner(cluster, str(reference.get("uid")))
    namespace = namespace_of(final)
    if namespace:
        _finish_if_empty(cluster, NAMESPACES, namespace)
    for crd_name, crd_storage in cluster.registry.custom_storages().items():
        if crd_storage == storage:
            _finish_if_empty(cluster, CRD_STORAGE, crd_name)


def _release_foreground_owner(cluster: Cluster, uid: str) -> None:
    owner = next(
        ((s, o) for s, o in cluster.store.everything() if uid_of(o) == uid),
        None,
    )
    if owner is None:
        return
    storage, obj = owner
    finalizers = metadata(obj).get("finalizers") or []
    if FOREGROUND not in finalizers or _dependents(cluster, uid):
        return
    released = deep_copy(obj)
    remaining = [f for f in finalizers if f != FOREGROUND]
    metadata(released)["finalizers"] = remaining
    if remaining:
        cluster.store.replace(storage, released)
    else:
        metadata(released).pop("finalizers")
        cluster.remove(storage, namespace_of(obj), name_of(obj), released)


def install(cluster: Cluster) -> None:
    """Make ``cluster`` run the garbage collector and the teardown after each removal."""
    cluster.removal_hooks.append(lambda storage, final: after_removal(cluster, storage, final))
