"""The ReplicaSet controller: as many pods as ``spec.replicas``, and the ReplicaSet's status.

Missing pods are created from the template, named ``<rs>-`` plus five random characters of the
server's ``generateName`` alphabet (as in a cluster; a name already taken is drawn again), with
an owner reference to the ReplicaSet and ``spec.nodeName`` set to the sandbox's one node, playing
the scheduler. Extra pods are deleted in the upstream
order of preference: not yet running before running, not ready before ready, the most restarted
and the newest first. A pod counts as available once it has been Ready for ``minReadySeconds``;
:meth:`ReplicaSetController.sync` returns when to look again for a pod about to become available.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from typing import Any

from serinus import errors
from serinus.apis.base import Manifest
from serinus.kube import Kube
from serinus.sandbox.workloads.deployments import APPS, Clock, owned_by, owner_reference

logger = logging.getLogger(__name__)

_PHASES = {"Pending": 0, "Unknown": 1, "Running": 2}
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_NAME_TRIES = 8


def ready_since(pod: Manifest) -> datetime.datetime | None:
    """When the pod became Ready, or None when it is not Ready."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            return _parse(condition.get("lastTransitionTime")) or datetime.datetime.min.replace(
                tzinfo=datetime.UTC
            )
    return None


def _parse(text: Any) -> datetime.datetime | None:
    try:
        parsed = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _restarts(pod: Manifest) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return sum(int(s.get("restartCount") or 0) for s in statuses)


def deletion_order(pods: list[Manifest]) -> list[Manifest]:
    """The pods to delete first come first (upstream's ActivePodsWithRanks, simplified)."""

    def created(pod: Manifest) -> str:
        return str((pod.get("metadata") or {}).get("creationTimestamp") or "")

    def rank(pod: Manifest) -> tuple[Any, ...]:
        phase = _PHASES.get(str((pod.get("status") or {}).get("phase")), 1)
        since = ready_since(pod)
        return (since is not None, phase, -_restarts(pod))

    newest_first = sorted(pods, key=created, reverse=True)
    return sorted(newest_first, key=rank)


class ReplicaSetController:
    def __init__(self, kube: Kube, *, clock: Clock, node_name: str) -> None:
        self.kube = kube
        self.clock = clock
        self.node_name = node_name

    async def sync(self, namespace: str, name: str) -> float | None:
        rs = await self.kube.get(APPS, "ReplicaSet", name, namespace)
        if rs is None or (rs.get("metadata") or {}).get("deletionTimestamp"):
            return None
        listed = await self.kube.list("v1", "Pod", namespace)
        pods = [pod for pod in listed if owned_by(pod, rs)]
        wanted = int((rs.get("spec") or {}).get("replicas") or 0)
        if len(pods) < wanted:
            for _ in range(wanted - len(pods)):
                pods.append(await self._create_pod(rs))
        elif len(pods) > wanted:
            doomed = deletion_order(pods)[: len(pods) - wanted]
            for pod in doomed:
                meta = pod["metadata"]
                logger.info("Deleting pod %s/%s", meta["namespace"], meta["name"])
                await self.kube.delete("v1", "Pod", meta["name"], meta["namespace"])
            pods = [pod for pod in pods if pod not in doomed]
        return await self._write_status(rs, pods)

    async def _create_pod(self, rs: Manifest) -> Manifest:
        meta = rs["metadata"]
        template = (rs.get("spec") or {}).get("template") or {}
        template_meta = template.get("metadata") or {}
        spec = dict(template.get("spec") or {})
        spec.setdefault("nodeName", self.node_name)
        tries = 0
        while True:
            suffix = "".join(secrets.choice(_ALPHABET) for _ in range(5))
            pod: Manifest = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{meta['name']}-{suffix}",
                    "namespace": meta["namespace"],
                    "labels": dict(template_meta.get("labels") or {}),
                    "annotations": dict(template_meta.get("annotations") or {}),
                    "ownerReferences": [owner_reference(rs)],
                },
                "spec": spec,
            }
            try:
                created = await self.kube.create(pod)
            except errors.ConflictError:
                tries += 1
                if tries == _NAME_TRIES:
                    raise
                continue
            logger.info("Created pod %s/%s", meta["namespace"], created["metadata"]["name"])
            return created

    async def _write_status(self, rs: Manifest, pods: list[Manifest]) -> float | None:
        now = self.clock()
        min_ready = datetime.timedelta(seconds=int(rs["spec"].get("minReadySeconds") or 0))
        ready = [since for pod in pods if (since := ready_since(pod)) is not None]
        available = [since for since in ready if since + min_ready <= now]
        waiting = [
            (since + min_ready - now).total_seconds() for since in ready if since + min_ready > now
        ]
        selector = (rs.get("spec") or {}).get("selector") or {}
        labels = selector.get("matchLabels") or {}
        status: Manifest = {
            "replicas": len(pods),
            "fullyLabeledReplicas": sum(
                1
                for pod in pods
                if all(
                    ((pod.get("metadata") or {}).get("labels") or {}).get(key) == value
                    for key, value in labels.items()
                )
            ),
            "readyReplicas": len(ready),
            "availableReplicas": len(available),
            "observedGeneration": rs["metadata"].get("generation", 0),
        }
        if status != {key: (rs.get("status") or {}).get(key, 0) for key in status}:
            meta = rs["metadata"]
            await self.kube.patch_status(
                APPS, "ReplicaSet", meta["name"], meta["namespace"], {"status": status}
            )
        return min(waiting) + 0.2 if waiting else None
