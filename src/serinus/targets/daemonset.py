"""``DaemonSetTarget``: a DaemonSet under canary release (Flagger's ``DaemonSetController``).

A DaemonSet has no replica count, so "scaled to zero" means the node selector
``flagger.app/scale-to-zero: "true"``, which no node carries: the DaemonSet controller removes the
target's pods and schedules none. Scaling from zero removes that key again. Because serinus
itself puts the key on the target's pod template, the revision hash ignores it (and treats an
empty node selector as none), so scaling never looks like a new release; the primary never gets
the key.

Only the ``RollingUpdate`` update strategy can be released this way (an ``OnDelete`` DaemonSet
would never roll its pods on promotion), and a DaemonSet has nothing to autoscale: both are
refused with an error naming the field. Readiness compares scheduled, updated and available
daemon pods (:func:`serinus.targets.readiness.daemonset`).
"""

from __future__ import annotations

import copy
import logging

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.errors import TargetError
from serinus.ports import Readiness
from serinus.targets import naming, readiness
from serinus.targets.workload import WorkloadTarget, copy_fields

logger = logging.getLogger(__name__)

ROLLOUT_FIELDS = ("minReadySeconds", "revisionHistoryLimit", "updateStrategy")
"""DaemonSet spec fields the primary takes from the target on creation and promotion."""


class DaemonSetTarget(WorkloadTarget):
    """A ``kind: DaemonSet`` target and its ``-primary`` copy."""

    kind = "DaemonSet"

    def check(self, canary: Canary, target: Manifest) -> None:
        where = naming.where(self.kind, canary.namespace, canary.spec.target_ref.name)
        strategy = (target.get("spec", {}).get("updateStrategy") or {}).get("type")
        if strategy not in (None, "", "RollingUpdate"):
            raise TargetError(
                f"{where}: spec.updateStrategy.type must be RollingUpdate, found {strategy}",
                retriable=False,
            )
        ref = canary.spec.autoscaler_ref
        if ref is not None:
            raise TargetError(
                f"Canary {canary.namespace}/{canary.name}: spec.autoscalerRef must be empty for "
                f"a DaemonSet target (it has no replicas to scale), found {ref.kind} {ref.name}",
                retriable=False,
            )

    # --- building the primary ------------------------------------------------------------------

    def primary_spec(self, canary: Canary, target_spec: Manifest) -> Manifest:
        return {f: copy.deepcopy(target_spec[f]) for f in ROLLOUT_FIELDS if f in target_spec}

    def promote_spec(self, canary: Canary, primary_spec: Manifest, target_spec: Manifest) -> None:
        copy_fields(ROLLOUT_FIELDS, target_spec, primary_spec)

    def adjust_primary_pod_spec(self, pod_spec: Manifest) -> None:
        _drop_scale_to_zero(pod_spec)

    def template_for_hash(self, template: Manifest) -> Manifest:
        _drop_scale_to_zero(template.get("spec") or {})
        return template

    # --- readiness -----------------------------------------------------------------------------

    async def is_primary_ready(self, canary: Canary) -> Readiness:
        primary = await self.require_primary(canary)
        found = readiness.daemonset(primary, threshold=readiness.ready_threshold(canary, "primary"))
        if found.ready:
            return found
        name = naming.dotted(primary["metadata"]["name"], canary.namespace)
        return Readiness(False, f"primary daemonset {name} not ready: {found.message}")

    async def is_canary_ready(self, canary: Canary) -> Readiness:
        target = await self.target(canary)
        found = readiness.daemonset(target, threshold=readiness.ready_threshold(canary, "canary"))
        if found.ready:
            return found
        name = naming.dotted(canary.spec.target_ref.name, canary.namespace)
        return Readiness(False, f"canary daemonset {name} not ready: {found.message}")

    # --- scaling -------------------------------------------------------------------------------

    async def scale_to_zero(self, canary: Canary) -> None:
        """Add the node selector that matches no node."""
        await self._node_selector(canary, await self.target(canary), "true")

    async def scale_from_zero(self, canary: Canary) -> None:
        """Remove the scale-to-zero node selector."""
        await self._node_selector(canary, await self.target(canary), None)

    async def finalize(self, canary: Canary) -> None:
        """revertOnDeletion: the target's pods run again (TargetNotFoundError when it is gone)."""
        await self._node_selector(canary, await self.target(canary), None)

    async def _node_selector(self, canary: Canary, target: Manifest, value: str | None) -> None:
        pod_spec = (target.get("spec", {}).get("template") or {}).get("spec") or {}
        if (pod_spec.get("nodeSelector") or {}).get(naming.SCALE_TO_ZERO) == value:
            return
        patch = {"spec": {"template": {"spec": {"nodeSelector": {naming.SCALE_TO_ZERO: value}}}}}
        name = canary.spec.target_ref.name
        await self.kube.patch(self.api_version, self.kind, name, canary.namespace, patch)


def _drop_scale_to_zero(pod_spec: Manifest) -> None:
    selector = pod_spec.get("nodeSelector")
    if isinstance(selector, dict):
        selector.pop(naming.SCALE_TO_ZERO, None)
        if not selector:
            del pod_spec["nodeSelector"]
