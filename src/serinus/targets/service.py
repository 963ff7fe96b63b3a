"""``ServiceTarget``: a plain Kubernetes Service under canary release (Flagger's ServiceController).

The target is a Service that the user owns and points at whatever serves the current version
(its selector names one Deployment's pods, say ``app: podinfo-v2``). Changing the Service's spec
is the release. serinus keeps two copies (Flagger's names, from ``targetRef.name``):

* ``<target>-canary`` follows the target: written from it on every tick, so it selects the new
  version at once;
* ``<target>-primary`` is created once from the target and is changed only by promotion, which
  copies the target's spec into it (its cluster IP stays; labels and annotations are copied by the
  operator's include prefixes).

The revision is the hash of the target's spec (without the addresses the API server assigns).
There is nothing to scale: scaling to zero and back, and ``revertOnDeletion``, leave everything as
it is, as Flagger does. The routers create no Services for this kind (the target *is* the apex):
a mesh provider splits the apex's traffic between the two copies, and the ``kubernetes`` provider
runs a blue/green where clients reach the new version through ``<target>-canary`` until
promotion.

Readiness, where Flagger always answers "ready": a copy whose selector matches no ready pod (its
Endpoints list no ready address) is not ready, with the selector in the message, so a release that
points at pods that do not exist waits, and fails at the progress deadline, instead of being
judged on no traffic. A Service without a selector (endpoints managed by hand) is always ready.
A Knative Service (``serving.knative.dev``) never gets here: the Canary model refuses it, as
serinus has no Knative router.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.kube import Kube, retry_on_conflict
from serinus.logs import CanaryLogger
from serinus.ports import Readiness, Revision
from serinus.targets import base, labels, naming, revision

logger = logging.getLogger(__name__)

ASSIGNED = ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "healthCheckNodePort")
"""Spec fields the API server fills in per Service: never copied, never hashed."""
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class ServiceTarget:
    """A ``kind: Service`` target and its ``-primary`` and ``-canary`` copies."""

    def __init__(
        self,
        kube: Kube,
        *,
        include_label_prefixes: Iterable[str] = labels.DEFAULT_INCLUDE_PREFIXES,
    ) -> None:
        """Only the label prefixes of the workload targets' options apply: no pods, no configs."""
        self.kube = kube
        self.include_label_prefixes = tuple(include_label_prefixes)

    async def target(self, canary: Canary) -> Manifest:
        name = canary.spec.target_ref.name
        return await base.require(self.kube, "v1", "Service", canary.namespace, name)

    async def initialize(self, canary: Canary) -> None:
        """``-canary`` follows the target; ``-primary`` is created once. Idempotent."""
        target = await self.target(canary)
        name = canary.spec.target_ref.name
        await self._write(canary, target, f"{name}-canary", create_only=False)
        await self._write(canary, target, naming.primary(name), create_only=True)

    async def revision(self, canary: Canary) -> Revision:
        target = await self.target(canary)
        return Revision(revision.template_hash(_spec(target)))

    async def promote(self, canary: Canary) -> None:
        """Copy the target's spec, labels and annotations into ``-primary``."""
        target = await self.target(canary)
        name = naming.primary(canary.spec.target_ref.name)

        def promoted(primary: Manifest) -> Manifest:
            updated = copy.deepcopy(primary)
            spec = _spec(target)
            spec.update({k: v for k, v in (primary.get("spec") or {}).items() if k in ASSIGNED})
            updated["spec"] = spec
            meta = target.get("metadata") or {}
            updated["metadata"]["labels"] = labels.copied(
                meta.get("labels"), self.include_label_prefixes
            )
            updated["metadata"]["annotations"] = _annotations(meta, self.include_label_prefixes)
            return updated

        async def fetch() -> Manifest:
            return await base.require(self.kube, "v1", "Service", canary.namespace, name)

        await retry_on_conflict(fetch, promoted, self.kube.replace)

    async def promotion_stops_primary(self, canary: Canary) -> bool:
        return False

    async def is_primary_ready(self, canary: Canary) -> Readiness:
        return await self._ready(canary, naming.primary(canary.spec.target_ref.name))

    async def is_canary_ready(self, canary: Canary) -> Readiness:
        return await self._ready(canary, f"{canary.spec.target_ref.name}-canary")

    async def scale_to_zero(self, canary: Canary) -> None:
        """A Service has nothing to scale."""

    async def scale_from_zero(self, canary: Canary) -> None:
        """A Service has nothing to scale."""

    async def finalize(self, canary: Canary) -> None:
        """The target was never changed: nothing to give back."""

    async def _ready(self, canary: Canary, name: str) -> Readiness:
        service = await base.require(self.kube, "v1", "Service", canary.namespace, name)
        selector = (service.get("spec") or {}).get("selector")
        if not selector:
            return Readiness(True)
        endpoints = await self.kube.get("v1", "Endpoints", name, canary.namespace) or {}
        ready = sum(len(s.get("addresses") or []) for s in endpoints.get("subsets") or [])
        if ready:
            return Readiness(True)
        shown = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        return Readiness(
            False,
            f"service {naming.dotted(name, canary.namespace)} not ready: no ready pod matches its"
            f" selector {shown}",
        )

    async def _write(
        self, canary: Canary, target: Manifest, name: str, *, create_only: bool
    ) -> None:
        existing = await self.kube.get("v1", "Service", name, canary.namespace)
        if existing is not None and create_only:
            return
        desired = _copy(canary, target, name, self.include_label_prefixes)
        if existing is not None:
            kept = {k: v for k, v in (existing.get("spec") or {}).items() if k in ASSIGNED}
            desired["spec"].update(kept)
            if _same(existing, desired):
                return
        await base.upsert(self.kube, desired)
        log = CanaryLogger(logger, canary=canary.key)
        action = "created" if existing is None else "updated"
        log.info("Service %s %s", naming.dotted(name, canary.namespace), action)


def _spec(service: Manifest) -> Manifest:
    spec = copy.deepcopy(service.get("spec") or {})
    for key in ASSIGNED:
        spec.pop(key, None)
    return spec


def _annotations(meta: Manifest, prefixes: tuple[str, ...]) -> dict[str, str]:
    found = labels.copied(meta.get("annotations"), prefixes)
    found.pop(LAST_APPLIED, None)
    return found


def _copy(canary: Canary, target: Manifest, name: str, prefixes: tuple[str, ...]) -> Manifest:
    meta = target.get("metadata") or {}
    spec = _spec(target)
    distribution = canary.spec.service.traffic_distribution
    if distribution:
        spec["trafficDistribution"] = distribution
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": canary.namespace,
            "labels": labels.copied(meta.get("labels"), prefixes),
            "annotations": _annotations(meta, prefixes),
            "ownerReferences": [base.owner_reference(canary)],
        },
        "spec": spec,
    }


def _same(existing: Manifest, desired: Manifest) -> bool:
    meta, wanted = existing.get("metadata") or {}, desired["metadata"]
    return (
        (existing.get("spec") or {}) == desired["spec"]
        and (meta.get("labels") or {}) == wanted["labels"]
        and (meta.get("annotations") or {}) == wanted["annotations"]
        and any(
            r.get("uid") == wanted["ownerReferences"][0]["uid"]
            for r in meta.get("ownerReferences") or []
        )
    )
