"""Server-side apply and pruning, as Flux's kustomize-controller does them.

Every object built from the commit is labelled with the Kustomization that applies it
(``kustomize.toolkit.fluxcd.io/name`` and ``/namespace``) and applied with field manager
``kustomize-controller``, forcing conflicts: the repository wins every field it sets, whoever
changed it since (``kubectl edit``, ``kubectl set image``, a controller), and only the fields it
sets. A field the repository does not set stays whoever's it is: that is why an operator's
``spec.replicas`` survives a sync when the manifest leaves ``replicas`` out (see docs/sandbox.md).

Custom resource definitions and namespaces go first, then everything else, so that a commit can
bring a CRD and its objects together. Each object is reported as Flux reports it
(``Deployment/prod/podinfo configured``; ``created``, ``unchanged``), the action read from the
object before and after: an apply that changes nothing writes nothing, as on a real server.

The inventory (``status.inventory.entries`` of the Kustomization, ids such as
``prod_podinfo_apps_Deployment``) lists what the last sync applied. :func:`prune` deletes what it
listed and the new commit no longer has, last applied first, unless the object says
``kustomize.toolkit.fluxcd.io/prune: disabled`` or no longer carries this Kustomization's labels
(something else took it over).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable

from serinus.apis.base import Manifest
from serinus.errors import SerinusError
from serinus.kube import Kube

MANAGER = "kustomize-controller"
NAME_LABEL = "kustomize.toolkit.fluxcd.io/name"
NAMESPACE_LABEL = "kustomize.toolkit.fluxcd.io/namespace"
PRUNE_ANNOTATION = "kustomize.toolkit.fluxcd.io/prune"
FIRST = ("CustomResourceDefinition", "Namespace")


class ApplyError(SerinusError):
    """An object was refused; the message names it (``Deployment/prod/podinfo ...``)."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One object of the inventory."""

    namespace: str
    name: str
    group: str
    kind: str
    version: str

    @classmethod
    def of(cls, obj: Manifest) -> Entry:
        group, _, version = str(obj.get("apiVersion") or "").rpartition("/")
        meta = obj.get("metadata") or {}
        return cls(
            str(meta.get("namespace") or ""),
            str(meta.get("name")),
            group,
            str(obj["kind"]),
            version,
        )

    @classmethod
    def parse(cls, entry: Manifest) -> Entry:
        """An ``{id, v}`` entry of ``status.inventory.entries``."""
        namespace, name, group, kind = str(entry["id"]).split("_", 3)
        return cls(namespace, name, group, kind, str(entry.get("v") or ""))

    @property
    def id(self) -> str:
        return f"{self.namespace}_{self.name}_{self.group}_{self.kind}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def subject(self) -> str:
        return "/".join(part for part in (self.kind, self.namespace, self.name) if part)

    def stored(self) -> Manifest:
        return {"id": self.id, "v": self.version}


@dataclasses.dataclass(frozen=True)
class Change:
    entry: Entry
    action: str
    """created, configured, unchanged, deleted or skipped."""

    def __str__(self) -> str:
        return f"{self.entry.subject} {self.action}"


def labelled(obj: Manifest, owner: tuple[str, str]) -> Manifest:
    """``obj`` with the labels naming the Kustomization (name, namespace) that applies it."""
    found = copy.deepcopy(obj)
    labels = found.setdefault("metadata", {}).setdefault("labels", {}) or {}
    labels.update({NAME_LABEL: owner[0], NAMESPACE_LABEL: owner[1]})
    found["metadata"]["labels"] = labels
    return found


async def apply_all(
    kube: Kube, objects: Iterable[Manifest], owner: tuple[str, str]
) -> list[Change]:
    """Apply the objects, CRDs and namespaces first; what each became."""
    ordered = sorted(objects, key=lambda obj: 0 if obj.get("kind") in FIRST else 1)
    changes = []
    for obj in ordered:
        try:
            changes.append(await _apply(kube, labelled(obj, owner)))
        except SerinusError as error:
            subject = Entry.of(obj).subject
            raise ApplyError(f"{subject} apply failed: {error}") from error
    return changes


async def _apply(kube: Kube, obj: Manifest) -> Change:
    meta = obj.get("metadata") or {}
    before = await kube.get(
        str(obj.get("apiVersion")),
        str(obj.get("kind")),
        str(meta.get("name")),
        meta.get("namespace"),
    )
    after = await kube.apply(obj, field_manager=MANAGER, force=True)
    if before is None:
        action = "created"
    elif _version(before) != _version(after):
        action = "configured"
    else:
        action = "unchanged"
    return Change(Entry.of(after), action)


async def prune(
    kube: Kube, previous: list[Entry], kept: set[str], owner: tuple[str, str]
) -> list[Change]:
    """Delete what the last sync applied and this one does not, last applied first."""
    changes = []
    for entry in reversed(previous):
        if entry.id in kept:
            continue
        live = await kube.get(entry.api_version, entry.kind, entry.name, entry.namespace or None)
        if live is None:
            continue
        meta = live.get("metadata") or {}
        labels = meta.get("labels") or {}
        mine = labels.get(NAME_LABEL) == owner[0] and labels.get(NAMESPACE_LABEL) == owner[1]
        if not mine or (meta.get("annotations") or {}).get(PRUNE_ANNOTATION) == "disabled":
            changes.append(Change(entry, "skipped"))
            continue
        await kube.delete(entry.api_version, entry.kind, entry.name, entry.namespace or None)
        changes.append(Change(entry, "deleted"))
    return changes


def _version(obj: Manifest) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")
