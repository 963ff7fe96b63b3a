"""The Deployment controller's arithmetic, as pure functions over manifests.

Kept apart from the API calls so that each rule can be tested on its own and read next to the
upstream controller it follows (``pkg/controller/deployment`` in Kubernetes):

* :func:`template_hash` names a pod template (``pod-template-hash``, ``<deploy>-<hash>``);
* :func:`surge_and_unavailable` resolves ``maxSurge``/``maxUnavailable`` (25%/25% by default;
  surge rounds up, unavailable rounds down, and both zero means one unavailable);
* :func:`new_replicas` is how far the new ReplicaSet may grow now, and :func:`old_scale_downs`
  how far the old ones may shrink, so that a rolling update never has more than
  ``replicas + maxSurge`` pods nor fewer than ``replicas - maxUnavailable`` available;
* :func:`sync_status` is the Deployment status, with the ``Available`` and ``Progressing``
  conditions and their reasons, including ``ProgressDeadlineExceeded``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
from collections.abc import Sequence
from typing import Any

from serinus.apis.base import Manifest

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def template_hash(template: Manifest) -> str:
    """A stable ten-character name for a pod template (its own hash label left out).

    Null fields count as absent, as in the typed objects Kubernetes compares: ``kubectl rollout
    undo`` writes back a ReplicaSet's template with ``creationTimestamp: null``, and that must
    name the same template.
    """
    copy = _without_nulls(template)
    (copy.get("metadata") or {}).get("labels", {}).pop(HASH_LABEL, None)
    digest = int.from_bytes(hashlib.sha256(json.dumps(copy, sort_keys=True).encode()).digest())
    chars = []
    for _ in range(10):
        digest, index = divmod(digest, len(_SAFE))
        chars.append(_SAFE[index])
    return "".join(chars)


def scaled(value: Any, total: int, *, round_up: bool) -> int:
    """An int-or-percent value (``1``, ``"25%"``) against ``total``."""
    if isinstance(value, str) and value.endswith("%"):
        share = total * float(value[:-1]) / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(value or 0)


def surge_and_unavailable(deployment: Manifest) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as pod counts for the desired replicas."""
    spec = deployment.get("spec") or {}
    desired = replicas_of(deployment)
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    surge = scaled(rolling.get("maxSurge", "25%"), desired, round_up=True)
    unavailable = scaled(rolling.get("maxUnavailable", "25%"), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, desired)


def replicas_of(obj: Manifest) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def _status(obj: Manifest, key: str) -> int:
    return int((obj.get("status") or {}).get(key) or 0)


def new_replicas(deployment: Manifest, new: Manifest, all_sets: Sequence[Manifest]) -> int:
    """What the new ReplicaSet's replicas should be now (rolling update, scale up step)."""
    desired = replicas_of(deployment)
    current = replicas_of(new)
    if current >= desired:
        return desired
    surge, _ = surge_and_unavailable(deployment)
    total = sum(replicas_of(rs) for rs in all_sets)
    if total >= desired + surge:
        return current
    return current + min(desired + surge - total, desired - current)


def old_scale_downs(
    deployment: Manifest, new: Manifest, olds: Sequence[Manifest]
) -> dict[str, int]:
    """New replicas for old ReplicaSets (by name): unhealthy pods first, then oldest first,
    never taking the available pods below ``replicas - maxUnavailable``."""
    active = [rs for rs in olds if replicas_of(rs) > 0]
    if not active:
        return {}
    desired = replicas_of(deployment)
    _, unavailable = surge_and_unavailable(deployment)
    min_available = desired - unavailable
    all_sets = [new, *active]
    total = sum(replicas_of(rs) for rs in all_sets)
    new_unavailable = replicas_of(new) - _status(new, "availableReplicas")
    budget = total - min_available - max(new_unavailable, 0)
    if budget <= 0:
        return {}
    changes: dict[str, int] = {}
    oldest_first = sorted(active, key=_created)
    for rs in oldest_first:  # pods that are not available cost no availability
        unhealthy = replicas_of(rs) - _status(rs, "availableReplicas")
        cut = min(max(unhealthy, 0), budget)
        if cut > 0:
            changes[_name(rs)] = replicas_of(rs) - cut
            budget -= cut
    available = sum(_status(rs, "availableReplicas") for rs in all_sets)
    room = min(available - min_available, budget)
    for rs in oldest_first:
        if room <= 0:
            break
        current = changes.get(_name(rs), replicas_of(rs))
        cut = min(current, room)
        if cut > 0:
            changes[_name(rs)] = current - cut
            room -= cut
    return changes


def _name(obj: Manifest) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _created(obj: Manifest) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("creationTimestamp") or ""), str(meta.get("name") or "")


def revision_of(obj: Manifest) -> int:
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION) or 0)
    except ValueError:
        return 0


def timestamp(now: datetime.datetime) -> str:
    return now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: Any) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.UTC
        )
    except ValueError:
        return None


