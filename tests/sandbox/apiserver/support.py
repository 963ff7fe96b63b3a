"""Builders shared by the API server tests, and their kubectl runner (tests.support.kubectl)."""

from __future__ import annotations

import pathlib
from typing import Any

import yaml

from tests.support import manifests
from tests.support.kubectl import Kubectl, Result
from tests.support.manifests import simple_crd

__all__ = ["Kubectl", "Result", "simple_crd"]

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


def load_yaml(path: pathlib.Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


def containers(value: Any) -> list[Any]:
    """Every dict and list inside ``value`` (itself included): what must not be shared."""
    found: list[Any] = []
    if isinstance(value, dict):
        found.append(value)
        for item in value.values():
            found += containers(item)
    elif isinstance(value, list):
        found.append(value)
        for item in value:
            found += containers(item)
    return found
