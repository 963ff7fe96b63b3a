"""Objects a router found as wanted, remembered so the next tick need not merge them again.

Every tick reconciles each object a router keeps (:class:`serinus.routers.objects.ManagedObject`),
and nearly always finds it already as wanted. Merging it again (copying it, merging labels and
annotations, comparing) is a good part of a tick's own work, so an object found as wanted is
remembered with a :func:`digest` of everything that finding depended on: the object's uid and
resourceVersion, the blueprint, the desired content, and the Canary's identity and unmanaged
keys (the blueprints' merges are functions of these only). While the digest is the same the
object is known to be as wanted; any change to the object (a user's edit, another writer, our
own write) gives it a new resourceVersion and so a new digest, and drift is repaired at the next
tick as before.

Remembered per API client (each :class:`~serinus.kube.Kube` talks to one cluster), 16 bytes per
object; past :data:`LIMIT` objects everything is forgotten at once.
"""

from __future__ import annotations

import hashlib
import weakref
from typing import TYPE_CHECKING

import orjson

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.errors import SerinusError
from serinus.kube import Kube
from serinus.routers import metadata

if TYPE_CHECKING:
    from serinus.routers.objects import Blueprint, Desired

LIMIT = 100_000
"""Objects remembered per API client before starting over."""

Where = tuple[str, str, str, str]


def digest(
    blueprint: Blueprint, canary: Canary, existing: Manifest, desired: Desired
) -> bytes | None:
    """What updating ``existing`` to ``desired`` depends on, digested (BLAKE2b, 16 bytes); None
    when it cannot be told (no resourceVersion, content JSON cannot carry)."""
    meta = existing.get("metadata") or {}
    version = meta.get("resourceVersion")
    if not version:
        return None
    try:
        data = orjson.dumps(
            [
                type(blueprint).__qualname__,
                blueprint.owns_annotations,
                blueprint.namespaced,
                blueprint.gives_back,
                meta.get("uid"),
                version,
                canary.metadata.uid,
                canary.name,
                canary.namespace,
                metadata.unmanaged_keys(canary),
                desired.body,
                desired.labels,
                desired.annotations,
            ]
        )
    except (TypeError, SerinusError):
        return None
    return hashlib.blake2b(data, digest_size=16).digest()


class Settled:
    """The objects of one cluster found as wanted, by where they are."""

    _of: weakref.WeakKeyDictionary[Kube, Settled] = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        self._digests: dict[Where, bytes] = {}

    @classmethod
    def of(cls, kube: Kube) -> Settled:
        """The objects found as wanted through ``kube``."""
        found = cls._of.get(kube)
        if found is None:
            found = cls._of[kube] = Settled()
        return found

    def __len__(self) -> int:
        return len(self._digests)

    def holds(self, existing: Manifest, digest: bytes | None) -> bool:
        """Whether ``existing`` was found as wanted with this very ``digest``."""
        return digest is not None and self._digests.get(_where(existing)) == digest

    def remember(self, existing: Manifest, digest: bytes | None) -> None:
        if digest is None:
            return
        if len(self._digests) >= LIMIT:
            self._digests.clear()
        self._digests[_where(existing)] = digest

    def forget(self, existing: Manifest) -> None:
        self._digests.pop(_where(existing), None)


def _where(manifest: Manifest) -> Where:
    meta = manifest.get("metadata") or {}
    return (
        str(manifest.get("apiVersion") or ""),
        str(manifest.get("kind") or ""),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )
