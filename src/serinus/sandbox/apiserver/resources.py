"""What the server serves: one :class:`ResourceType` per served resource, in a :class:`Registry`.

Everything else reads this table: the URL router finds the type of a request here, discovery and
OpenAPI documents are generated from it (so what kubectl is told and what the server answers can
never disagree), and the semantics of a write (status subresource, generation tracking, strategic
merge, required resourceVersion) are flags on the type. Built-in types come from ``builtin``;
custom ones are added and removed as CustomResourceDefinitions come and go (``crds``).

Several types can share one *storage* (the versions of a CRD, the two Event APIs): objects are kept
once, under :attr:`ResourceType.storage`, and rewritten to the version a client asked for.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from serinus.sandbox.apiserver.objects import Obj, api_version
from serinus.sandbox.apiserver.status import group_resource

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class PrinterColumn:
    """A column of ``kubectl get``, as a CRD's ``additionalPrinterColumns`` declares it."""

    name: str
    type: str
    json_path: str
    priority: int = 0
    format: str = ""
    description: str = ""


@dataclass(frozen=True)
class ScaleSpec:
    """Where the ``scale`` subresource reads and writes replicas (CRD ``subresources.scale``)."""

    spec_replicas_path: str = ".spec.replicas"
    status_replicas_path: str = ".status.replicas"
    label_selector_path: str | None = None
    map_selector: bool = False
    """``spec.selector`` is a plain label map (ReplicationControllers), not a LabelSelector."""


@dataclass(frozen=True)
class ResourceType:
    """One served resource (a plural name under a group/version) and how writes to it behave."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    status: bool = False
    """Has a ``status`` subresource: main writes keep status, status writes keep the rest."""
    scale: ScaleSpec | None = None
    return_deleted: bool = False
    """DELETE answers with the deleted object rather than a ``Status`` (the real registry's
    ``ReturnDeletedObject``: pods, services, service accounts, nodes, namespaces)."""
    review: bool = False
    """Created and answered at once, never stored (SubjectAccessReview, TokenReview, ...)."""
    token: bool = False
    """Serves the ``token`` subresource (ServiceAccounts: ``kubectl create token``)."""
    log: bool = False
    """Serves ``pods/log`` and ``pods/exec`` through the server's log and exec sources."""
    generation: bool = False
    """Tracks ``metadata.generation`` (bumped when anything but metadata and status changes)."""
    generation_annotations: bool = False
    """Annotation changes bump the generation too (Deployments)."""
    strategic: bool = True
    """Accepts strategic-merge patches (built-ins); custom resources answer 415."""
    custom: bool = False
    require_resource_version: bool = False
    """A PUT without ``metadata.resourceVersion`` is refused (custom resources)."""
    storage_name: str = ""
    """Storage key when it differs from ``plural.group`` (events.k8s.io shares core Events)."""
    storage_version: str = ""
    renames: tuple[tuple[str, str], ...] = ()
    """Top-level fields renamed between this version (first) and the stored form (second)."""
    field_labels: frozenset[str] = frozenset()
    """Field selector keys accepted besides ``metadata.name`` and ``metadata.namespace``."""
    printer_columns: tuple[PrinterColumn, ...] = ()
    schema: Obj | None = field(default=None, compare=False, hash=False)
    """The CRD's ``openAPIV3Schema`` for this version (prune, default, validate)."""

    @functools.cached_property
    def api_version(self) -> str:
        return api_version(self.group, self.version)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @functools.cached_property
    def resource(self) -> str:
        """``deployments.apps``: how messages and the storage name this resource."""
        return group_resource(self.group, self.plural)

    @functools.cached_property
    def storage(self) -> str:
        return self.storage_name or self.resource

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()


_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key for Kubernetes' version preference: v2, v1, v1beta2, v1alpha1, then others."""
    match = _VERSION.match(version)
    if match is None:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), version)


class Registry:
    """The served resource types, in discovery order, with lookups for routing and storage."""

    def __init__(self, builtins: Iterable[ResourceType] = ()) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._groups: list[str] = []
        self._versions: dict[str, list[str]] = {}
        self._custom: dict[str, list[ResourceType]] = {}
        self._storage_types: dict[str, ResourceType | None] = {}
        """``storage_type`` answers (every write asks), forgotten whenever the types change."""
        for resource in builtins:
            self._add(resource)

    def _add(self, resource: ResourceType) -> None:
        self._storage_types.clear()
        self._types[(resource.group, resource.version, resource.plural)] = resource
        if resource.group not in self._versions:
            self._groups.append(resource.group)
            self._versions[resource.group] = []
        versions = self._versions[resource.group]
        if resource.version not in versions:
            versions.append(resource.version)
            if resource.custom:
                versions.sort(key=version_priority)

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def groups(self) -> list[tuple[str, list[str]]]:
        """Each served group with its versions, preferred version first (core group first)."""
        return [(group, list(self._versions[group])) for group in self._groups]

    def resources(self, group: str, version: str) -> list[ResourceType]:
        return [
            resource for (g, v, _), resource in self._types.items() if g == group and v == version
        ]

    def all(self) -> list[ResourceType]:
        return list(self._types.values())

    def by_storage(self, storage: str) -> list[ResourceType]:
        """Every served version of one stored resource, the storage version first."""
        found = [resource for resource in self._types.values() if resource.storage == storage]
        found.sort(
            key=lambda r: (
                r.resource != storage,  # a type sharing another's storage (events.k8s.io)
                r.version != (r.storage_version or r.version),
                version_priority(r.version),
            )
        )
        return found

    def storage_type(self, storage: str) -> ResourceType | None:
        if storage not in self._storage_types:
            found = self.by_storage(storage)
            self._storage_types[storage] = found[0] if found else None
        return self._storage_types[storage]

    def set_custom(self, crd_name: str, resources: list[ResourceType]) -> None:
        """Serve the versions of one CRD (replacing what it served before)."""
        self.remove_custom(crd_name)
        self._custom[crd_name] = resources
        for resource in resources:
            self._add(resource)

    def remove_custom(self, crd_name: str) -> list[ResourceType]:
        """Stop serving a CRD's resources; returns what was removed."""
        removed = self._custom.pop(crd_name, [])
        self._storage_types.clear()
        for resource in removed:
            self._types.pop((resource.group, resource.version, resource.plural), None)
            still = {v for (g, v, _) in self._types if g == resource.group}
            self._versions[resource.group] = [
                v for v in self._versions[resource.group] if v in still
            ]
            if not self._versions[resource.group]:
                del self._versions[resource.group]
                self._groups.remove(resource.group)
        return removed

    def custom_storages(self) -> dict[str, str]:
        """Storage key of each CRD's resource, by CRD name."""
        return {name: types[0].storage for name, types in self._custom.items() if types}
