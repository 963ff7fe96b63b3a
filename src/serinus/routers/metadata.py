"""Labels, annotations and owner references of the objects the routers write.

Three rules decide the metadata of a Service or mesh object (Flagger's, with one fix):

* An object serinus created carries a controller reference to its Canary, so deleting the
  Canary deletes it. serinus owns its metadata: labels and annotations not asked for are removed,
  except annotations on mesh objects, where other controllers (a Gateway API implementation, an
  ingress controller) write their own and must keep them.
  A cluster-scoped object (Kuma's TrafficRoute) cannot be owned by a namespaced Canary, so it
  names its Canary in the :data:`OWNER_ANNOTATION` annotation instead; it is serinus's all the
  same, and deleting the Canary leaves it behind, as in Flagger.
* An object serinus found (a user's apex Service, a VirtualService applied by hand) is taken over:
  it gets the requested labels and annotations, nothing is removed, and no owner reference is
  added, so deleting the Canary never deletes a user's object.
* Keys listed in ``spec.service.unmanagedMetadata`` are never added, removed or overwritten:
  another controller owns them (Flagger 1.38's fix for routers fighting, e.g., Argo CD or
  service-mesh injectors over a label).

Every object written also gets Flux's "do not reconcile" annotations, as Flagger's do, so a Flux
sync does not put back the selector or the weights serinus is moving mid-release.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from serinus.apis.base import Manifest
from serinus.apis.canary import GROUP, Canary
from serinus.errors import RouterError

FLUX_ANNOTATIONS = {
    "kustomize.toolkit.fluxcd.io/reconcile": "disabled",
    "helm.toolkit.fluxcd.io/driftDetection": "disabled",
}
"""Set on every object serinus writes, so that Flux leaves its selector and weights alone."""

ORIGINAL_CONFIGURATION = "flagger.kubernetes.io/original-configuration"
"""Annotation keeping the spec of a taken-over mesh object, restored on finalize (Flagger's)."""

OWNER_ANNOTATION = "serinus.io/canary"
"""``<namespace>/<name>`` of the Canary that created a cluster-scoped object."""

KUBECTL_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

CANARY_API_VERSION = f"{GROUP}/v1beta1"


def owner_reference(canary: Canary, *, provider: str) -> Manifest:
    """The controller reference from a generated object to its Canary."""
    if not canary.metadata.uid:
        raise RouterError(
            provider,
            f"Canary {canary.namespace}/{canary.name}: expected metadata.uid (a Canary read "
            "from the API server), found none; generated objects need it as their owner",
        )
    return {
        "apiVersion": CANARY_API_VERSION,
        "kind": "Canary",
        "name": canary.name,
        "uid": canary.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def owner_annotation(canary: Canary) -> str:
    """The :data:`OWNER_ANNOTATION` value naming ``canary``."""
    return f"{canary.namespace}/{canary.name}"


def _annotated_owner(manifest: Manifest) -> str | None:
    annotations = (manifest.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(OWNER_ANNOTATION)
    return value if isinstance(value, str) else None


def controller_of(manifest: Manifest) -> Manifest | None:
    """The owner reference marked ``controller``, if any."""
    for reference in (manifest.get("metadata") or {}).get("ownerReferences") or []:
        if reference.get("controller"):
            return dict(reference)
    return None


def controlled_by(manifest: Manifest, canary: Canary) -> bool:
    """Whether this Canary created the object (its controller reference, or for a
    cluster-scoped object its :data:`OWNER_ANNOTATION`, names the Canary)."""
    if _annotated_owner(manifest) == owner_annotation(canary):
        return True
    reference = controller_of(manifest)
    if reference is None or reference.get("kind") != "Canary":
        return False
    if reference.get("name") != canary.name:
        return False
    uid = reference.get("uid")
    return not (uid and canary.metadata.uid and uid != canary.metadata.uid)


def check_not_foreign(manifest: Manifest, canary: Canary, *, provider: str, what: str) -> None:
    """RouterError when another Canary controls the object: two releases would fight over it."""
    annotated = _annotated_owner(manifest)
    if annotated is not None and annotated != owner_annotation(canary):
        raise RouterError(
            provider,
            f"{what}: belongs to Canary {annotated}, not to {owner_annotation(canary)}; "
            "give this Canary another spec.service.name",
        )
    reference = controller_of(manifest)
    if reference is None or reference.get("kind") != "Canary":
        return
    if reference.get("name") != canary.name:
        raise RouterError(
            provider,
            f"{what}: belongs to Canary {canary.namespace}/{reference.get('name')}, "
            f"not to {canary.namespace}/{canary.name}; give this Canary another "
            "spec.service.name",
        )


def without_owner(manifest: Manifest, canary: Canary) -> list[Manifest]:
    """The object's owner references, less the ones naming this Canary."""
    references = (manifest.get("metadata") or {}).get("ownerReferences") or []
    return [
        dict(ref)
        for ref in references
        if not (ref.get("kind") == "Canary" and ref.get("name") == canary.name)
    ]


def merge(
    existing: Mapping[str, str] | None,
    desired: Mapping[str, str],
    *,
    unmanaged: Iterable[str] = (),
    keep_others: bool,
) -> dict[str, str]:
    """Labels or annotations after a write.

    Args:
        existing: what the object carries now (None for a new object).
        desired: what serinus asks for.
        unmanaged: keys serinus never adds, removes or overwrites.
        keep_others: keep keys serinus does not ask for (taken-over objects, mesh annotations).
    """
    current = dict(existing or {})
    skip = set(unmanaged)
    merged = {k: v for k, v in current.items() if k in skip or keep_others}
    merged.update({k: v for k, v in desired.items() if k not in skip})
    return merged


def unmanaged_keys(canary: Canary) -> tuple[list[str], list[str]]:
    """``spec.service.unmanagedMetadata`` as (label keys, annotation keys)."""
    unmanaged = canary.spec.service.unmanaged_metadata
    if unmanaged is None:
        return [], []
    return list(unmanaged.labels or []), list(unmanaged.annotations or [])


def set_or_drop(meta: Manifest, key: str, value: Mapping[str, str] | list[Manifest]) -> None:
    """``meta[key] = value``, or no ``key`` at all when ``value`` is empty (as the API keeps it)."""
    if value:
        meta[key] = value
    else:
        meta.pop(key, None)
