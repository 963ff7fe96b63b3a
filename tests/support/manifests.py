"""Builders of the plain Kubernetes objects many tests create: Namespaces, ConfigMaps, Deployments,
CRDs that keep any fields (for kinds whose real CRD a test does not need), and :func:`create_all`,
which sets up a test's API server with them.

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


def simple_crd(
    group: str,
    kind: str,
    plural: str,
    versions: tuple[str, ...] = ("v1",),
    *,
    status: bool = True,
    scale: bool = False,
    columns: list[dict[str, Any]] | None = None,
    short_names: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A CRD whose schema keeps any fields (as hand-written test CRDs for meshes do)."""
    subresources: dict[str, Any] = {}
    if status:
        subresources["status"] = {}
    if scale:
        subresources["scale"] = {
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.selector",
        }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "plural": plural,
                "singular": kind.lower(),
                "listKind": f"{kind}List",
                "shortNames": list(short_names),
            },
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": index == 0,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                    "subresources": subresources,
                    **({"additionalPrinterColumns": columns} if columns else {}),
                }
                for index, version in enumerate(versions)
            ],
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
