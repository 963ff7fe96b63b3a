"""Whose workload is it: a Canary releases only a workload nobody else controls.

A Canary names its target by name, and its author may name anything in the namespace. Without a
check, a Canary whose targetRef is another Canary's ``app1-primary`` scales that primary to zero
(the other release's production traffic loses its pods) and creates ``app1-primary-primary``; a
second Canary on the same Deployment fights the first over its primary. So, before anything is
written for a Canary:

* the **target** must have no controlling owner (an ``ownerReference`` with ``controller: true``):
  a workload kept by a controller, a Canary's primary copy above all, is not one people deploy,
  and the controller would undo serinus's changes anyway (or serinus would undo its);
* the **primary** ``<target>-primary``, when it exists, must be controlled by this Canary
  (Kubernetes' ``ownerReferences``, kind Canary, same name: what serinus and Flagger write): one
  owned by another Canary means the target already has a release of its own, and one owned by
  nobody is somebody's workload that serinus would overwrite.

:func:`refusal` reads both and says why the Canary may not go on (None when it may); the operator
asks before each tick and shows the answer on the Canary (a Promoted condition and a Warning
event), so nothing is created. :func:`check_target` and :func:`check_primary` are the same checks
on objects already read, which the workload controllers repeat before they write.
"""

from __future__ import annotations

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.errors import TargetError
from serinus.kube import Kube
from serinus.targets import naming


def controller_of(manifest: Manifest) -> Manifest | None:
    """The owner reference with ``controller: true``, if any."""
    references = (manifest.get("metadata") or {}).get("ownerReferences") or []
    return next((ref for ref in references if ref.get("controller") is True), None)


def is_canary(reference: Manifest) -> bool:
    return reference.get("kind") == "Canary" and str(reference.get("apiVersion", "")).startswith(
        "flagger.app/"
    )


def target_refusal(canary: Canary, target: Manifest, *, kind: str) -> str | None:
    """Why the target may not be released by ``canary`` (it has a controlling owner)."""
    owner = controller_of(target)
    if owner is None:
        return None
    what = naming.where(kind, canary.namespace, canary.spec.target_ref.name)
    by = f"{owner.get('kind')} {canary.namespace}/{owner.get('name')}"
    if is_canary(owner):
        return (
            f"spec.targetRef: {what} is the primary copy that Canary {canary.namespace}/"
            f"{owner.get('name')} keeps; a Canary releases the workload people deploy, so point "
            "spec.targetRef at that Canary's own target, or leave this workload to it"
        )
    return (
        f"spec.targetRef: {what} is controlled by {by} (its ownerReferences); serinus releases "
        "only workloads that no other controller keeps"
    )


def primary_refusal(canary: Canary, primary: Manifest, *, kind: str) -> str | None:
    """Why ``<target>-primary`` may not be used by ``canary`` (it is not this Canary's)."""
    owner = controller_of(primary)
    if owner is not None and is_canary(owner) and owner.get("name") == canary.name:
        return None
    name = naming.primary(canary.spec.target_ref.name)
    what = naming.where(kind, canary.namespace, name)
    target = naming.where(kind, canary.namespace, canary.spec.target_ref.name)
    if owner is not None and is_canary(owner):
        return (
            f"spec.targetRef: {target} is already released by Canary {canary.namespace}/"
            f"{owner.get('name')}, which owns {what}; a workload can have one Canary only"
        )
    return (
        f"spec.targetRef: {what} exists and is not owned by this Canary, so serinus would "
        f"overwrite it; rename or delete it, or give it an ownerReference to Canary "
        f"{canary.namespace}/{canary.name}"
    )


def check_target(canary: Canary, target: Manifest, *, kind: str) -> None:
    """TargetError (permanent) when :func:`target_refusal` refuses."""
    reason = target_refusal(canary, target, kind=kind)
    if reason is not None:
        raise TargetError(reason, retriable=False)


def check_primary(canary: Canary, primary: Manifest, *, kind: str) -> None:
    """TargetError (permanent) when :func:`primary_refusal` refuses."""
    reason = primary_refusal(canary, primary, kind=kind)
    if reason is not None:
        raise TargetError(reason, retriable=False)


async def refusal(kube: Kube, canary: Canary, *, api_version: str, kind: str) -> str | None:
    """Why ``canary`` may not release its target, reading the target and its primary; None
    when it may (or when the target does not exist: that is the controller's to report)."""
    name = canary.spec.target_ref.name
    target = await kube.get(api_version, kind, name, canary.namespace)
    if target is not None and (reason := target_refusal(canary, target, kind=kind)):
        return reason
    primary = await kube.get(api_version, kind, naming.primary(name), canary.namespace)
    if primary is not None:
        return primary_refusal(canary, primary, kind=kind)
    return None
