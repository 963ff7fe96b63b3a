"""The cluster state seen through the API: served types, stored objects, and version conversion.

:class:`Cluster` ties the :class:`~serinus.sandbox.apiserver.resources.Registry` to the
:class:`~serinus.sandbox.apiserver.store.Store`. It converts between the form a client reads or
writes (``apps/v1`` Deployment, ``flagger.app/v1alpha3`` Canary, ``events.k8s.io/v1`` Event) and
the stored form, answers gets and lists with selectors, and keeps the registry in step with the
stored CRDs. ``writes``, ``patching`` and ``deletion`` build the API verbs on top of it; the HTTP
layer, the persistence and in-process users (tests, the sandbox) all go through one instance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from serinus.sandbox.apiserver import crds, defaults, meta
from serinus.sandbox.apiserver.builtin import BUILTIN, INITIAL_NAMESPACES, REVIEWS
from serinus.sandbox.apiserver.objects import Obj, deep_copy, metadata, name_of
from serinus.sandbox.apiserver.resources import Registry, ResourceType
from serinus.sandbox.apiserver.selectors import FieldSelector, LabelSelector, parse_fields
from serinus.sandbox.apiserver.status import forbidden, internal, not_found
from serinus.sandbox.apiserver.store import Store

logger = logging.getLogger(__name__)

CRD_STORAGE = "customresourcedefinitions.apiextensions.k8s.io"
NAMESPACES = "namespaces"

RemovalHook = Callable[[str, Obj], None]
"""Called with (storage, final object) after an object left the store."""
CreationHook = Callable[[str, Obj], None]
"""Called with (storage, stored object) after a create (not a dry run) went through."""


class Cluster:
    def __init__(self, *, window: int = 10_000, service_cidr: str = defaults.SERVICE_CIDR) -> None:
        self.service_network = defaults.service_network(service_cidr)
        """Where Services get their cluster IPs."""
        self.registry = Registry((*BUILTIN, *REVIEWS))
        self.store = Store(window=window)
        self.removal_hooks: list[RemovalHook] = []
        self.creation_hooks: list[CreationHook] = []

    def seed(self) -> None:
        """Create what a fresh cluster has (the initial namespaces) when it is missing."""
        namespaces = self.type_of(NAMESPACES)
        for name in INITIAL_NAMESPACES:
            if self.store.get(NAMESPACES, "", name) is None:
                obj: Obj = {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {
                        "name": name,
                        "labels": {"kubernetes.io/metadata.name": name},
                    },
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                }
                meta.prepare_create(namespaces, obj)
                self.store.add(NAMESPACES, obj)

    def type_of(self, storage: str) -> ResourceType:
        """The storage-version type of a stored resource."""
        found = self.registry.storage_type(storage)
        if found is None:
            raise internal(f"no served type for stored resource {storage}")
        return found

    # conversion

    def served(self, resource: ResourceType, stored: Obj) -> Obj:
        """A stored object as ``resource`` serves it (apiVersion, kind, renamed fields): a copy
        the caller may change."""
        return deep_copy(self.view(resource, stored))

    @staticmethod
    def view(resource: ResourceType, stored: Obj) -> Obj:
        """The served form without the copy: only the top-level mapping is new, everything under
        it is the stored object's own, so it is for reading (encoding, matching) and never to be
        changed."""
        obj = dict(stored)
        for theirs, ours in resource.renames:
            if ours in obj:
                obj[theirs] = obj.pop(ours)
        obj["apiVersion"] = resource.api_version
        obj["kind"] = resource.kind
        return {"apiVersion": obj.pop("apiVersion"), "kind": obj.pop("kind"), **obj}

    def to_storage(self, resource: ResourceType, obj: Obj) -> Obj:
        """``obj`` in the stored form, for the store: only the top-level mapping is new (the
        store copies what it keeps)."""
        storage = self.type_of(resource.storage)
        stored = dict(obj)
        for theirs, ours in resource.renames:
            if theirs in stored:
                stored[ours] = stored.pop(theirs)
        stored["apiVersion"] = storage.api_version
        stored["kind"] = storage.kind
        return stored

    # reading

    def find(self, resource: ResourceType, namespace: str, name: str) -> Obj | None:
        return self.store.get(resource.storage, namespace if resource.namespaced else "", name)

    def get(self, resource: ResourceType, namespace: str, name: str) -> Obj:
        """The stored object, or 404 NotFound."""
        found = self.find(resource, namespace, name)
        if found is None:
            raise not_found(resource.group, resource.plural, name)
        return found

    def fields(self, resource: ResourceType, text: str | None) -> FieldSelector:
        allowed = {"metadata.name", "metadata.namespace", *resource.field_labels}
        return parse_fields(text, allowed=allowed.__contains__)

    def select(
        self,
        resource: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        *,
        at: int | None = None,
        copies: bool = True,
    ) -> list[Obj]:
        """Matching objects in served form, in (namespace, name) order; ``at`` reads them as
        they were at that resourceVersion (``ExpiredError`` when it left the store's log).
        Without ``copies`` they are views (see :meth:`view`), for a caller that only encodes."""
        scope = namespace if resource.namespaced else None
        stored_items = (
            self.store.items(resource.storage, scope)
            if at is None
            else self.store.items_at(resource.storage, at, scope)
        )
        found = []
        serve = self.served if copies else self.view
        for stored in stored_items:
            obj = serve(resource, stored)
            if labels.matches(obj) and fields.matches(obj):
                found.append(obj)
        return found

    def require_namespace(self, resource: ResourceType, namespace: str, name: str) -> None:
        """Content may only be created in a namespace that exists and is not terminating."""
        if not resource.namespaced:
            return
        found = self.store.get(NAMESPACES, "", namespace)
        if found is None:
            raise not_found("", NAMESPACES, namespace)
        if metadata(found).get("deletionTimestamp"):
            raise forbidden(
                resource.group,
                resource.plural,
                name,
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
            )

    # writing (the store plus the CRD registry)

    def add(self, resource: ResourceType, obj: Obj, *, owned: bool = False) -> Obj:
        """Store a new object (``owned``: see :meth:`Store.add`)."""
        stored = self.store.add(resource.storage, self.to_storage(resource, obj), owned=owned)
        self._sync_crd(resource.storage, stored)
        return stored

    def replace(self, resource: ResourceType, obj: Obj, *, owned: bool = False) -> Obj:
        """Store a new version (``owned``: see :meth:`Store.add`)."""
        stored = self.store.replace(resource.storage, self.to_storage(resource, obj), owned=owned)
        self._sync_crd(resource.storage, stored)
        return stored

    def remove(self, storage: str, namespace: str, name: str, last: Obj | None = None) -> Obj:
        """Take an object out of the store for good, then run the removal hooks."""
        final = self.store.remove(storage, namespace, name, last)
        if storage == CRD_STORAGE:
            for removed in self.registry.remove_custom(name):
                self.store.end_watches(removed.storage)
                logger.info("stopped serving %s/%s", removed.api_version, removed.plural)
        for hook in self.removal_hooks:
            hook(storage, final)
        return final

    def _sync_crd(self, storage: str, crd: Obj) -> None:
        if storage == CRD_STORAGE and not crds.check(crd):
            self.registry.set_custom(name_of(crd), crds.resource_types(crd))

    def sync_crds(self) -> None:
        """Serve every stored CRD (after loading saved state)."""
        for crd in self.store.items(CRD_STORAGE):
            self._sync_crd(CRD_STORAGE, crd)

    def owners_alive(self, obj: Obj) -> list[Obj]:
        """The ownerReferences of ``obj`` whose owner (same uid) still exists."""
        references = metadata(obj).get("ownerReferences") or []
        uids = {str(ref.get("uid")) for ref in references if isinstance(ref, dict)}
        alive = {uid for uid in uids if self.store.has_uid(uid)}
        return [ref for ref in references if isinstance(ref, dict) and ref.get("uid") in alive]
