"""Helpers every workload controller shares: reading what must exist, writing copies it owns.

The contract the controllers implement is :class:`serinus.ports.Target`; this module holds the
small pieces under it that the Deployment and DaemonSet controllers, the config tracker and the
autoscaler copies all need:

* :func:`require` reads an object that must exist and says which one is missing
  (``Deployment prod/podinfo not found``), instead of ``None`` or the API's raw 404 text;
* :func:`owner_reference` makes the Canary the controlling owner of every copy, so deleting the
  Canary deletes what serinus created (Kubernetes' garbage collector does it);
* :func:`upsert` creates an object or replaces it with the given content, read-modify-write
  with a retry on conflict, because every port method may run on every tick and must converge.

Everything talks to the API through :class:`serinus.kube.Kube` with plain dict manifests.
"""

from __future__ import annotations

import logging

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.errors import ConflictError, NotFoundError, TargetError
from serinus.kube import Kube, retry_on_conflict
from serinus.targets import naming

logger = logging.getLogger(__name__)

APPS = "apps/v1"


async def require(kube: Kube, api_version: str, kind: str, namespace: str, name: str) -> Manifest:
    """The object; NotFoundError naming it (``Deployment prod/podinfo not found``) when absent."""
    found = await kube.get(api_version, kind, name, namespace)
    if found is None:
        raise NotFoundError(f"{naming.where(kind, namespace, name)} not found")
    return found


def owner_reference(canary: Canary) -> Manifest:
    """The Canary as controlling owner (garbage collection removes the copy with the Canary)."""
    uid = canary.metadata.uid
    if not uid:
        raise TargetError(
            f"Canary {canary.namespace}/{canary.name}: expected metadata.uid (a Canary read "
            "from the API), found none; copies could not be owned by it",
            retriable=False,
        )
    return {
        "apiVersion": canary.api_version,
        "kind": "Canary",
        "name": canary.name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


async def upsert(kube: Kube, desired: Manifest) -> Manifest:
    """Create ``desired``, or replace the stored object's content with it.

    Everything but ``metadata`` comes from ``desired``; the stored metadata is kept except for the
    keys ``desired`` sets (its labels and annotations replace the stored ones), so the uid,
    resourceVersion and finalizers stay and a replace never fights other controllers.
    """
    meta = desired["metadata"]
    api_version, kind = desired["apiVersion"], desired["kind"]
    name, namespace = meta["name"], meta.get("namespace")

    async def fetch() -> Manifest:
        return await kube.get(api_version, kind, name, namespace) or {}  # {}: not there yet

    def mutate(current: Manifest) -> Manifest:
        if not current:
            return desired
        merged = dict(desired)
        merged["metadata"] = {**current["metadata"], **meta}
        merged["metadata"]["resourceVersion"] = current["metadata"].get("resourceVersion")
        return merged

    async def write(manifest: Manifest) -> Manifest:
        if manifest.get("metadata", {}).get("resourceVersion"):
            return await kube.replace(manifest)
        return await kube.create(manifest)  # ConflictError when created meanwhile: read again

    try:
        return await retry_on_conflict(fetch, mutate, write)
    except ConflictError as error:
        raise TargetError(f"{naming.where(kind, namespace or '', name)}: {error}") from error


def pod_spec(workload: Manifest) -> Manifest:
    """``spec.template.spec`` of a workload (empty when absent)."""
    template = workload.get("spec", {}).get("template") or {}
    spec = template.get("spec")
    return spec if isinstance(spec, dict) else {}
