"""Builders for the target tests, and the kubelet's part played by hand.

The API server of the sandbox keeps objects but runs no deployment controller and no kubelet,
so after each change a test says what those would report: :func:`roll_out` writes the status of
a finished rollout (every replica updated and available, the latest generation observed), and
:func:`set_status` writes any other status. Everything lives in namespace ``prod``.
"""

from __future__ import annotations

import copy
from typing import Any

from serinus.apis.canary import Canary
from serinus.kube import Kube
from tests.support import manifests

NS = "prod"


def deployment(
    name: str = "podinfo",
    *,
    image: str = "ghcr.io/stefanprodan/podinfo:6.0.0",
    replicas: int | None = 2,
    selector: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    pod_annotations: dict[str, str] | None = None,
    pod_spec: dict[str, Any] | None = None,
    kind: str = "Deployment",
) -> dict[str, Any]:
    """A Deployment (or, with ``kind``, a DaemonSet) running one podinfo container."""
    match = selector if selector is not None else {"app": name}
    container = {"name": "podinfod", "image": image, "ports": [{"containerPort": 9898}]}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": match},
        "template": {
            "metadata": {"labels": {**match}, "annotations": dict(pod_annotations or {})},
            "spec": {"containers": [container], **copy.deepcopy(pod_spec or {})},
        },
    }
    if kind == "Deployment" and replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": dict(labels or {}),
            "annotations": dict(annotations or {}),
        },
        "spec": spec,
    }


def daemonset(name: str = "podinfo", **fields: Any) -> dict[str, Any]:
    return deployment(name, kind="DaemonSet", replicas=None, **fields)


def configmap(name: str, data: dict[str, str], **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": {"app": "podinfo"},
            "annotations": annotations,
        },
        "data": data,
    }


def secret(name: str, data: dict[str, str], *, kind: str = "Opaque") -> dict[str, Any]:
    """A Secret; ``data`` values are base64 text, as the API stores them."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NS},
        "type": kind,
        "data": data,
    }


def hpa(
    name: str = "podinfo", *, target: str = "podinfo", min_replicas: int = 2, max_replicas: int = 4
) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": NS, "labels": {"team": "web"}},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 99},
                    },
                }
            ],
        },
    }


def canary_manifest(
    kind: str = "Deployment", *, name: str = "podinfo", **spec: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "targetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name},
        "service": {"port": 9898},
        "analysis": {"interval": "10s", "threshold": 2, "stepWeight": 50},
    }
    body.update(spec)
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": name, "namespace": NS},
        "spec": body,
    }


async def create_canary(kube: Kube, kind: str = "Deployment", **spec: Any) -> Canary:
    """Create the Canary in the API server (it owns the copies) and return it as read."""
    stored = await kube.create(canary_manifest(kind, **spec))
    return Canary.model_validate(stored)


async def get(kube: Kube, kind: str, name: str) -> dict[str, Any]:
    versions = {
        "Deployment": "apps/v1",
        "DaemonSet": "apps/v1",
        "ConfigMap": "v1",
        "Secret": "v1",
        "HorizontalPodAutoscaler": "autoscaling/v2",
        "ScaledObject": "keda.sh/v1alpha1",
    }
    found = await kube.get(versions[kind], kind, name, NS)
    assert found is not None, f"{kind} {NS}/{name} does not exist"
    return found


async def set_status(kube: Kube, kind: str, name: str, **status: Any) -> None:
    await kube.patch_status("apps/v1", kind, name, NS, {"status": status})


async def roll_out(kube: Kube, name: str = "podinfo", *, kind: str = "Deployment") -> None:
    """Report a finished rollout of the workload's current spec, as its controller would."""
    obj = await get(kube, kind, name)
    generation = obj["metadata"]["generation"]
    if kind == "DaemonSet":
        scaled_down = "flagger.app/scale-to-zero" in (
            obj["spec"]["template"]["spec"].get("nodeSelector") or {}
        )
        nodes = 0 if scaled_down else 3
        await set_status(
            kube,
            kind,
            name,
            observedGeneration=generation,
            desiredNumberScheduled=nodes,
            currentNumberScheduled=nodes,
            updatedNumberScheduled=nodes,
            numberAvailable=nodes,
            numberReady=nodes,
            numberUnavailable=0,
        )
        return
    replicas = obj["spec"].get("replicas", 1)
    await set_status(
        kube,
        kind,
        name,
        observedGeneration=generation,
        replicas=replicas,
        updatedReplicas=replicas,
        readyReplicas=replicas,
        availableReplicas=replicas,
    )


def image_of(workload: dict[str, Any]) -> str:
    image: str = workload["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


def scaled_object_crd() -> dict[str, Any]:
    """KEDA's ScaledObject CRD (any fields kept), for an API server without KEDA."""
    return manifests.simple_crd(
        "keda.sh", "ScaledObject", "scaledobjects", ("v1alpha1",), status=False
    )
