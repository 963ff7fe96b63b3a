"""Create and update with the real server's semantics; every write verb ends up here.

``create`` (POST) and ``update`` (PUT) take a client's object; ``patching`` computes the patched
object and hands it to :func:`commit_update`. One pipeline makes sure every write path behaves
alike: the body must fit the URL; server-owned metadata is kept or stamped (``meta``); the status
subresource splits writes (a main write keeps status, a status write keeps everything else); a
stale ``resourceVersion`` is a 409; defaults, schema pruning and validation run (``fieldValidation=
Strict`` refuses unknown fields, ``Warn`` reports them in a ``Warning`` header); a write that
changes nothing gets no new resourceVersion; removing the last finalizer of an object being deleted
deletes it; an object whose owners are all gone is garbage-collected right after the write, as the
real collector would shortly after. ``dryRun=All`` runs everything but the commit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from serinus.sandbox.apiserver import crds, defaults, deletion, meta, ownership, rules, validation
from serinus.sandbox.apiserver.cluster import Cluster
from serinus.sandbox.apiserver.objects import (
    Obj,
    as_map,
    copy_value,
    deep_copy,
    metadata,
    name_of,
    namespace_of,
)
from serinus.sandbox.apiserver.resources import ResourceType
from serinus.sandbox.apiserver.schema import apply_schema
from serinus.sandbox.apiserver.status import (
    Cause,
    already_exists,
    bad_request,
    conflict,
    internal,
    invalid,
)

_CREATED_STATUS: dict[str, Obj] = {
    # What a new object's status holds on a real server: its Go status struct's fields that are
    # not omitempty come out as zeros (clients read them, e.g. `kubectl rollout status ds`).
    "namespaces": {"phase": "Active"},
    "pods": {"phase": "Pending"},
    "services": {"loadBalancer": {}},
    "daemonsets.apps": {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    },
    "replicasets.apps": {"replicas": 0},
    "replicationcontrollers": {"replicas": 0},
    "statefulsets.apps": {"replicas": 0, "availableReplicas": 0},
    "horizontalpodautoscalers.autoscaling": {"currentReplicas": 0, "desiredReplicas": 0},
    "poddisruptionbudgets.policy": {
        "disruptionsAllowed": 0,
        "currentHealthy": 0,
        "desiredHealthy": 0,
        "expectedPods": 0,
    },
}


@dataclass(frozen=True)
class WriteOptions:
    dry_run: bool = False
    field_validation: str = "Warn"
    """``Strict`` refuses unknown fields, ``Warn`` prunes and reports them, ``Ignore`` prunes."""
    field_manager: str = ""
    user_agent: str = ""

    @property
    def manager(self) -> str:
        """Who a non-apply write is recorded under in managedFields."""
        return ownership.manager_name(self.field_manager, self.user_agent)


@dataclass
class Written:
    """The result of a write: the object as the client's version serves it."""

    view: Obj
    """For reading (the HTTP answer encodes it): it may share everything with the store."""
    created: bool = False
    warnings: list[str] = field(default_factory=list)

    @functools.cached_property
    def obj(self) -> Obj:
        """The object as the caller's own, to change at will (copied on first use)."""
        return deep_copy(self.view)


