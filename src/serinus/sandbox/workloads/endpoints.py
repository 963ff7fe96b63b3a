"""The Endpoints controller: one core/v1 ``Endpoints`` per Service with a selector.

As in a cluster, the Endpoints of a Service list the pods its selector matches, by pod IP: the
Ready ones under ``addresses`` and the others under ``notReadyAddresses`` (all of them ready with
``publishNotReadyAddresses``), each with a ``targetRef`` to its pod, and the Service's ports with
their ``targetPort`` resolved per pod (a named targetPort is looked up in the pod's container
ports). Pods that resolve ports differently land in different subsets. The mesh proxy forwards to
these addresses, so a pod that fails its readiness probe stops receiving traffic.

A Service without a selector keeps the Endpoints its owner writes; the Endpoints of a deleted
Service are deleted with it (the ones this controller wrote carry
``endpoints.kubernetes.io/last-change-trigger-time``).
"""

from __future__ import annotations

import logging
from typing import Any

from serinus.apis.base import Manifest
from serinus.kube import Kube
from serinus.sandbox.workloads.deployments import Clock
from serinus.sandbox.workloads.replicasets import ready_since
from serinus.sandbox.workloads.rollout import timestamp

logger = logging.getLogger(__name__)

TRIGGER = "endpoints.kubernetes.io/last-change-trigger-time"


def selects(selector: dict[str, Any], pod: Manifest) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def _target_port(port: Manifest, pod: Manifest) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for declared in container.get("ports") or []:
            if declared.get("name") == target:
                return int(declared["containerPort"])
    return None


def subsets(service: Manifest, pods: list[Manifest]) -> list[Manifest]:
    """The ``subsets`` of the Service's Endpoints."""
    spec = service.get("spec") or {}
    selector = spec.get("selector") or {}
    everyone_ready = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[tuple[tuple[str, int, str], ...], Manifest] = {}
    for pod in pods:
        status = pod.get("status") or {}
        meta = pod.get("metadata") or {}
        if not selects(selector, pod) or not status.get("podIP") or meta.get("deletionTimestamp"):
            continue
        if status.get("phase") in ("Succeeded", "Failed"):
            continue
        ports = []
        for port in spec.get("ports") or []:
            number = _target_port(port, pod)
            if number is not None:
                ports.append((str(port.get("name") or ""), number, port.get("protocol", "TCP")))
        if not ports:
            continue
        subset = groups.setdefault(tuple(ports), {"addresses": [], "notReadyAddresses": []})
        ready = everyone_ready or ready_since(pod) is not None
        subset["addresses" if ready else "notReadyAddresses"].append(
            {
                "ip": status["podIP"],
                "nodeName": (pod.get("spec") or {}).get("nodeName"),
                "targetRef": {
                    "kind": "Pod",
                    "namespace": meta.get("namespace"),
                    "name": meta.get("name"),
                    "uid": meta.get("uid"),
                },
            }
        )
    found = []
    for group, subset in sorted(groups.items()):
        entry: Manifest = {}
        for key in ("addresses", "notReadyAddresses"):
            if subset[key]:
                entry[key] = sorted(subset[key], key=lambda address: address["ip"])
        entry["ports"] = [
            {**({"name": name} if name else {}), "port": number, "protocol": protocol}
            for name, number, protocol in group
        ]
        found.append(entry)
    return found


class EndpointsController:
    def __init__(self, kube: Kube, *, clock: Clock) -> None:
        self.kube = kube
        self.clock = clock

    async def sync(self, namespace: str) -> None:
        """Write the Endpoints of every Service of ``namespace``; drop those of gone Services."""
        services = await self.kube.list("v1", "Service", namespace)
        pods = await self.kube.list("v1", "Pod", namespace)
        existing = {
            str(item["metadata"]["name"]): item
            for item in await self.kube.list("v1", "Endpoints", namespace)
        }
        names = set()
        for service in services:
            name = str(service["metadata"]["name"])
            names.add(name)
            if (service.get("spec") or {}).get("selector"):
                await self._write(service, subsets(service, pods), existing.get(name))
        for name, endpoints in existing.items():
            annotations = endpoints["metadata"].get("annotations") or {}
            if name not in names and TRIGGER in annotations:
                await self.kube.delete("v1", "Endpoints", name, namespace)

    async def _write(
        self, service: Manifest, found: list[Manifest], current: Manifest | None
    ) -> None:
        meta = service["metadata"]
        if current is not None and (current.get("subsets") or []) == found:
            return
        labels = dict(meta.get("labels") or {})
        if (service.get("spec") or {}).get("clusterIP") == "None":
            labels["service.kubernetes.io/headless"] = ""
        endpoints: Manifest = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "labels": labels,
                "annotations": {TRIGGER: timestamp(self.clock())},
            },
            "subsets": found,
        }
        if current is None:
            await self.kube.create(endpoints)
        else:
            endpoints["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            await self.kube.replace(endpoints)
        ready = sum(len(subset.get("addresses") or []) for subset in found)
        logger.info("Endpoints %s/%s: %d ready address(es)", meta["namespace"], meta["name"], ready)
