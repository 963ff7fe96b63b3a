"""Manifests for tests that feed the proxy's ClusterState directly (no API server)."""

from __future__ import annotations

from typing import Any

NS = "prod"


def service(name: str, ip: str, *, port: int = 9898, port_name: str = "http") -> dict[str, Any]:
    ports = [{"name": port_name, "port": port, "protocol": "TCP"}]
    return {
        "kind": "Service",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"clusterIP": ip, "ports": ports},
    }


def endpoints(
    name: str, ready: list[tuple[str, str]], *, port: int = 9898, not_ready: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Endpoints of ``name``: ``ready`` as (ip, pod name), ``not_ready`` as ips."""
    return {
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": NS},
        "subsets": [
            {
                "addresses": [
                    {"ip": ip, "targetRef": {"kind": "Pod", "name": pod, "namespace": NS}}
                    for ip, pod in ready
                ],
                "notReadyAddresses": [{"ip": ip} for ip in not_ready],
                "ports": [{"name": "http", "port": port}],
            }
        ],
    }


def pod(name: str, owner: str, *, ip: str = "", template_hash: str = "abc12") -> dict[str, Any]:
    """A pod owned by ReplicaSet ``owner`` (or by nothing when ``owner`` is empty)."""
    references = [{"kind": "ReplicaSet", "name": owner, "controller": True}] if owner else []
    return {
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": {"pod-template-hash": template_hash},
            "ownerReferences": references,
        },
        "status": {"podIP": ip},
    }


def replicaset(name: str, deployment: str) -> dict[str, Any]:
    return {
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": NS,
            "ownerReferences": [{"kind": "Deployment", "name": deployment, "controller": True}],
        },
    }


def split(
    apex: str, weights: dict[str, Any], *, name: str = "", created: str = ""
) -> dict[str, Any]:
    return {
        "apiVersion": "split.smi-spec.io/v1alpha1",
        "kind": "TrafficSplit",
        "metadata": {"name": name or apex, "namespace": NS, "creationTimestamp": created},
        "spec": {
            "service": apex,
            "backends": [{"service": s, "weight": w} for s, w in weights.items()],
        },
    }


def route(
    apex: str, rules: list[dict[str, Any]], *, name: str = "", parent: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name or apex, "namespace": NS},
        "spec": {
            "parentRefs": [parent or {"group": "core", "kind": "Service", "name": apex}],
            "rules": rules,
        },
    }


def ref(name: str, weight: int, **extra: Any) -> dict[str, Any]:
    return {"kind": "Service", "name": name, "port": 9898, "weight": weight, **extra}
