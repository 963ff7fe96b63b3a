"""Every object a router keeps for a Canary, written one way: :class:`ManagedObject` over a
:class:`Blueprint`.

The three Services, the TrafficSplit, HTTPRoute, VirtualService, DestinationRules and the NGINX
canary Ingress differ only in their shape. A router module describes the shape as a
:class:`Blueprint`: the object's kind and name, what it should hold for a Canary and given routes
(:meth:`Blueprint.build`, plain manifests built by small functions), how to read the routes back
(:meth:`Blueprint.routes`), and, where the API server fills in fields of its own (a Service's
clusterIP), how the wanted content lands on what exists (:meth:`Blueprint.merge`).
:class:`ManagedObject` does the rest, identically for every object:

* ``reconcile`` creates the object at 100/0 with an owner reference to the Canary; an existing
  one is rebuilt with the routes it holds now, so the spec follows the Canary while the weights
  stay where the release put them, and it is written only when something differs;
* labels and annotations follow :mod:`serinus.routers.metadata` (whose keys are kept, which are
  never touched), for every object alike;
* an object serinus did not create is taken over: its original content is kept in the
  ``flagger.kubernetes.io/original-configuration`` annotation (Flagger's) and put back by
  ``finalize``; an object serinus created is deleted by ``finalize``. A blueprint that
  :attr:`~Blueprint.gives_back` its object (the apex Service, which must outlive the Canary)
  says instead what it looks like once given back.

Every tick reconciles every object, which nearly always finds it as wanted: an object found
so is remembered (:mod:`serinus.routers.settled`) and not merged again while neither it (its
resourceVersion) nor what is wanted of it changed; a user's edit is repaired at the next tick.

A cluster-scoped object (Kuma's TrafficRoute, :attr:`Blueprint.namespaced` False) cannot have a
namespaced owner, so it carries no owner reference; the annotation
:data:`~serinus.routers.metadata.OWNER_ANNOTATION` says which Canary created it instead, and the
rules above follow that.
"""

from __future__ import annotations

import abc
import copy
import dataclasses
import json
import logging
from typing import Any

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.apis.service import CustomMetadata
from serinus.errors import ConflictError, RouterError
from serinus.kube import Kube
from serinus.logs import CanaryLogger
from serinus.ports import Routes
from serinus.routers import metadata, settled
from serinus.routers.names import where

logger = logging.getLogger(__name__)

ALL_TO_PRIMARY = Routes(100, 0)


@dataclasses.dataclass(frozen=True)
class Desired:
    """What one object should hold: top-level fields (``spec``, ...) and metadata."""

    body: Manifest
    """Top-level fields other than apiVersion, kind and metadata, e.g. ``{"spec": {...}}``."""
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def with_metadata(
        cls, body: Manifest, custom: CustomMetadata | None, *, labels: dict[str, str] | None = None
    ) -> Desired:
        """``body`` with the labels and annotations of ``spec.service.<apex|primary|canary>``
        (plus ``labels``), and Flux's do-not-reconcile annotations."""
        return cls(
            body=body,
            labels={**((custom.labels if custom else None) or {}), **(labels or {})},
            annotations={
                **((custom.annotations if custom else None) or {}),
                **metadata.FLUX_ANNOTATIONS,
            },
        )


