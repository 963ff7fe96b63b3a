"""The Deployment controller: Deployments -> ReplicaSets, rolling updates, Deployment status.

One :meth:`DeploymentController.sync` looks at one Deployment as it is now on the API server (no
cache: a fresh read cannot act twice on the same change) and takes one step, as the upstream
controller does: find or create the ReplicaSet of the current template (``<name>-<hash>``,
``pod-template-hash`` label, owner reference, revision annotation), then either grow the new
ReplicaSet or shrink the old ones within ``maxSurge``/``maxUnavailable`` (``Recreate``: old ones
to zero first), and write the status. The ReplicaSet controller turns replicas into pods; their
status changes bring the Deployment back here. The arithmetic lives in :mod:`rollout`.

``sync`` returns when it wants to look again without an event (the progress deadline passing).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Sequence

from serinus.apis.base import Manifest
from serinus.kube import Kube
from serinus.sandbox.workloads import rollout

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime.datetime]
APPS = "apps/v1"
_HISTORY = 10


def owned_by(obj: Manifest, owner: Manifest) -> bool:
    uid = (owner.get("metadata") or {}).get("uid")
    references = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(ref.get("uid") == uid and ref.get("controller") for ref in references)


def owner_reference(owner: Manifest) -> Manifest:
    meta = owner.get("metadata") or {}
    return {
        "apiVersion": owner.get("apiVersion", APPS),
        "kind": owner.get("kind"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _meta(obj: Manifest) -> Manifest:
    meta: Manifest = obj.setdefault("metadata", {})
    return meta


class DeploymentController:
    def __init__(self, kube: Kube, *, clock: Clock) -> None:
        self.kube = kube
        self.clock = clock

    async def sync(self, namespace: str, name: str) -> float | None:
        deployment = await self.kube.get(APPS, "Deployment", name, namespace)
        if deployment is None or _meta(deployment).get("deletionTimestamp"):
            return None
        listed = await self.kube.list(APPS, "ReplicaSet", namespace)
        sets = [rs for rs in listed if owned_by(rs, deployment)]
        template_hash = rollout.template_hash(deployment["spec"]["template"])
        new = next((rs for rs in sets if _hash(rs) == template_hash), None)
        olds = [rs for rs in sets if rs is not new]
        paused = bool(deployment["spec"].get("paused"))
        if new is None and not paused:
            new = await self._create(deployment, template_hash, olds)
            sets.append(new)
        elif new is not None and rollout.revision_of(new) <= _newest(olds):
            new = await self._annotate(new, _newest(olds) + 1, deployment)
            sets = [new if _name(rs) == _name(new) else rs for rs in sets]
        if new is not None and not paused:
            await self._step(deployment, new, olds)
            await self._clean_history(deployment, olds)
        return await self._write_status(deployment, new, sets)

    async def _step(self, deployment: Manifest, new: Manifest, olds: list[Manifest]) -> None:
        """One rollout step: grow the new ReplicaSet, else shrink old ones."""
        strategy = (deployment["spec"].get("strategy") or {}).get("type", "RollingUpdate")
        desired = rollout.replicas_of(deployment)
        if strategy == "Recreate":
            running_olds = [rs for rs in olds if rollout.replicas_of(rs) or _pods(rs)]
            for rs in running_olds:
                await self._scale(rs, 0, deployment)
            if not running_olds:
                await self._scale(new, desired, deployment)
            return
        if not any(rollout.replicas_of(rs) for rs in olds):  # nothing to replace: just scale
            await self._scale(new, desired, deployment)
            return
        wanted = rollout.new_replicas(deployment, new, [new, *olds])
        if wanted != rollout.replicas_of(new):
            await self._scale(new, wanted, deployment)
            return
        shrinks = rollout.old_scale_downs(deployment, new, olds)
        for rs in olds:
            if _name(rs) in shrinks:
                await self._scale(rs, shrinks[_name(rs)], deployment)

    async def _create(
        self, deployment: Manifest, template_hash: str, olds: Sequence[Manifest]
    ) -> Manifest:
        meta = _meta(deployment)
        spec = deployment["spec"]
        template = _with_hash(spec["template"], template_hash)
        selector = dict(spec.get("selector") or {})
        selector["matchLabels"] = {
            **(selector.get("matchLabels") or {}),
            rollout.HASH_LABEL: template_hash,
        }
        revision = _newest(olds) + 1
        created = await self.kube.create(
            {
                "apiVersion": APPS,
                "kind": "ReplicaSet",
                "metadata": {
                    "name": f"{meta['name']}-{template_hash}",
                    "namespace": meta.get("namespace"),
                    "labels": template["metadata"]["labels"],
                    "annotations": _annotations(deployment, revision),
                    "ownerReferences": [owner_reference(deployment)],
                },
                "spec": {
                    "replicas": 0,
                    "minReadySeconds": int(spec.get("minReadySeconds") or 0),
                    "selector": selector,
                    "template": template,
                },
            }
        )
        logger.info(
            "Created new replica set %s for deployment %s/%s",
            _name(created),
            meta.get("namespace"),
            meta["name"],
        )
        deployment.setdefault("status", {})
        conditions = list(deployment["status"].get("conditions") or [])
        rollout.set_condition(
            conditions,
            "Progressing",
            "True",
            "NewReplicaSetCreated",
            f'Created new replica set "{_name(created)}"',
            self.clock(),
        )
        deployment["status"]["conditions"] = conditions
        return created

    async def _annotate(self, rs: Manifest, revision: int, deployment: Manifest) -> Manifest:
        """A ReplicaSet that became current again (a rollback) takes the next revision."""
        patch = {"metadata": {"annotations": _annotations(deployment, revision)}}
        meta = _meta(rs)
        return await self.kube.patch(APPS, "ReplicaSet", meta["name"], meta["namespace"], patch)

    async def _scale(self, rs: Manifest, replicas: int, deployment: Manifest) -> None:
        if rollout.replicas_of(rs) == replicas:
            return
        meta = _meta(rs)
        logger.info(
            "Scaling replica set %s/%s from %d to %d",
            meta.get("namespace"),
            meta.get("name"),
            rollout.replicas_of(rs),
            replicas,
        )
        revision = str(rollout.revision_of(rs))
        patch = {
            "metadata": {"annotations": _annotations(deployment, int(revision))},
            "spec": {"replicas": replicas},
        }
        updated = await self.kube.patch(APPS, "ReplicaSet", meta["name"], meta["namespace"], patch)
        rs.clear()
        rs.update(updated)

    async def _clean_history(self, deployment: Manifest, olds: Sequence[Manifest]) -> None:
        limit = deployment["spec"].get("revisionHistoryLimit", _HISTORY)
        idle = [rs for rs in olds if not rollout.replicas_of(rs) and not _pods(rs)]
        idle.sort(key=rollout.revision_of)
        for rs in idle[: max(len(idle) - int(limit), 0)]:
            await self.kube.delete(APPS, "ReplicaSet", _name(rs), _meta(rs).get("namespace"))

    async def _write_status(
        self, deployment: Manifest, new: Manifest | None, sets: Sequence[Manifest]
    ) -> float | None:
        meta = _meta(deployment)
        revision = str(rollout.revision_of(new)) if new is not None else None
        if (
            revision is not None
            and (meta.get("annotations") or {}).get(rollout.REVISION) != revision
        ):
            patch = {"metadata": {"annotations": {rollout.REVISION: revision}}}
            patched = await self.kube.patch(
                APPS, "Deployment", meta["name"], meta["namespace"], patch
            )
            deployment["metadata"] = meta = patched["metadata"]
        now = self.clock()
        status = rollout.sync_status(deployment, new, sets, now)
        if status != deployment.get("status"):
            await self.kube.patch_status(
                APPS, "Deployment", meta["name"], meta["namespace"], {"status": status}
            )
        return rollout.seconds_to_deadline(deployment, status, now)


def _newest(sets: Sequence[Manifest]) -> int:
    return max(map(rollout.revision_of, sets), default=0)


def _annotations(deployment: Manifest, revision: int) -> dict[str, str]:
    desired = rollout.replicas_of(deployment)
    surge, _ = rollout.surge_and_unavailable(deployment)
    return {
        rollout.REVISION: str(revision),
        "deployment.kubernetes.io/desired-replicas": str(desired),
        "deployment.kubernetes.io/max-replicas": str(desired + surge),
    }


def _with_hash(template: Manifest, template_hash: str) -> Manifest:
    copy: Manifest = {**template, "metadata": dict(template.get("metadata") or {})}
    copy["metadata"]["labels"] = {
        **(copy["metadata"].get("labels") or {}),
        rollout.HASH_LABEL: template_hash,
    }
    return copy


def _hash(rs: Manifest) -> str | None:
    labels = (rs.get("metadata") or {}).get("labels") or {}
    value = labels.get(rollout.HASH_LABEL)
    return None if value is None else str(value)


def _name(obj: Manifest) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _pods(rs: Manifest) -> int:
    return int((rs.get("status") or {}).get("replicas") or 0)
