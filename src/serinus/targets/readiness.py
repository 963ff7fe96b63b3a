"""Is a workload's rollout done? Pure functions of a Deployment's, DaemonSet's or StatefulSet's
status.

The controllers call these with the object as read and prefix the reason with the workload
(``podinfo-primary.prod not ready: ...``, ``canary deployment podinfo.prod not ready: ...``).
The wording follows Flagger (``deployment_ready.go``), because users grep for it.

A Deployment is ready when the deployment controller has seen its latest spec, every desired
replica runs the new template, no old replica is left, and at least ``readyThreshold`` percent of
the updated replicas are available. Waiting is *retriable* (the next tick looks again) except
when Kubernetes itself gave up: condition ``Progressing`` with reason
``ProgressDeadlineExceeded``, or ``Available=False``/``MinimumReplicasUnavailable`` unchanged for
longer than the Canary's ``progressDeadlineSeconds``. The controller also measures waits itself
(:mod:`serinus.controller.readiness`), so a pod that crash-loops without Kubernetes noticing is
caught too.

A DaemonSet has no deadline condition; its readiness compares the scheduled, updated and
available daemon pods. (Flagger measures a DaemonSet's deadline from the Canary's
``lastTransitionTime``, which every status write moves; serinus leaves that to the controller.)
A StatefulSet is ready, as ``kubectl rollout status`` judges it, when its controller has seen the
latest spec, every replica runs the update revision (``currentRevision == updateRevision``) and
``readyThreshold`` percent of them are ready.
"""

from __future__ import annotations

import datetime
from typing import Any

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.ports import Readiness

WAITING = "waiting for rollout to finish"


def ready_threshold(canary: Canary, workload: str) -> int:
    """``primaryReadyThreshold`` or ``canaryReadyThreshold`` of the Canary (100 when unset)."""
    analysis = canary.spec.effective_analysis
    if analysis is None:
        return 100
    if workload == "primary":
        return analysis.effective_primary_ready_threshold
    return analysis.effective_canary_ready_threshold


def required_available(updated: int, threshold: int) -> int:
    """How many of ``updated`` replicas must be available: ``threshold`` percent, rounded down."""
    return updated * threshold // 100


def deployment(
    obj: Manifest, *, threshold: int, deadline_seconds: int, now: datetime.datetime
) -> Readiness:
    """Readiness of a Deployment; the message is the reason only, without the workload's name."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if _int(obj.get("metadata", {}).get("generation")) > _int(status.get("observedGeneration")):
        return Readiness(
            False, f"{WAITING}: observed deployment generation less than desired generation"
        )
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    progressing = conditions.get("Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        name = obj.get("metadata", {}).get("name", "")
        return Readiness(False, f'deployment "{name}" exceeded its progress deadline', False)
    retriable = not _stuck(conditions.get("Available"), deadline_seconds, now)
    updated, replicas = _int(status.get("updatedReplicas")), _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    desired = spec.get("replicas")
    if desired is not None and updated < desired:
        return Readiness(
            False,
            f"{WAITING}: {updated} out of {desired} new replicas have been updated",
            retriable,
        )
    if replicas > updated:
        return Readiness(
            False,
            f"{WAITING}: {replicas - updated} old replicas are pending termination",
            retriable,
        )
    required = required_available(updated, threshold)
    if available < required:
        return Readiness(
            False,
            f"{WAITING}: {available} of {required} (readyThreshold {threshold}%) "
            "updated replicas are available",
            retriable,
        )
    return Readiness(True)


def daemonset(obj: Manifest, *, threshold: int) -> Readiness:
    """Readiness of a DaemonSet; the message is the reason only, without the workload's name."""
    status = obj.get("status") or {}
    if _int(obj.get("metadata", {}).get("generation")) > _int(status.get("observedGeneration")):
        return Readiness(
            False, f"{WAITING}: observed daemonset generation less than desired generation"
        )
    desired = _int(status.get("desiredNumberScheduled"))
    updated = _int(status.get("updatedNumberScheduled"))
    available = _int(status.get("numberAvailable"))
    if updated < desired:
        return Readiness(False, f"{WAITING}: {updated} out of {desired} new pods have been updated")
    required = required_available(desired, threshold)
    if available < required:
        unavailable = _int(status.get("numberUnavailable"))
        return Readiness(
            False,
            f"{WAITING}: {available} of {required} (readyThreshold {threshold}%) updated pods "
            f"are available ({unavailable} unavailable)",
        )
    return Readiness(True)


def statefulset(obj: Manifest, *, threshold: int) -> Readiness:
    """Readiness of a StatefulSet; the message is the reason only, without the workload's name."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if _int(obj.get("metadata", {}).get("generation")) > _int(status.get("observedGeneration")):
        return Readiness(
            False, f"{WAITING}: observed statefulset generation less than desired generation"
        )
    desired = spec.get("replicas", 1)
    desired = desired if isinstance(desired, int) else 1
    updated = _int(status.get("updatedReplicas"))
    update = status.get("updateRevision")
    if updated < desired:
        return Readiness(
            False, f"{WAITING}: {updated} out of {desired} pods are at revision {update}"
        )
    required = required_available(desired, threshold)
    ready = _int(status.get("readyReplicas"))
    if ready < required:
        return Readiness(
            False, f"{WAITING}: {ready} of {required} (readyThreshold {threshold}%) pods are ready"
        )
    if _int(status.get("replicas")) > desired or status.get("currentRevision") != update:
        return Readiness(
            False, f"{WAITING}: statefulset rolling update to revision {update} is not complete"
        )
    return Readiness(True)


def _stuck(available: Any, deadline_seconds: int, now: datetime.datetime) -> bool:
    """``Available=False``/``MinimumReplicasUnavailable`` unchanged for longer than the deadline."""
    if not isinstance(available, dict):
        return False
    if (
        available.get("status") != "False"
        or available.get("reason") != "MinimumReplicasUnavailable"
    ):
        return False
    since = available.get("lastUpdateTime") or available.get("lastTransitionTime")
    if not since:
        return False
    started = datetime.datetime.fromisoformat(str(since).replace("Z", "+00:00"))
    return (now - started).total_seconds() > deadline_seconds


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
