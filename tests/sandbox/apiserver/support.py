"""Builders shared by the API server tests, and their kubectl runner (tests.support.kubectl)."""

from __future__ import annotations

import pathlib
from typing import Any

import yaml

from tests.support import manifests
from tests.support.kubectl import Kubectl, Result

__all__ = ["Kubectl", "Result"]

REPO = pathlib.Path(__file__).resolve().parents[3]
CANARY_CRD = REPO / "deploy" / "crds" / "canaries.yaml"
ROOT_CA = "kube-root-ca.crt"
"""The ConfigMap every namespace gets (``namespaces``); lists of a test's own objects skip it."""


def names_of(items: list[dict[str, Any]]) -> list[str]:
    """The names of listed objects, without the namespace's own ``kube-root-ca.crt``."""
    return [i["metadata"]["name"] for i in items if i["metadata"]["name"] != ROOT_CA]


def deployment(
    name: str = "podinfo", namespace: str = "prod", image: str = "podinfo:1.0"
) -> dict[str, Any]:
    container = {"name": "app", "image": image, "ports": [{"containerPort": 9898}]}
    return manifests.deployment(name, namespace, [container])


namespace = manifests.namespace


def configmap(name: str, namespace: str = "prod", **labels: str) -> dict[str, Any]:
    return manifests.configmap(name, namespace, data={"key": "value"}, labels=labels)


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


def load_yaml(path: pathlib.Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document