def create(
    cluster: Cluster,
    resource: ResourceType,
    namespace: str,
    body: object,
    options: WriteOptions,
    *,
    managed: bool = False,
    owned: bool = False,
) -> Written:
    """POST: a new object (201), 409 AlreadyExists, 422 Invalid, 404 for a missing namespace.

    ``owned`` says ``body`` is the caller's to give away (a decoded request): it is then changed
    and stored instead of copied."""
    obj = validation.check_body(resource, body, apply=managed)
    if not owned:
        obj = deep_copy(obj)
    validation.check_address(resource, obj, namespace=namespace, name=None)
    fields = metadata(obj)
    if fields.get("resourceVersion"):
        raise internal("resourceVersion should not be set on objects to be created")
    if not fields.get("name") and fields.get("generateName"):
        fields["name"] = meta.generate_name(str(fields["generateName"]))
    if not managed:
        fields.pop("managedFields", None)
    cluster.require_namespace(resource, namespace, name_of(obj))
    meta.prepare_create(resource, obj)
    if resource.status:
        obj.pop("status", None)
        if not resource.custom:
            obj["status"] = deep_copy(_CREATED_STATUS.get(resource.resource, {}))
    warnings = conform(cluster, resource, obj, None, options)
    if not managed:
        ownership.record_update(resource, None, obj, manager=options.manager)
    if cluster.find(resource, namespace, name_of(obj)) is not None:
        raise already_exists(resource.group, resource.plural, name_of(obj))
    if resource.resource == "customresourcedefinitions.apiextensions.k8s.io":
        obj["status"] = crds.status_for(obj)
    if options.dry_run:
        return Written(cluster.view(resource, obj), True, warnings)
    stored = cluster.add(resource, obj, owned=True)  # the copy above, or the caller's to give
    deletion.collect_if_orphaned(cluster, resource.storage, stored)
    for hook in cluster.creation_hooks:
        hook(resource.storage, stored)
    return Written(cluster.view(resource, stored), True, warnings)


def update(
    cluster: Cluster,
    resource: ResourceType,
    namespace: str,
    name: str,
    body: object,
    options: WriteOptions,
    *,
    subresource: str = "",
    owned: bool = False,
) -> Written:
    """PUT: replace an object (or its status); 409 on a stale resourceVersion. ``owned`` as for
    :func:`create`."""
    old = cluster.get(resource, namespace, name)
    obj = validation.check_body(resource, body)
    if not owned:
        obj = deep_copy(obj)
    validation.check_address(resource, obj, namespace=namespace, name=name)
    check_version(resource, old, obj, required=resource.require_resource_version)
    return commit_update(cluster, resource, old, obj, options, subresource=subresource)


def check_version(resource: ResourceType, old: Obj, new: Obj, *, required: bool) -> None:
    """A resourceVersion in the body is a precondition: it must be the stored one."""
    given = metadata(new).get("resourceVersion")
    if given:
        if str(given) != metadata(old).get("resourceVersion"):
            raise conflict(resource.group, resource.plural, name_of(old))
    elif required:
        raise invalid(
            resource.group,
            resource.kind,
            name_of(old),
            [
                Cause(
                    "metadata.resourceVersion",
                    "FieldValueInvalid",
                    "Invalid value: 0x0: must be specified for an update",
                )
            ],
        )


def commit_update(
    cluster: Cluster,
    resource: ResourceType,
    old_stored: Obj,
    obj: Obj,
    options: WriteOptions,
    *,
    subresource: str = "",
    managed: bool = False,
    recorded_as: str | None = None,
) -> Written:
    """Store ``obj`` as the new state of ``old_stored`` (both whole objects).

    ``managed`` says the caller (server-side apply) wrote managedFields itself; otherwise the
    write is recorded as an ``Update`` of ``recorded_as`` (default: ``subresource``). ``old`` is
    a view of the stored object (nothing here changes it; what ``new`` takes from it is copied).
    """
    old = cluster.view(resource, old_stored)
    shared: frozenset[str] = frozenset()
    """Top-level parts ``new`` takes from the stored object without a copy (custom resources,
    whose only change on the way in is the schema walk, which copies what it changes)."""
    if subresource == "status":
        if resource.custom and resource.schema is not None:
            new = {**old, "metadata": dict(metadata(old))}
            shared = frozenset(new) - {"status", "metadata"}
        else:
            new = cluster.served(resource, old_stored)
        if "status" in obj:
            new["status"] = obj["status"]
        else:
            new.pop("status", None)
        if managed:
            metadata(new)["managedFields"] = metadata(obj).get("managedFields")
    else:
        new = obj
        if not managed:
            metadata(new).pop("managedFields", None)
        if resource.status:
            new.pop("status", None)
            if "status" in old:
                if resource.custom and resource.schema is not None:
                    new["status"] = old["status"]
                    shared = frozenset({"status"})
                else:
                    new["status"] = copy_value(old["status"])
    meta.carry_over(resource, old, new)
    _check_finalizers(resource, old, new)
    warnings = conform(cluster, resource, new, old, options, shared=shared)
    if not managed:
        ownership.record_update(
            resource,
            old,
            new,
            manager=options.manager,
            subresource=subresource if recorded_as is None else recorded_as,
        )
    if resource.resource == "customresourcedefinitions.apiextensions.k8s.io":
        new["status"] = crds.status_for(
            new, terminating=bool(metadata(new).get("deletionTimestamp"))
        )
    if meta.same_content(old, new):
        return Written(old, warnings=warnings)
    if options.dry_run:
        return Written(new, warnings=warnings)
    if metadata(new).get("deletionTimestamp") and not metadata(new).get("finalizers"):
        final = cluster.remove(
            resource.storage, namespace_of(new), name_of(new), cluster.to_storage(resource, new)
        )
        return Written(cluster.view(resource, final), warnings=warnings)
    # ``new`` is this write's own (a decoded body, a patched copy) but for what ``shared`` names
    stored = cluster.replace(resource, new, owned=True)
    deletion.collect_if_orphaned(cluster, resource.storage, stored)
    return Written(cluster.view(resource, stored), warnings=warnings)


