"""Builders of the plain Kubernetes objects many tests create: Namespaces, ConfigMaps, Deployments,
and :func:`create_all`, which sets up a test's API server with them.

Each test package that needs a particular shape (podinfo with the seed's port, a busybox pod with
a short grace period) wraps these with its own defaults, so the shape of a Deployment is written
once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from serinus.kube import Kube

Manifest = dict[str, Any]


def namespace(name: str) -> Manifest:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def configmap(
    name: str,
    namespace: str = "prod",
    *,
    data: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> Manifest:
    metadata: Manifest = {"name": name, "namespace": namespace}
    if labels is not None:
        metadata["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": dict(data or {})}


def deployment(
    name: str,
    namespace: str,
    containers: list[Manifest],
    *,
    replicas: int = 2,
    pod: Manifest | None = None,
    **spec: Any,
) -> Manifest:
    """A Deployment whose pods carry ``app: <name>`` (its selector); ``pod`` adds pod spec fields,
    ``spec`` Deployment spec fields."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": containers, **(pod or {})},
            },
            **spec,
        },
    }


async def create_all(
    kube: Kube,
    *,
    crds: Iterable[Manifest] = (),
    namespaces: Iterable[str] = (),
    objects: Iterable[Manifest] = (),
) -> None:
    """Create CRDs, then namespaces, then other objects, through ``kube`` (a test's setup)."""
    for manifest in [*crds, *map(namespace, namespaces), *objects]:
        await kube.create(manifest)
