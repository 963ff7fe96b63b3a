"""Builders and helpers of the router tests: a cluster with CRDs, a target, Canaries, a write count.

Every test talks to a real local API server over HTTP (:class:`Cluster` wraps it). Canaries are
created in the server, so their ``uid`` is real and the owner references of the generated objects
can be garbage-collected. :class:`CountingKube` is the real client with a count of the writes it
sent, which is how the tests prove that a second reconcile writes nothing.
"""

from __future__ import annotations

import copy
import functools
import pathlib
from typing import Any

import yaml

from serinus.apis.canary import Canary
from serinus.kube import Kube

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
CRD_FILES = (
    REPO / "deploy" / "crds" / "canaries.yaml",
    HERE / "crds" / "trafficsplits.yaml",
    HERE / "crds" / "httproutes.yaml",
    HERE / "crds" / "istio.yaml",
    HERE / "crds" / "contour.yaml",
    HERE / "crds" / "gloo.yaml",
    HERE / "crds" / "traefik.yaml",
    HERE / "crds" / "apisix.yaml",
    HERE / "crds" / "kuma.yaml",
    HERE / "crds" / "appmesh.yaml",
    HERE / "crds" / "knative.yaml",
)
NAMESPACE = "prod"


class CountingKube(Kube):
    """The real client, counting the writes (create, replace, patch, apply, delete) it sends,
    and the reads of one object (get)."""

    writes = 0
    reads = 0

    async def get(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        self.reads += 1
        return await super().get(*args, **kwargs)

    async def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        self.writes += 1
        return await super().create(manifest)

    async def replace(self, manifest: dict[str, Any]) -> dict[str, Any]:
        self.writes += 1
        return await super().replace(manifest)

    async def patch(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.writes += 1
        return await super().patch(*args, **kwargs)

    async def apply(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.writes += 1
        return await super().apply(*args, **kwargs)

    async def delete(self, *args: Any, **kwargs: Any) -> None:
        self.writes += 1
        await super().delete(*args, **kwargs)


def crds() -> list[dict[str, Any]]:
    """The CRDs every router test's API server gets (parsed once per session)."""
    return copy.deepcopy(_parsed_crds())


@functools.cache
def _parsed_crds() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in CRD_FILES:
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def deployment(
    name: str = "podinfo",
    *,
    labels: dict[str, str] | None = None,
    containers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A podinfo-like Deployment in ``prod``, selected by ``app: <name>`` unless told otherwise."""
    selector = labels if labels is not None else {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(selector)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dict(selector)},
            "template": {
                "metadata": {"labels": dict(selector)},
                "spec": {
                    "containers": containers
                    or [
                        {
                            "name": "podinfod",
                            "image": "stefanprodan/podinfo:6.0.0",
                            "ports": [{"name": "http", "containerPort": 9898}],
                        }
                    ]
                },
            },
        },
    }


def canary_manifest(
    *,
    provider: str = "linkerd",
    name: str = "podinfo",
    service: dict[str, Any] | None = None,
    analysis: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider": provider,
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
        "service": {"port": 9898, **(service or {})},
        "analysis": {"interval": "10s", "threshold": 5, "stepWeight": 10, **(analysis or {})},
        **spec,
    }
    body = {key: value for key, value in body.items() if value is not None}
    meta: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "flagger.app/v1beta1", "kind": "Canary", "metadata": meta, "spec": body}


async def new_canary(kube: Kube, **fields: Any) -> Canary:
    """A Canary created in the API server (so it has a uid), as the operator would read it."""
    stored = await kube.create(canary_manifest(**fields))
    return Canary.model_validate(stored)


def with_spec(canary: Canary, **changes: Any) -> Canary:
    """The Canary with spec fields changed (camelCase, as in YAML), validated again."""
    body = canary.model_dump(by_alias=True, exclude_none=True, mode="json")
    spec = copy.deepcopy(body["spec"])
    for key, value in changes.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    body["spec"] = spec
    return Canary.model_validate(body)


async def get(kube: Kube, api_version: str, kind: str, name: str) -> dict[str, Any]:
    found = await kube.get(api_version, kind, name, NAMESPACE)
    assert found is not None, f"{kind} {NAMESPACE}/{name} does not exist"
    return found


async def service(kube: Kube, name: str) -> dict[str, Any]:
    return await get(kube, "v1", "Service", name)


def version_of(manifest: dict[str, Any]) -> str:
    return str(manifest["metadata"]["resourceVersion"])


def canary(**fields: Any) -> Canary:
    """A Canary as written (not stored), for what needs no cluster: refusals, capabilities."""
    return Canary.model_validate(canary_manifest(**fields))