def _check_finalizers(resource: ResourceType, old: Obj, new: Obj) -> None:
    if not metadata(old).get("deletionTimestamp"):
        return
    before = set(metadata(old).get("finalizers") or [])
    added = [f for f in metadata(new).get("finalizers") or [] if f not in before]
    if added:
        raise invalid(
            resource.group,
            resource.kind,
            name_of(new),
            [
                Cause(
                    "metadata.finalizers",
                    "FieldValueForbidden",
                    "Forbidden: no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers {added}",
                )
            ],
        )


def conform(
    cluster: Cluster,
    resource: ResourceType,
    obj: Obj,
    old: Obj | None,
    options: WriteOptions,
    *,
    shared: frozenset[str] = frozenset(),
) -> list[str]:
    """Default, prune and validate ``obj`` in place; returns the warnings for the client.
    ``shared`` names top-level values of a custom resource shared with a stored object."""
    unknown = validation.unknown_metadata(obj)
    for path in unknown:
        metadata(obj).pop(path.split(".", 1)[1], None)
    causes: list[Cause] = []
    if resource.custom and resource.schema is not None:
        outcome = apply_schema(resource.schema, obj, in_place=True, shared=shared)
        unknown += outcome.unknown
        causes += outcome.causes
    else:
        defaults.apply_defaults(resource, obj)
    if unknown and options.field_validation == "Strict":
        listed = ", ".join(f'unknown field "{path}"' for path in unknown)
        raise bad_request(
            f'{resource.kind} in version "{resource.version}" cannot be handled as a '
            f"{resource.kind}: strict decoding error: {listed}"
        )
    causes += validation.check_metadata(resource, obj)
    causes += rules.check(resource, obj, old)
    if resource.resource == "customresourcedefinitions.apiextensions.k8s.io":
        crds.apply_defaults(obj)
        causes += crds.check(obj)
    if causes:
        raise invalid(resource.group, resource.kind, name_of(obj), causes)
    if resource.resource == "services":
        _allocate(cluster, obj, old)
    if options.field_validation == "Ignore":
        return []
    return [f'unknown field "{path}"' for path in unknown]


def _allocate(cluster: Cluster, service: Obj, old: Obj | None) -> None:
    taken: set[str] = set()
    ports: set[int] = set()
    for other in cluster.store.items("services"):
        spec = as_map(other.get("spec"))
        taken.add(str(spec.get("clusterIP") or ""))
        ports.update(
            int(p["nodePort"])
            for p in spec.get("ports") or []
            if isinstance(p, dict) and p.get("nodePort")
        )
    defaults.allocate_service_addresses(service, old, taken, ports, network=cluster.service_network)
