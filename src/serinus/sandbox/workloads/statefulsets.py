"""The StatefulSet controller: stable pod names, one claim per pod and template, ordered updates.

One :meth:`StatefulSetController.sync` reads a StatefulSet and its pods as they are now and takes
one step, as the upstream controller does:

* pod ``<set>-<ordinal>`` for each ordinal below ``spec.replicas``, labelled with the template's
  labels plus ``controller-revision-hash`` (``<set>-<hash of the template>``),
  ``statefulset.kubernetes.io/pod-name`` and ``apps.kubernetes.io/pod-index``, with ``hostname``
  and ``subdomain`` (the governing ``serviceName``) set;
* for each ``volumeClaimTemplates`` entry a PersistentVolumeClaim ``<template>-<set>-<ordinal>``
  (created once, bound at once: the sandbox is its own provisioner, :mod:`volumes`) and the pod's
  volume of that name pointing at it. Claims are never deleted by the controller (the default
  ``Retain`` retention policy), so a pod recreated under the same name finds its data;
* ``OrderedReady`` (the default): a pod is created only when every lower ordinal runs and is
  Ready, and extra pods go from the highest ordinal down, one at a time; ``Parallel`` does both
  at once;
* ``RollingUpdate`` (the default): once every pod runs and is Ready, the pod with the highest
  ordinal not at the update revision (and not below ``partition``) is deleted, and recreated at
  the new revision by the next sync. Like upstream, the update halts while any pod is not Ready:
  a pod that never becomes Ready holds it forever until someone deletes that pod. ``OnDelete``
  replaces pods only when they are deleted.

A name is reused only once the old pod's processes have stopped (``running``), so two pods of one
name never share a volume. Pods without a controller that match the selector and the name pattern
are adopted (what ``kubectl delete sts --cascade=orphan`` and a new StatefulSet rely on).

Status: replicas, ready, available (Ready for ``minReadySeconds``), current and updated replicas,
``currentRevision``/``updateRevision``, ``observedGeneration``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Callable

from serinus.apis.base import Manifest
from serinus.kube import Kube
from serinus.sandbox.workloads import volumes
from serinus.sandbox.workloads.deployments import APPS, Clock, owned_by, owner_reference
from serinus.sandbox.workloads.layout import SandboxDir
from serinus.sandbox.workloads.replicasets import ready_since

logger = logging.getLogger(__name__)

REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


def revision(statefulset: Manifest) -> str:
    """``<set>-<hash>``: the revision of the StatefulSet's current pod template."""
    template = (statefulset.get("spec") or {}).get("template") or {}
    text = json.dumps(template, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"{statefulset['metadata']['name']}-{digest}"


def ordinal(pod: Manifest, statefulset_name: str) -> int | None:
    """The ordinal of a pod named ``<set>-<n>``; None for any other name."""
    name = str((pod.get("metadata") or {}).get("name") or "")
    suffix = name.removeprefix(f"{statefulset_name}-")
    return int(suffix) if suffix != name and suffix.isdigit() else None


def _labels(pod: Manifest) -> dict[str, str]:
    return dict((pod.get("metadata") or {}).get("labels") or {})


def _healthy(pod: Manifest) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and ready_since(pod) is not None


class StatefulSetController:
    def __init__(
        self,
        kube: Kube,
        *,
        clock: Clock,
        node_name: str,
        layout: SandboxDir,
        running: Callable[[str, str], bool],
    ) -> None:
        """
        Args:
            running: whether processes of the pod ``(namespace, name)`` still run on the node.
        """
        self.kube = kube
        self.clock = clock
        self.node_name = node_name
        self.layout = layout
        self.running = running

    async def sync(self, namespace: str, name: str) -> float | None:
        sts = await self.kube.get(APPS, "StatefulSet", name, namespace)
        if sts is None or (sts.get("metadata") or {}).get("deletionTimestamp"):
            return None
        listed = await self.kube.list("v1", "Pod", namespace)
        listed = [await self._adopt(sts, pod) for pod in listed]
        pods = {
            number: pod
            for pod in listed
            if owned_by(pod, sts) and (number := ordinal(pod, name)) is not None
        }
        spec = sts.get("spec") or {}
        replicas = int(spec.get("replicas", 1) or 0)
        update = revision(sts)
        ordered = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        await self._claims(sts, replicas)
        again = await self._scale(sts, pods, replicas, update, ordered=ordered)
        if again is None and not any(n >= replicas for n in pods):
            await self._roll(sts, pods, replicas, update)
        available_in = await self._write_status(sts, list(pods.values()), update)
        waits = [w for w in (again, available_in) if w is not None]
        return min(waits) if waits else None

    async def _adopt(self, sts: Manifest, pod: Manifest) -> Manifest:
        """An orphan pod that matches the selector and the name pattern becomes this set's."""
        meta = pod.get("metadata") or {}
        if any(ref.get("controller") for ref in meta.get("ownerReferences") or []):
            return pod
        selector = ((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        labels = _labels(pod)
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            return pod
        if ordinal(pod, sts["metadata"]["name"]) is None or meta.get("deletionTimestamp"):
            return pod
        references = [*(meta.get("ownerReferences") or []), owner_reference(sts)]
        logger.info("StatefulSet %s adopts pod %s", sts["metadata"]["name"], meta.get("name"))
        return await self.kube.patch(
            "v1",
            "Pod",
            meta["name"],
            meta["namespace"],
            {"metadata": {"ownerReferences": references}},
        )

    async def _claims(self, sts: Manifest, replicas: int) -> None:
        meta, spec = sts["metadata"], sts.get("spec") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        for template in spec.get("volumeClaimTemplates") or []:
            for number in range(replicas):
                claim = _claim_name(template, meta["name"], number)
                if await self.kube.get("v1", "PersistentVolumeClaim", claim, meta["namespace"]):
                    continue
                labels = {**((template.get("metadata") or {}).get("labels") or {}), **selector}
                pvc: Manifest = {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": claim, "namespace": meta["namespace"], "labels": labels},
                    "spec": copy.deepcopy(template.get("spec") or {}),
                }
                created = await self.kube.create(pvc)
                volume = f"pvc-{created['metadata'].get('uid', claim)}"
                await self.kube.patch(
                    "v1",
                    "PersistentVolumeClaim",
                    claim,
                    meta["namespace"],
                    {"spec": {"volumeName": volume}},
                )
                volumes.provision(self.layout, meta["namespace"], claim)
                requested = ((pvc["spec"].get("resources") or {}).get("requests") or {}).copy()
                status = {
                    "phase": "Bound",
                    "accessModes": pvc["spec"].get("accessModes") or ["ReadWriteOnce"],
                    "capacity": {"storage": requested.get("storage", "1Gi")},
                }
                await self.kube.patch_status(
                    "v1", "PersistentVolumeClaim", claim, meta["namespace"], {"status": status}
                )
                logger.info(
                    "Created and bound claim %s/%s", meta["namespace"], created["metadata"]["name"]
                )

    async def _scale(
        self,
        sts: Manifest,
        pods: dict[int, Manifest],
        replicas: int,
        update: str,
        *,
        ordered: bool,
    ) -> float | None:
        """Create missing and delete extra pods; seconds to look again while a name is busy."""
        namespace, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        for number in range(replicas):
            if number in pods:
                if ordered and not _healthy(pods[number]):
                    return None  # OrderedReady: wait for this one before creating the next
                continue
            if self.running(namespace, f"{name}-{number}"):
                return 0.2  # the old pod of this name is still stopping
            pods[number] = await self._create_pod(sts, number, update)
            if ordered:
                return None
        extra = sorted((n for n in pods if n >= replicas), reverse=True)
        for number in extra[:1] if ordered else extra:
            if ordered and not all(_healthy(pods[n]) for n in pods if n < replicas):
                return None
            await self._delete(sts, pods.pop(number))
        return None

    async def _roll(
        self, sts: Manifest, pods: dict[int, Manifest], replicas: int, update: str
    ) -> None:
        strategy = (sts.get("spec") or {}).get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return
        if len(pods) < replicas or not all(_healthy(pod) for pod in pods.values()):
            return  # upstream halts the update while any pod is not Running and Ready
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        for number in sorted(pods, reverse=True):
            if number >= partition and _labels(pods[number]).get(REVISION_LABEL) != update:
                await self._delete(sts, pods.pop(number))
                return

    async def _create_pod(self, sts: Manifest, number: int, update: str) -> Manifest:
        meta, spec = sts["metadata"], sts.get("spec") or {}
        template = spec.get("template") or {}
        template_meta = template.get("metadata") or {}
        name = f"{meta['name']}-{number}"
        pod_spec = copy.deepcopy(template.get("spec") or {})
        pod_spec.setdefault("nodeName", self.node_name)
        pod_spec["hostname"] = name
        if spec.get("serviceName"):
            pod_spec["subdomain"] = spec["serviceName"]
        claims = {
            str(t.get("metadata", {}).get("name")): _claim_name(t, meta["name"], number)
            for t in spec.get("volumeClaimTemplates") or []
        }
        kept = [v for v in pod_spec.get("volumes") or [] if v.get("name") not in claims]
        pod_spec["volumes"] = kept + [
            {"name": volume, "persistentVolumeClaim": {"claimName": claim}}
            for volume, claim in claims.items()
        ]
        labels = {
            **(template_meta.get("labels") or {}),
            REVISION_LABEL: update,
            POD_NAME_LABEL: name,
            POD_INDEX_LABEL: str(number),
        }
        pod: Manifest = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "labels": labels,
                "annotations": dict(template_meta.get("annotations") or {}),
                "ownerReferences": [owner_reference(sts)],
            },
            "spec": pod_spec,
        }
        created = await self.kube.create(pod)
        logger.info("Created pod %s/%s at revision %s", meta["namespace"], name, update)
        return created

    async def _delete(self, sts: Manifest, pod: Manifest) -> None:
        meta = pod["metadata"]
        logger.info(
            "Deleting pod %s/%s of StatefulSet %s",
            meta["namespace"],
            meta["name"],
            sts["metadata"]["name"],
        )
        await self.kube.delete("v1", "Pod", meta["name"], meta["namespace"])

    async def _write_status(self, sts: Manifest, pods: list[Manifest], update: str) -> float | None:
        """Write the status when it changed; seconds until a ready pod becomes available."""
        now = self.clock()
        spec, old = sts.get("spec") or {}, sts.get("status") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        ready = [since for pod in pods if (since := ready_since(pod)) is not None]
        updated = sum(1 for pod in pods if _labels(pod).get(REVISION_LABEL) == update)
        replicas = int(spec.get("replicas", 1) or 0)
        current = old.get("currentRevision") or update
        if updated == len(pods) == replicas:
            current = update
        status: Manifest = {
            "observedGeneration": sts["metadata"].get("generation", 0),
            "replicas": len(pods),
            "readyReplicas": len(ready),
            "availableReplicas": sum(
                1 for since in ready if (now - since).total_seconds() >= min_ready
            ),
            "currentReplicas": sum(
                1 for pod in pods if _labels(pod).get(REVISION_LABEL) == current
            ),
            "updatedReplicas": updated,
            "currentRevision": current,
            "updateRevision": update,
            "collisionCount": 0,
        }
        if any(old.get(key) != value for key, value in status.items()):
            meta = sts["metadata"]
            await self.kube.patch_status(
                APPS, "StatefulSet", meta["name"], meta["namespace"], {"status": status}
            )
        waiting = [
            min_ready - (now - since).total_seconds()
            for since in ready
            if (now - since).total_seconds() < min_ready
        ]
        return min(waiting) + 0.2 if waiting else None


def _claim_name(template: Manifest, statefulset: str, number: int) -> str:
    return f"{(template.get('metadata') or {}).get('name')}-{statefulset}-{number}"