def set_condition(
    conditions: list[Manifest],
    kind: str,
    status: str,
    reason: str,
    message: str,
    now: datetime.datetime,
    *,
    touch: bool = False,
) -> None:
    """Kubernetes' SetDeploymentCondition: same status and reason keeps the condition (unless
    ``touch``, which refreshes lastUpdateTime); a changed status moves lastTransitionTime."""
    current = next((c for c in conditions if c.get("type") == kind), None)
    if current is not None and current.get("status") == status:
        if current.get("reason") == reason and not touch:
            return
        transition = current.get("lastTransitionTime")
    else:
        transition = timestamp(now)
    conditions[:] = [c for c in conditions if c.get("type") != kind]
    conditions.append(
        {
            "type": kind,
            "status": status,
            "lastUpdateTime": timestamp(now),
            "lastTransitionTime": transition,
            "reason": reason,
            "message": message,
        }
    )


def progress_deadline(deployment: Manifest) -> int | None:
    value = (deployment.get("spec") or {}).get("progressDeadlineSeconds")
    return None if value is None else int(value)


def sync_status(
    deployment: Manifest,
    new: Manifest | None,
    all_sets: Sequence[Manifest],
    now: datetime.datetime,
) -> Manifest:
    """The Deployment's status after this sync (counts, observedGeneration, conditions)."""
    old_status: Manifest = deployment.get("status") or {}
    desired = replicas_of(deployment)
    _, unavailable = surge_and_unavailable(deployment)
    status: Manifest = {
        "observedGeneration": (deployment.get("metadata") or {}).get("generation", 0),
        "replicas": sum(_status(rs, "replicas") for rs in all_sets),
        "updatedReplicas": _status(new, "replicas") if new is not None else 0,
        "readyReplicas": sum(_status(rs, "readyReplicas") for rs in all_sets),
        "availableReplicas": sum(_status(rs, "availableReplicas") for rs in all_sets),
    }
    status["unavailableReplicas"] = max(desired - status["availableReplicas"], 0)
    conditions: list[Manifest] = [dict(c) for c in old_status.get("conditions") or []]
    if status["availableReplicas"] >= desired - unavailable:
        set_condition(
            conditions,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            now,
        )
    else:
        set_condition(
            conditions,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            now,
        )
    _progressing(deployment, new, status, conditions, now)
    status["conditions"] = conditions
    if (deployment.get("spec") or {}).get("collisionCount") is not None:
        status["collisionCount"] = deployment["spec"]["collisionCount"]
    return status


def complete(deployment: Manifest, status: Manifest) -> bool:
    desired = replicas_of(deployment)
    return (
        status.get("updatedReplicas") == desired
        and status.get("replicas") == desired
        and status.get("availableReplicas") == desired
    )


def _progressed(old: Manifest, new: Manifest) -> bool:
    old_olds = int(old.get("replicas") or 0) - int(old.get("updatedReplicas") or 0)
    new_olds = int(new.get("replicas") or 0) - int(new.get("updatedReplicas") or 0)
    return (
        int(new.get("updatedReplicas") or 0) > int(old.get("updatedReplicas") or 0)
        or new_olds < old_olds
        or int(new.get("readyReplicas") or 0) > int(old.get("readyReplicas") or 0)
        or int(new.get("availableReplicas") or 0) > int(old.get("availableReplicas") or 0)
    )


def timed_out(deployment: Manifest, conditions: Sequence[Manifest], now: datetime.datetime) -> bool:
    deadline = progress_deadline(deployment)
    current = next((c for c in conditions if c.get("type") == "Progressing"), None)
    if deadline is None or current is None:
        return False
    if current.get("reason") == "NewReplicaSetAvailable":
        return False
    if current.get("reason") == "ProgressDeadlineExceeded":
        return True
    since = _parse(current.get("lastUpdateTime"))
    return since is not None and now > since + datetime.timedelta(seconds=deadline)


def _progressing(
    deployment: Manifest,
    new: Manifest | None,
    status: Manifest,
    conditions: list[Manifest],
    now: datetime.datetime,
) -> None:
    if progress_deadline(deployment) is None:
        return
    if (deployment.get("spec") or {}).get("paused"):
        set_condition(
            conditions, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now
        )
        return
    name = _name(new) if new is not None else _name(deployment)
    if complete(deployment, status):
        set_condition(
            conditions,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            f'ReplicaSet "{name}" has successfully progressed.',
            now,
        )
    elif _progressed(deployment.get("status") or {}, status):
        set_condition(
            conditions,
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            f'ReplicaSet "{name}" is progressing.',
            now,
            touch=True,
        )
    elif timed_out(deployment, conditions, now):
        set_condition(
            conditions,
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            f'ReplicaSet "{name}" has timed out progressing.',
            now,
        )


def seconds_to_deadline(
    deployment: Manifest, status: Manifest, now: datetime.datetime
) -> float | None:
    """Seconds until the progress deadline passes, when a sync must then look again."""
    deadline = progress_deadline(deployment)
    conditions = status.get("conditions") or []
    current = next((c for c in conditions if c.get("type") == "Progressing"), None)
    if deadline is None or current is None or complete(deployment, status):
        return None
    if current.get("reason") in ("ProgressDeadlineExceeded", "DeploymentPaused"):
        return None
    since = _parse(current.get("lastUpdateTime"))
    if since is None:
        return None
    return max((since + datetime.timedelta(seconds=deadline) - now).total_seconds(), 0) + 0.5
