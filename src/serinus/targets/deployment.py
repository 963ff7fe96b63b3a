"""``DeploymentTarget``: a Deployment under canary release (Flagger's ``DeploymentController``).

The target Deployment is the canary: users keep applying their new versions to it. serinus keeps
``<target>-primary`` (built in :mod:`serinus.targets.workload`) as the version that serves,
scales the target to zero between releases and back up for a run, and copies the target into the
primary on promotion. The autoscaler, if any, gets a ``-primary`` copy too
(:mod:`serinus.targets.autoscaler`).

Replica counts follow Flagger:

* the new primary gets the target's replicas, or 1 when the target has none (or zero);
* promotion copies the target's replicas only without an autoscaler (the primary's own
  autoscaler decides otherwise) and never copies zero, which would take the primary down;
* scaling from zero gives the target its own ``spec.replicas`` if above zero, else the
  primary's without an autoscaler, else the autoscaler's minimum if above one, else 1;
* ``finalize`` (``revertOnDeletion``) gives the target the primary's replicas back, because the
  target serves alone once the Canary and its primary are gone.

Replicas are written with a merge patch of ``spec.replicas`` (what the ``scale`` subresource
changes), and only when they differ, so repeating a call writes nothing.
"""

from __future__ import annotations

import copy
import logging

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.logs import CanaryLogger
from serinus.ports import Readiness
from serinus.targets import autoscaler, naming, readiness
from serinus.targets.workload import WorkloadTarget, copy_fields

logger = logging.getLogger(__name__)

ROLLOUT_FIELDS = ("progressDeadlineSeconds", "minReadySeconds", "revisionHistoryLimit", "strategy")
"""Deployment spec fields the primary takes from the target on creation and promotion."""


class DeploymentTarget(WorkloadTarget):
    """A ``kind: Deployment`` target and its ``-primary`` copy."""

    kind = "Deployment"

    # --- building the primary ------------------------------------------------------------------

    def primary_spec(self, canary: Canary, target_spec: Manifest) -> Manifest:
        spec = {f: copy.deepcopy(target_spec[f]) for f in ROLLOUT_FIELDS if f in target_spec}
        spec["replicas"] = positive(target_spec.get("replicas")) or 1
        return spec

    def promote_spec(self, canary: Canary, primary_spec: Manifest, target_spec: Manifest) -> None:
        copy_fields(ROLLOUT_FIELDS, target_spec, primary_spec)
        replicas = positive(target_spec.get("replicas"))
        if canary.spec.autoscaler_ref is None and replicas:
            primary_spec["replicas"] = replicas

    async def initialized(self, canary: Canary) -> None:
        scaler = self._autoscaler(canary)
        if scaler is not None:
            await scaler.reconcile_primary()

    async def promoted(self, canary: Canary) -> None:
        await self.initialized(canary)

    # --- readiness -----------------------------------------------------------------------------

    async def is_primary_ready(self, canary: Canary) -> Readiness:
        primary = await self.require_primary(canary)
        found = readiness.deployment(
            primary,
            threshold=readiness.ready_threshold(canary, "primary"),
            deadline_seconds=canary.spec.effective_progress_deadline,
            now=self.clock.now(),
        )
        name = naming.dotted(primary["metadata"]["name"], canary.namespace)
        if not found.ready:
            return Readiness(False, f"{name} not ready: {found.message}", found.retriable)
        if primary.get("spec", {}).get("replicas") == 0:
            return Readiness(
                False, f"halt {canary.key} advancement: primary deployment is scaled to zero"
            )
        return found

    async def is_canary_ready(self, canary: Canary) -> Readiness:
        target = await self.target(canary)
        found = readiness.deployment(
            target,
            threshold=readiness.ready_threshold(canary, "canary"),
            deadline_seconds=canary.spec.effective_progress_deadline,
            now=self.clock.now(),
        )
        if found.ready:
            return found
        name = naming.dotted(canary.spec.target_ref.name, canary.namespace)
        return Readiness(
            False, f"canary deployment {name} not ready: {found.message}", found.retriable
        )

    # --- scaling -------------------------------------------------------------------------------

    async def scale_to_zero(self, canary: Canary) -> None:
        """Scale the target to 0 (pausing a ScaledObject first; see autoscaler for HPAs)."""
        scaler = self._autoscaler(canary)
        if scaler is not None:
            await scaler.pause()
        await self._scale(canary, await self.target(canary), 0)

    async def scale_from_zero(self, canary: Canary) -> None:
        """Give the target its replicas back and let its autoscaler work again."""
        target = await self.target(canary)
        replicas = await self._replicas_from_zero(canary, target)
        scaler = self._autoscaler(canary)
        if scaler is not None:
            await scaler.resume()
        await self._scale(canary, target, replicas)

    async def finalize(self, canary: Canary) -> None:
        """revertOnDeletion: the target gets the primary's replicas and its autoscaler back
        (TargetNotFoundError when it is gone: there is nothing to give back)."""
        target = await self.target(canary)
        primary = await self.primary(canary)
        replicas = positive((primary or {}).get("spec", {}).get("replicas"))
        if not replicas:
            await self.scale_from_zero(canary)
            return
        scaler = self._autoscaler(canary)
        if scaler is not None:
            await scaler.resume()
        await self._scale(canary, target, replicas)

    async def _replicas_from_zero(self, canary: Canary, target: Manifest) -> int:
        own = positive(target.get("spec", {}).get("replicas"))
        if own:
            return own
        scaler = self._autoscaler(canary)
        if scaler is None:
            primary = await self.primary(canary)
            return positive((primary or {}).get("spec", {}).get("replicas")) or 1
        minimum = await scaler.min_replicas()
        return minimum if minimum is not None and minimum > 1 else 1

    async def _scale(self, canary: Canary, target: Manifest, replicas: int) -> None:
        if target.get("spec", {}).get("replicas") == replicas:
            return
        await self.kube.patch(
            self.api_version,
            self.kind,
            _name(canary),
            canary.namespace,
            {"spec": {"replicas": replicas}},
        )
        log = CanaryLogger(logger, canary=canary.key)
        log.debug("%s scaled to %d", naming.dotted(_name(canary), canary.namespace), replicas)

    def _autoscaler(self, canary: Canary) -> autoscaler.Autoscaler | None:
        return autoscaler.autoscaler_for(
            self.kube, canary, include_label_prefixes=self.include_label_prefixes
        )


def _name(canary: Canary) -> str:
    return canary.spec.target_ref.name


def positive(value: object) -> int | None:
    """``value`` when it is an int above zero, else None (replica counts)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
