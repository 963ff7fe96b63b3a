"""The ``revertOnDeletion`` finalizer on a Canary: putting it on and taking it off.

With ``spec.revertOnDeletion: true`` a Canary carries the finalizer ``finalizer.flagger.app``
(Flagger's name, so Canaries move between the two operators unchanged). Deleting such a Canary
then only marks it (``metadata.deletionTimestamp``); the operator gives the workload back
(:meth:`serinus.ports.Target.finalize`: the target gets the primary's replicas again) and the
traffic (the router's ``finalize``), then calls :func:`remove`, and Kubernetes deletes the Canary
and, through the owner references, everything serinus created for it. Without the finalizer the
owned objects go at once and the target stays scaled to zero, which is what Flagger does too.

:func:`sync` is what a watcher calls for every Canary it sees: it adds the finalizer when
``revertOnDeletion`` is set, and removes it when the field was turned off (but never from a
Canary being deleted: that is :func:`remove`'s job, after the revert). Both write with a
read-modify-write that retries on conflict and only when something changes.
"""

from __future__ import annotations

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.kube import Kube, retry_on_conflict
from serinus.targets import base

FINALIZER = "finalizer.flagger.app"


def has_finalizer(canary: Canary) -> bool:
    return FINALIZER in (canary.metadata.finalizers or [])


def is_terminating(canary: Canary) -> bool:
    """Whether the Canary was deleted and waits for its finalizers."""
    return canary.metadata.deletion_timestamp is not None


async def sync(kube: Kube, canary: Canary) -> None:
    """Add or remove the finalizer to match ``spec.revertOnDeletion``. Idempotent."""
    if is_terminating(canary):
        return
    wanted = bool(canary.spec.revert_on_deletion)
    if wanted != has_finalizer(canary):
        await _write(kube, canary.api_version, canary.namespace, canary.name, present=wanted)


async def remove(kube: Kube, canary: Canary) -> None:
    """Take the finalizer off (after the revert), letting Kubernetes delete the Canary."""
    await remove_from(kube, canary.namespace, canary.name, api_version=canary.api_version)


async def remove_from(
    kube: Kube, namespace: str, name: str, *, api_version: str = "flagger.app/v1beta1"
) -> None:
    """:func:`remove` for a Canary known only by name (one too malformed to read)."""
    await _write(kube, api_version, namespace, name, present=False)


async def _write(kube: Kube, api_version: str, namespace: str, name: str, *, present: bool) -> None:
    async def fetch() -> Manifest:
        return await base.require(kube, api_version, "Canary", namespace, name)

    def change(current: Manifest) -> Manifest:
        finalizers = [f for f in current["metadata"].get("finalizers") or [] if f != FINALIZER]
        if present:
            finalizers.append(FINALIZER)
        if finalizers == (current["metadata"].get("finalizers") or []):
            return {}  # nothing to write
        return {**current, "metadata": {**current["metadata"], "finalizers": finalizers}}

    async def write(manifest: Manifest) -> None:
        if manifest:
            await kube.replace(manifest)

    await retry_on_conflict(fetch, change, write)
