"""Builders and the kubectl runner shared by the API server tests."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import shutil
from dataclasses import dataclass
from typing import Any

import yaml

REPO = pathlib.Path(__file__).resolve().parents[3]
CANARY_CRD = REPO / "deploy" / "crds" / "canaries.yaml"
ROOT_CA = "kube-root-ca.crt"
"""The ConfigMap every namespace gets (``namespaces``); lists of a test's own objects skip it."""


def names_of(items: list[dict[str, Any]]) -> list[str]:
    """The names of listed objects, without the namespace's own ``kube-root-ca.crt``."""
    return [i["metadata"]["name"] for i in items if i["metadata"]["name"] != ROOT_CA]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Kubectl:
    """The machine's kubectl, pointed at one test server, with a private cache."""

    kubeconfig: pathlib.Path
    cache: pathlib.Path

    def _command(self, args: tuple[str, ...]) -> list[str]:
        binary = shutil.which("kubectl")
        assert binary is not None, "kubectl is not installed"
        return [binary, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache), *args]

    async def run(self, *args: str, stdin: str | None = None, check: bool = True) -> Result:
        process = await asyncio.create_subprocess_exec(
            *self._command(args),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "KUBECACHEDIR": str(self.cache)},
        )
        out, err = await asyncio.wait_for(
            process.communicate(stdin.encode() if stdin is not None else None), timeout=30
        )
        result = Result(process.returncode or 0, out.decode(), err.decode())
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    async def apply(self, *documents: dict[str, Any], extra: tuple[str, ...] = ()) -> Result:
        return await self.run("apply", *extra, "-f", "-", stdin=yaml.safe_dump_all(documents))

    async def start(self, *args: str) -> asyncio.subprocess.Process:
        """A long-running kubectl (``get -w``) whose output lines the test reads."""
        return await asyncio.create_subprocess_exec(
            *self._command(args),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "KUBECACHEDIR": str(self.cache)},
        )


def deployment(
    name: str = "podinfo", namespace: str = "prod", image: str = "podinfo:1.0"
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": image, "ports": [{"containerPort": 9898}]}
                    ]
                },
            },
        },
    }


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def configmap(name: str, namespace: str = "prod", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {"key": "value"},
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


def load_yaml(path: pathlib.Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document
