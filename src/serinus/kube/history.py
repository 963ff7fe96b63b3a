"""``HistoryStore``: each Canary's run history in a ConfigMap of its own, beside the Canary.

The history (:mod:`serinus.apis.history`) cannot live in the Canary's status, which must stay
small, and must outlive the operator process, so it is an API object: a ConfigMap named
:func:`configmap_name` in the Canary's namespace, owned by the Canary (deleting the Canary
deletes it), holding the history as compact JSON under ``history.json``. The operator needs
nothing beyond what config tracking already asks of it (get, create and update ConfigMaps).

Whoever may edit ConfigMaps in the namespace may edit this one too, so a read that does not
parse is reported as None with a warning (the operator then starts a new history): it is a
record for people, never an input to a decision.

The operator's informers do not hold these ConfigMaps (:data:`serinus.kube.cache.UNHELD`): the
recorder holds the histories it writes, and with ``--shards auto`` every replica would otherwise
keep every history of the cluster. So a :class:`HistoryStore` remembers the resourceVersion of
each history it last read or wrote and replaces the ConfigMap with it: a write is one PUT, with
no read before it. A 409 Conflict (someone else wrote it: a person, or a replica that took the
Canary over) or a 404 (deleted meanwhile) reads the ConfigMap from the API server and writes
once more; the history written is the recorder's, as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING

import pydantic

from serinus import errors
from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.apis.history import History

if TYPE_CHECKING:  # the cache (imported by the client) reads this module's names
    from serinus.kube.client import Kube

logger = logging.getLogger(__name__)

KEY = "history.json"
SUFFIX = "-serinus-history"
LABEL = "serinus.io/history"
_MAX_NAME = 253


def configmap_name(canary_name: str) -> str:
    """``<canary>-serinus-history``, shortened with a hash when that would be too long."""
    name = f"{canary_name}{SUFFIX}"
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(canary_name.encode()).hexdigest()[:10]
    keep = _MAX_NAME - len(SUFFIX) - len(digest) - 1
    return f"{canary_name[:keep].rstrip('.-')}-{digest}{SUFFIX}"


def parse(manifest: Manifest | None) -> History | None:
    """The history a ConfigMap holds, None when it holds none that parses."""
    if manifest is None:
        return None
    text = (manifest.get("data") or {}).get(KEY)
    if not isinstance(text, str):
        return None
    try:
        return History.model_validate_json(text)
    except pydantic.ValidationError as error:
        where = (manifest.get("metadata") or {}).get("name", "")
        logger.warning("ConfigMap %s: %s is not a run history: %s", where, KEY, str(error)[:200])
        return None


class HistoryStore:
    """Reads and writes run histories through the API."""

    def __init__(self, kube: Kube) -> None:
        self._kube = kube
        self._versions: dict[tuple[str, str], str | None] = {}
        """The resourceVersion of each history as last read or written here (None: absent)."""

    async def read(self, namespace: str, canary_name: str) -> History | None:
        """The Canary's history; None when it has none (or none that can be read)."""
        manifest = await self._get(namespace, canary_name)
        return parse(manifest)

    async def write(self, canary: Canary, history: History) -> None:
        """Create or replace the Canary's history ConfigMap."""
        await self.write_text(canary.namespace, canary.name, owner(canary), text(history))

    async def write_text(
        self, namespace: str, canary_name: str, owners: list[Manifest], body: str
    ) -> None:
        """Create or replace a Canary's history ConfigMap with ``body`` (:func:`text`): one
        request when this store read or wrote it last."""
        key = (namespace, canary_name)
        manifest: Manifest = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": configmap_name(canary_name),
                "namespace": namespace,
                "labels": {LABEL: "true", "app.kubernetes.io/managed-by": "serinus"},
                "ownerReferences": owners,
            },
            "data": {KEY: body},
        }
        if key not in self._versions:
            await self._get(namespace, canary_name)
        try:
            try:
                written = await self._put(manifest, self._versions[key])
            except errors.NotFoundError:  # deleted meanwhile
                written = await self._put(manifest, None)
            except errors.ConflictError:  # written (or created) by someone else meanwhile
                await self._get(namespace, canary_name)
                written = await self._put(manifest, self._versions[key])
        except BaseException:
            self._versions.pop(key, None)  # unknown: read before the next write
            raise
        self._versions[key] = _version(written)

    def forget(self, namespace: str, canary_name: str) -> None:
        """The Canary is gone or went to another replica: its version is read again if needed."""
        self._versions.pop((namespace, canary_name), None)

    async def _get(self, namespace: str, canary_name: str) -> Manifest | None:
        """The ConfigMap from the API server (no cache holds it), its version remembered."""
        manifest = await self._kube.get("v1", "ConfigMap", configmap_name(canary_name), namespace)
        self._versions[(namespace, canary_name)] = _version(manifest)
        return manifest

    async def _put(self, manifest: Manifest, version: str | None) -> Manifest:
        """Create the ConfigMap (``version`` None) or replace that version of it."""
        if version is None:
            manifest["metadata"].pop("resourceVersion", None)
            return await self._kube.create(manifest)
        manifest["metadata"]["resourceVersion"] = version
        return await self._kube.replace(manifest)


def _version(manifest: Manifest | None) -> str | None:
    if manifest is None:
        return None
    version = (manifest.get("metadata") or {}).get("resourceVersion")
    return str(version) if version else None


def text(history: History) -> str:
    """The history as the ConfigMap holds it (compact JSON)."""
    return json.dumps(history.dump(), separators=(",", ":"))


def owner(canary: Canary) -> list[Manifest]:
    """The ownerReferences of a Canary's history ConfigMap (deleting the Canary deletes it)."""
    if not canary.metadata.uid:
        return []
    return [
        {
            "apiVersion": canary.api_version,
            "kind": "Canary",
            "name": canary.name,
            "uid": canary.metadata.uid,
        }
    ]
