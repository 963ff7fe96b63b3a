"""``StatefulSetTarget``: a StatefulSet under canary release (serinus; Flagger never shipped one).

The target StatefulSet is the canary, as a Deployment target is: ``<target>-primary`` is a second
StatefulSet with its own pods (``podinfo-primary-0``, ``-1``...) and its own claims
(``data-podinfo-primary-0``...), made from the target's ``volumeClaimTemplates``. Scaling, the
autoscaler and ``revertOnDeletion`` work as for a Deployment (:mod:`serinus.targets.deployment`).
What differs:

* **Revision**: the hash covers the pod template *and* the ``volumeClaimTemplates``, so a new
  claim template (more storage, another class) is a release too.
* **Promotion**: the primary's template is replaced and the StatefulSet's own ordered rolling
  update does the rest (one pod at a time, highest ordinal first, each Ready before the next).
  Kubernetes refuses changes to a StatefulSet's ``volumeClaimTemplates``, ``serviceName`` and
  ``podManagementPolicy``; when those changed, the primary object is deleted with
  ``propagationPolicy: Orphan`` (its pods keep serving, its claims stay), and created again once
  the garbage collector has let it go (a promotion that finds it half replaced, after a restart,
  finishes the job); the new object adopts the pods and rolls them. Existing claims keep their
  size: Kubernetes does not resize claims from a template. ``rollingUpdate.partition`` is not
  copied to the primary (it would stop the promotion part-way), and a target with ``OnDelete`` or
  a partition is refused: its pods would never all run the release being judged.
* **Pods that never become ready** (``spec.statefulSet.unreadyPods``): Kubernetes halts a
  StatefulSet's rolling update while any pod is not Ready, even a pod of the old revision that
  the update would replace, and waits for it for ever. With ``delete`` (the default) serinus
  deletes the pods that are not Ready and not at the update revision whenever it finds the
  primary or the canary not ready, so the update goes on; with ``scaleFromZero`` the promotion
  routes all traffic to the canary, scales the primary to zero together with the new template,
  and scales it back up once its last pod stopped (the annotation
  ``serinus.dev/restore-replicas`` keeps the count across restarts), so every pod starts at the
  new revision in order.
* **Persistent volume claims are never deleted by serinus**, in any of these paths.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.errors import TargetError
from serinus.logs import CanaryLogger
from serinus.ports import Readiness, Revision
from serinus.targets import base, deployment, labels, naming, readiness, revision
from serinus.targets.deployment import DeploymentTarget
from serinus.targets.workload import copy_fields

logger = logging.getLogger(__name__)

MUTABLE_FIELDS = (
    "minReadySeconds",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "ordinals",
)
"""StatefulSet spec fields Kubernetes lets an update change (besides replicas and template)."""
IMMUTABLE_FIELDS = ("serviceName", "podManagementPolicy", "volumeClaimTemplates")
"""Fields the primary takes from the target on creation; a change needs a new primary object."""
RESTORE = "serinus.dev/restore-replicas"
"""Primary annotation: the replicas to scale back to after a promotion from zero."""
REVISION_LABEL = "controller-revision-hash"
GONE_WAIT_SECONDS = 5.0
"""How long a promotion waits for a replaced primary object to go (the garbage collector removes
an orphaning delete's object once it has taken the pods' owner references off; then a retry)."""
GONE_POLL_SECONDS = 0.2


class StatefulSetTarget(DeploymentTarget):
    """A ``kind: StatefulSet`` target and its ``-primary`` copy."""

    kind = "StatefulSet"

    def check(self, canary: Canary, target: Manifest) -> None:
        where = naming.where(self.kind, canary.namespace, canary.spec.target_ref.name)
        strategy = target.get("spec", {}).get("updateStrategy") or {}
        if strategy.get("type") not in (None, "", "RollingUpdate"):
            raise TargetError(
                f"{where}: spec.updateStrategy.type must be RollingUpdate, found"
                f" {strategy.get('type')} (its pods would not run the release being judged)",
                retriable=False,
            )
        partition = (strategy.get("rollingUpdate") or {}).get("partition")
        if partition:
            raise TargetError(
                f"{where}: spec.updateStrategy.rollingUpdate.partition must be 0 or unset,"
                f" found {partition} (pods below it would not run the release being judged)",
                retriable=False,
            )

    # --- revision ------------------------------------------------------------------------------

    async def revision(self, canary: Canary) -> Revision:
        """The hash of the pod template and the claim templates, and the tracked configs."""
        found = await super().revision(canary)
        claims = (await self.target(canary)).get("spec", {}).get("volumeClaimTemplates")
        if not claims:
            return found
        combined = {"template": found.spec_hash, "volumeClaimTemplates": claims}
        return Revision(revision.template_hash(combined), found.configs)

    # --- building and promoting the primary ----------------------------------------------------

    def primary_spec(self, canary: Canary, target_spec: Manifest) -> Manifest:
        fields = (*MUTABLE_FIELDS, *IMMUTABLE_FIELDS, "revisionHistoryLimit")
        spec = {f: copy.deepcopy(target_spec[f]) for f in fields if f in target_spec}
        spec["replicas"] = deployment.positive(target_spec.get("replicas")) or 1
        _drop_partition(spec)
        return spec

    def promote_spec(self, canary: Canary, primary_spec: Manifest, target_spec: Manifest) -> None:
        copy_fields(MUTABLE_FIELDS, target_spec, primary_spec)
        _drop_partition(primary_spec)
        replicas = deployment.positive(target_spec.get("replicas"))
        if canary.spec.autoscaler_ref is None and replicas:
            primary_spec["replicas"] = replicas

    async def promote(self, canary: Canary) -> None:
        """Replace the primary's template (a new primary object if immutable fields changed)."""
        primary = await self._current_primary(canary)
        if (primary.get("metadata", {}).get("annotations") or {}).get(RESTORE):
            return  # promoted from zero already; is_primary_ready finishes it
        target = await self.target(canary)
        if _immutable(target) != _immutable(primary):
            await self._recreate_primary(canary, primary)
        await super().promote(canary)
        if _from_zero(canary):
            promoted = await self.require_primary(canary)
            replicas = deployment.positive(promoted.get("spec", {}).get("replicas")) or 1
            patch = {"metadata": {"annotations": {RESTORE: str(replicas)}}, "spec": {"replicas": 0}}
            await self.kube.patch(
                self.api_version,
                self.kind,
                naming.primary(canary.spec.target_ref.name),
                canary.namespace,
                patch,
            )
            log = CanaryLogger(logger, canary=canary.key)
            log.info(
                "Scaling %s to zero to start it again at the new revision",
                naming.dotted(naming.primary(canary.spec.target_ref.name), canary.namespace),
            )

    async def promotion_stops_primary(self, canary: Canary) -> bool:
        return _from_zero(canary)

    async def _recreate_primary(self, canary: Canary, primary: Manifest) -> None:
        name = primary["metadata"]["name"]
        log = CanaryLogger(logger, canary=canary.key)
        log.info(
            "%s: volumeClaimTemplates, serviceName or podManagementPolicy changed; replacing"
            " the StatefulSet object, its pods and claims stay",
            naming.dotted(name, canary.namespace),
        )
        await self.kube.delete(
            self.api_version, self.kind, name, canary.namespace, cascade="orphan"
        )
        await self._wait_gone(canary, primary)
        await self._create_from_target(canary)

    async def _current_primary(self, canary: Canary) -> Manifest:
        """The primary to promote. One left half replaced, deleted and not created again (an
        operator restart in between, a slow garbage collector), is finished first."""
        primary = await self.primary(canary)
        if primary is not None and not primary["metadata"].get("deletionTimestamp"):
            return primary
        if primary is not None:
            await self._wait_gone(canary, primary)
        await self._create_from_target(canary)
        return await self.require_primary(canary)

    async def _wait_gone(self, canary: Canary, primary: Manifest) -> None:
        """Wait a little for the deleted primary object to go; a retriable error after that."""
        meta = primary["metadata"]
        deadline = time.monotonic() + GONE_WAIT_SECONDS
        while True:
            found = await self.kube.get(
                self.api_version, self.kind, meta["name"], meta["namespace"]
            )
            if found is None or found["metadata"].get("uid") != meta.get("uid"):
                return
            if time.monotonic() >= deadline:
                raise TargetError(
                    f"{naming.dotted(meta['name'], canary.namespace)}: the replaced StatefulSet"
                    f" object is still being deleted (finalizers:"
                    f" {found['metadata'].get('finalizers') or []}); promoting when it is gone"
                )
            await asyncio.sleep(GONE_POLL_SECONDS)

    async def _create_from_target(self, canary: Canary) -> None:
        target = await self.target(canary)
        key, value = labels.selector_label(target, self.selector_labels)
        tracked = await self.configs.tracked(canary.namespace, base.pod_spec(target))
        await self._create_primary(canary, target, key, value, tracked)

    # --- readiness -----------------------------------------------------------------------------

    async def is_primary_ready(self, canary: Canary) -> Readiness:
        primary = await self.require_primary(canary)
        name = naming.dotted(primary["metadata"]["name"], canary.namespace)
        restore = (primary.get("metadata", {}).get("annotations") or {}).get(RESTORE)
        if restore:
            return await self._restore(canary, primary, int(restore))
        found = readiness.statefulset(
            primary, threshold=readiness.ready_threshold(canary, "primary")
        )
        if found.ready:
            if primary.get("spec", {}).get("replicas") == 0:
                return Readiness(
                    False, f"halt {canary.key} advancement: primary statefulset is scaled to zero"
                )
            return found
        await self._delete_stuck_pods(canary, primary)
        return Readiness(False, f"{name} not ready: {found.message}", found.retriable)

    async def is_canary_ready(self, canary: Canary) -> Readiness:
        target = await self.target(canary)
        found = readiness.statefulset(target, threshold=readiness.ready_threshold(canary, "canary"))
        if found.ready:
            return found
        await self._delete_stuck_pods(canary, target)
        name = naming.dotted(canary.spec.target_ref.name, canary.namespace)
        return Readiness(
            False, f"canary statefulset {name} not ready: {found.message}", found.retriable
        )

    async def _restore(self, canary: Canary, primary: Manifest, replicas: int) -> Readiness:
        """Promotion from zero: once every old pod stopped, scale the primary back up."""
        meta, status = primary["metadata"], primary.get("status") or {}
        name = naming.dotted(meta["name"], canary.namespace)
        observed = status.get("observedGeneration", 0) >= meta.get("generation", 0)
        left = int(status.get("replicas") or 0)
        if not observed or left:
            return Readiness(
                False, f"{name} not ready: waiting for its {left} pods at the old revision to stop"
            )
        patch = {"metadata": {"annotations": {RESTORE: None}}, "spec": {"replicas": replicas}}
        await self.kube.patch(self.api_version, self.kind, meta["name"], canary.namespace, patch)
        log = CanaryLogger(logger, canary=canary.key)
        log.info("Scaling %s from zero to %d", name, replicas)
        return Readiness(False, f"{name} not ready: starting {replicas} pods from zero")

    async def _delete_stuck_pods(self, canary: Canary, statefulset: Manifest) -> None:
        """unreadyPods delete: remove the unready pods the rolling update would wait for."""
        if _from_zero(canary):
            return
        meta, status = statefulset["metadata"], statefulset.get("status") or {}
        update = status.get("updateRevision")
        if not update or status.get("observedGeneration", 0) < meta.get("generation", 0):
            return
        selector = (statefulset.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
        log = CanaryLogger(logger, canary=canary.key)
        for pod in await self.kube.list("v1", "Pod", canary.namespace, selector):
            pod_meta = pod.get("metadata") or {}
            owners = [r.get("uid") for r in pod_meta.get("ownerReferences") or []]
            at = (pod_meta.get("labels") or {}).get(REVISION_LABEL)
            if meta.get("uid") not in owners or at == update or _pod_ready(pod):
                continue
            await self.kube.delete("v1", "Pod", pod_meta["name"], canary.namespace)
            log.info(
                "Deleted pod %s: not ready at revision %s, it held up the rollout to %s",
                naming.dotted(pod_meta["name"], canary.namespace),
                at,
                update,
            )


def _drop_partition(spec: Manifest) -> None:
    rolling = (spec.get("updateStrategy") or {}).get("rollingUpdate")
    if isinstance(rolling, dict):
        rolling.pop("partition", None)


def _immutable(workload: Manifest) -> list[object]:
    spec = workload.get("spec") or {}
    claims = [
        {"metadata": {"name": (c.get("metadata") or {}).get("name")}, "spec": c.get("spec")}
        for c in spec.get("volumeClaimTemplates") or []
    ]
    return [spec.get("serviceName"), spec.get("podManagementPolicy") or "OrderedReady", claims]


def _from_zero(canary: Canary) -> bool:
    options = canary.spec.stateful_set
    return options is not None and options.effective_unready_pods == "scaleFromZero"


def _pod_ready(pod: Manifest) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