class Blueprint(abc.ABC):
    """The shape of one kind of object a router keeps for a Canary."""

    api_version: str
    kind: str
    owns_annotations = False
    """Whether serinus owns every annotation of an object it created (Services, the NGINX copy)
    or other controllers may add their own, which are then kept."""
    namespaced = True
    """Whether the object lives in the Canary's namespace; a cluster-scoped one has no owner
    reference (see the module docstring)."""
    gives_back = False
    """Whether ``finalize`` gives the object back (:meth:`given_back`) instead of restoring or
    deleting it; such an object records no original configuration when taken over."""

    @abc.abstractmethod
    def name(self, canary: Canary) -> str:
        """The object's name in the Canary's namespace."""

    @abc.abstractmethod
    async def build(self, canary: Canary, routes: Routes) -> Desired:
        """The object's content for the Canary and routes; RouterError when it cannot be built
        from what the cluster holds."""

    def routes(self, canary: Canary, manifest: Manifest) -> Routes:
        """The routes the object holds (all to the primary for an object that holds none);
        RouterError when it holds none serinus can read."""
        return ALL_TO_PRIMARY

    def check_programmed(self, canary: Canary, manifest: Manifest) -> None:  # noqa: B027
        """RouterError when the mesh does not route by the object's current content yet; by
        default nothing to check (the object reports no status)."""

    def merge(self, canary: Canary, existing: Manifest, desired: Desired) -> Manifest:
        """The existing object with the desired content (metadata aside): by default each
        top-level field of the body replaces the existing one (a copy: the result may be
        changed in place; the existing object's other fields are shared, and only its
        ``metadata`` is changed, on a copy, by :meth:`ManagedObject._update`).

        A function of the existing object, the desired content and the Canary's identity only
        (what :meth:`ManagedObject._update` remembers an object by)."""
        return {**existing, **json_copy(desired.body)}

    async def given_back(self, canary: Canary, existing: Manifest) -> Manifest:
        """The object as ``finalize`` leaves it, for a blueprint that :attr:`gives_back`."""
        raise NotImplementedError(f"{self.kind} is not given back")


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (what ``copy.deepcopy`` gives, without its bookkeeping: a
    tick's write copied its desired content); anything but plain dicts and lists of it goes to
    ``copy.deepcopy``, strings, numbers, booleans and None are shared as deepcopy shares them."""
    kind = type(value)
    if kind is dict:
        return {key: json_copy(item) for key, item in value.items()}
    if kind is list:
        return [json_copy(item) for item in value]
    if kind in (str, int, float, bool) or value is None:
        return value
    return copy.deepcopy(value)


class ManagedObject:
    """A :class:`serinus.routers.base.TrafficObject` for one object described by a blueprint."""

    def __init__(self, kube: Kube, blueprint: Blueprint, *, provider: str) -> None:
        self.kube = kube
        self.blueprint = blueprint
        self.provider = provider

    def what(self, canary: Canary) -> str:
        if not self.blueprint.namespaced:
            return f"{self.blueprint.kind} {self.blueprint.name(canary)}"
        return where(self.blueprint.kind, canary, self.blueprint.name(canary))

    async def reconcile(self, canary: Canary) -> None:
        existing = await self._get(canary)
        if existing is None:
            await self._create(canary, await self.blueprint.build(canary, ALL_TO_PRIMARY))
            return
        metadata.check_not_foreign(existing, canary, provider=self.provider, what=self.what(canary))
        try:
            routes = self.blueprint.routes(canary, existing)
        except RouterError:
            routes = ALL_TO_PRIMARY  # a taken-over object that does not split yet
        await self._update(canary, existing, await self.blueprint.build(canary, routes))

    async def set_routes(
        self, canary: Canary, routes: Routes, *, current: Routes | None = None
    ) -> None:
        """Write ``routes`` over the object ``current`` was read from (else over the object as
        read now); when it changed since, read it again and write once more."""
        desired = await self.blueprint.build(canary, routes)
        read = self._read_with(canary, current)
        try:
            await self._update(canary, read or await self._require(canary), desired)
        except ConflictError:
            if read is None:
                raise
            await self._update(canary, await self._require(canary), desired)

    async def get_routes(self, canary: Canary) -> Routes:
        found = await self._require(canary)
        self.blueprint.check_programmed(canary, found)
        return dataclasses.replace(self.blueprint.routes(canary, found), source=found)

    async def finalize(self, canary: Canary) -> None:
        existing = await self._get(canary)
        if existing is None:
            return
        if self.blueprint.gives_back:
            await self._write(canary, existing, await self.blueprint.given_back(canary, existing))
            return
        log = CanaryLogger(logger, canary=canary.key)
        annotations = (existing.get("metadata") or {}).get("annotations") or {}
        original = annotations.get(metadata.ORIGINAL_CONFIGURATION)
        if original is not None:
            await self.kube.replace(self._restored(canary, existing, original))
            log.info("%s restored", self._title(canary))
        elif metadata.controlled_by(existing, canary):
            await self.kube.delete(
                self.blueprint.api_version,
                self.blueprint.kind,
                self.blueprint.name(canary),
                self._namespace(canary),
            )
            log.info("%s deleted", self._title(canary))

    # internals

    def _read_with(self, canary: Canary, current: Routes | None) -> Manifest | None:
        """The object ``current`` was read from, if it is this object."""
        source = current.source if current is not None else None
        if not isinstance(source, dict):
            return None
        meta = source.get("metadata") or {}
        ours = (source.get("kind"), meta.get("name")) == (
            self.blueprint.kind,
            self.blueprint.name(canary),
        )
        return source if ours else None

    def _title(self, canary: Canary) -> str:
        """``Kind name.namespace`` (``Kind name`` when cluster-scoped), as Flagger's log lines
        name an object."""
        if not self.blueprint.namespaced:
            return f"{self.blueprint.kind} {self.blueprint.name(canary)}"
        return f"{self.blueprint.kind} {self.blueprint.name(canary)}.{canary.namespace}"

    def _namespace(self, canary: Canary) -> str | None:
        return canary.namespace if self.blueprint.namespaced else None

    async def _get(self, canary: Canary) -> Manifest | None:
        return await self.kube.get(
            self.blueprint.api_version,
            self.blueprint.kind,
            self.blueprint.name(canary),
            self._namespace(canary),
        )

    async def _require(self, canary: Canary) -> Manifest:
        found = await self._get(canary)
        if found is None:
            raise RouterError(self.provider, f"{self.what(canary)}: not found (not reconciled yet)")
        return found

    async def _create(self, canary: Canary, desired: Desired) -> None:
        label_keys, annotation_keys = metadata.unmanaged_keys(canary)
        meta: Manifest = {"name": self.blueprint.name(canary)}
        owner = dict(desired.annotations)
        if self.blueprint.namespaced:
            meta["namespace"] = canary.namespace
            meta["ownerReferences"] = [metadata.owner_reference(canary, provider=self.provider)]
        else:
            owner[metadata.OWNER_ANNOTATION] = metadata.owner_annotation(canary)
        labels = metadata.merge(None, desired.labels, unmanaged=label_keys, keep_others=False)
        annotations = metadata.merge(None, owner, unmanaged=annotation_keys, keep_others=False)
        metadata.set_or_drop(meta, "labels", labels)
        metadata.set_or_drop(meta, "annotations", annotations)
        manifest = {
            "apiVersion": self.blueprint.api_version,
            "kind": self.blueprint.kind,
            "metadata": meta,
            **desired.body,
        }
        await self.kube.create(manifest)
        CanaryLogger(logger, canary=canary.key).info("%s created", self._title(canary))

    async def _update(self, canary: Canary, existing: Manifest, desired: Desired) -> None:
        found = settled.Settled.of(self.kube)
        digest = settled.digest(self.blueprint, canary, existing, desired)
        if found.holds(existing, digest):
            return  # found as wanted at this very version, with the same wishes
        found.forget(existing)
        if not await self._merge_and_write(canary, existing, desired):
            found.remember(existing, digest)

    async def _merge_and_write(self, canary: Canary, existing: Manifest, desired: Desired) -> bool:
        """Write ``existing`` updated to ``desired`` when it differs; whether it was written."""
        owned = metadata.controlled_by(existing, canary)
        updated = self.blueprint.merge(canary, existing, desired)
        meta = dict(updated.get("metadata") or {})  # merge may share it with ``existing``
        updated["metadata"] = meta
        label_keys, annotation_keys = metadata.unmanaged_keys(canary)
        labels = metadata.merge(
            meta.get("labels"), desired.labels, unmanaged=label_keys, keep_others=not owned
        )
        wanted = dict(desired.annotations)
        if owned and not self.blueprint.namespaced:
            wanted[metadata.OWNER_ANNOTATION] = metadata.owner_annotation(canary)
        annotations = metadata.merge(
            meta.get("annotations"),
            wanted,
            unmanaged=annotation_keys,
            keep_others=not (owned and self.blueprint.owns_annotations),
        )
        changes_body = any(existing.get(key) != value for key, value in desired.body.items())
        record = not owned and not self.blueprint.gives_back and changes_body
        if record and metadata.ORIGINAL_CONFIGURATION not in annotations:
            original = {key: existing.get(key) for key in desired.body}
            annotations[metadata.ORIGINAL_CONFIGURATION] = json.dumps(original, sort_keys=True)
        metadata.set_or_drop(meta, "labels", labels)
        metadata.set_or_drop(meta, "annotations", annotations)
        return await self._write(canary, existing, updated)

    async def _write(self, canary: Canary, existing: Manifest, updated: Manifest) -> bool:
        if updated == existing:
            return False
        await self.kube.replace(updated)
        CanaryLogger(logger, canary=canary.key).info("%s updated", self._title(canary))
        return True

    def _restored(self, canary: Canary, existing: Manifest, original: str) -> Manifest:
        try:
            saved = json.loads(original)
        except ValueError as error:
            raise RouterError(
                self.provider,
                f"{self.what(canary)}: annotation {metadata.ORIGINAL_CONFIGURATION} is not JSON "
                f"({error}); the original cannot be restored",
            ) from error
        restored = copy.deepcopy(existing)
        for key, value in (saved if isinstance(saved, dict) else {}).items():
            if value is None:
                restored.pop(key, None)
            else:
                restored[key] = value
        annotations = dict(restored["metadata"].get("annotations") or {})
        annotations.pop(metadata.ORIGINAL_CONFIGURATION, None)
        metadata.set_or_drop(restored["metadata"], "annotations", annotations)
        return restored
