"""lightkube's AsyncClient (the client serinus.kube uses) against the server.

Covers: create and get typed objects (strict decoding of whole objects); patch with each patch
type (strategic by default, merge, json, apply with a field manager); apply() creating and then
updating with a field manager; replace with a stale resourceVersion raising ApiError 409; a 404
as ApiError with the Status reason; list with label selectors and chunking; the Scale
subresource; a custom resource with its Status subresource; watch, and resuming a watch from a
resourceVersion.
"""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from lightkube import AsyncClient
from lightkube.config.kubeconfig import KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace
from lightkube.types import PatchType

from serinus.sandbox.apiserver import ApiServer
from tests.sandbox.apiserver.support import ROOT_CA, simple_crd

Widget = create_namespaced_resource("example.com", "v1", "Widget", "widgets")


@pytest.fixture
async def client(api: ApiServer, tmp_path: pathlib.Path) -> AsyncIterator[AsyncClient]:
    config = KubeConfig.from_file(api.write_kubeconfig(tmp_path / "kubeconfig"))
    lightkube = AsyncClient(config=config)
    await lightkube.create(Namespace(metadata=ObjectMeta(name="prod")))
    yield lightkube
    await lightkube.close()


def new_deployment(image: str = "podinfo:1.0") -> Deployment:
    labels = {"app": "podinfo"}
    return Deployment(
        metadata=ObjectMeta(name="podinfo", namespace="prod", labels=labels),
        spec=DeploymentSpec(
            replicas=2,
            selector=LabelSelector(matchLabels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels),
                spec=PodSpec(containers=[Container(name="app", image=image)]),
            ),
        ),
    )


def plain(obj: Any) -> dict[str, Any]:
    found: dict[str, Any] = obj.to_dict()
    return found


def images(deployment: Any) -> list[str]:
    return [c["image"] for c in plain(deployment)["spec"]["template"]["spec"]["containers"]]


async def test_create_get_and_every_patch_type(client: AsyncClient) -> None:
    created = plain(await client.create(new_deployment()))
    assert created["metadata"]["generation"] == 1
    assert images(await client.get(Deployment, "podinfo", namespace="prod")) == ["podinfo:1.0"]
    strategic = await client.patch(
        Deployment,
        "podinfo",
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "podinfo:2.0"}]}}}},
        namespace="prod",
    )
    assert images(strategic) == ["podinfo:2.0"]
    merged = await client.patch(
        Deployment,
        "podinfo",
        {"spec": {"replicas": 3}},
        namespace="prod",
        patch_type=PatchType.MERGE,
    )
    assert plain(merged)["spec"]["replicas"] == 3
    operations = [{"op": "replace", "path": "/spec/replicas", "value": 4}]
    jsoned = await client.patch(
        Deployment, "podinfo", operations, namespace="prod", patch_type=PatchType.JSON
    )
    assert plain(jsoned)["spec"]["replicas"] == 4
    applied = plain(
        await client.patch(
            Deployment,
            "podinfo",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "podinfo", "namespace": "prod"},
                "spec": {"replicas": 1},
            },
            namespace="prod",
            patch_type=PatchType.APPLY,
            field_manager="flagger",
            force=True,
        )
    )
    assert applied["spec"]["replicas"] == 1
    entries = {m["manager"]: m for m in applied["metadata"]["managedFields"]}
    assert entries["flagger"]["operation"] == "Apply"
    assert entries["flagger"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    updater = entries["python-httpx2"]  # the patches above, recorded under the User-Agent
    assert updater["operation"] == "Update"
    assert "f:replicas" not in updater["fieldsV1"]["f:spec"]  # forced over to flagger


async def test_apply_creates_then_updates(client: AsyncClient) -> None:
    first = plain(await client.apply(new_deployment(), field_manager="serinus"))
    assert first["metadata"]["generation"] == 1
    second = await client.apply(new_deployment(image="podinfo:3.0"), field_manager="serinus")
    assert plain(second)["metadata"]["generation"] == 2
    assert images(second) == ["podinfo:3.0"]


async def test_replace_with_stale_version_is_a_conflict(client: AsyncClient) -> None:
    created = await client.create(
        ConfigMap(metadata=ObjectMeta(name="c", namespace="prod"), data={"a": "1"})
    )
    await client.patch(
        ConfigMap, "c", {"data": {"a": "2"}}, namespace="prod", patch_type=PatchType.MERGE
    )
    created.data = {"a": "3"}
    with pytest.raises(ApiError) as caught:
        await client.replace(created)
    assert (caught.value.status.code, caught.value.status.reason) == (409, "Conflict")
    with pytest.raises(ApiError) as missing:
        await client.get(ConfigMap, "nothere", namespace="prod")
    assert (missing.value.status.code, missing.value.status.reason) == (404, "NotFound")


async def test_list_with_labels_and_chunks(client: AsyncClient) -> None:
    for index in range(5):
        labels = {"tier": "web" if index % 2 else "db"}
        meta = ObjectMeta(name=f"c{index}", namespace="prod", labels=labels)
        await client.create(ConfigMap(metadata=meta))
    web = client.list(ConfigMap, namespace="prod", labels={"tier": "web"})
    assert [plain(c)["metadata"]["name"] async for c in web] == ["c1", "c3"]
    chunked = client.list(ConfigMap, namespace="prod", chunk_size=2)
    listed = [plain(c)["metadata"]["name"] async for c in chunked]
    assert listed == ["c0", "c1", "c2", "c3", "c4", ROOT_CA]


async def test_scale_subresource(client: AsyncClient) -> None:
    await client.create(new_deployment())
    scale = plain(await client.get(Deployment.Scale, "podinfo", namespace="prod"))
    assert scale["spec"] == {"replicas": 2}
    assert scale["status"]["selector"] == "app=podinfo"


async def test_custom_resource_and_status(api: ApiServer, client: AsyncClient) -> None:
    crd = simple_crd("example.com", "Widget", "widgets")
    async with httpx.AsyncClient(base_url=api.url) as http:
        await http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)
    await client.create(Widget(metadata=ObjectMeta(name="w", namespace="prod"), spec={"size": 1}))
    patched = await client.patch(
        Widget.Status,
        "w",
        {"status": {"ready": True}},
        namespace="prod",
        patch_type=PatchType.MERGE,
    )
    assert plain(patched)["status"] == {"ready": True}
    got = plain(await client.get(Widget, "w", namespace="prod"))
    assert (got["spec"], got["status"]) == ({"size": 1}, {"ready": True})


async def test_watch_and_resume(client: AsyncClient) -> None:
    first = plain(await client.create(ConfigMap(metadata=ObjectMeta(name="a", namespace="prod"))))
    await client.create(ConfigMap(metadata=ObjectMeta(name="b", namespace="prod")))

    async def collect(count: int, version: str | None = None) -> list[tuple[str, str]]:
        seen: list[tuple[str, str]] = []
        async for kind, obj in client.watch(ConfigMap, namespace="prod", resource_version=version):
            if plain(obj)["metadata"]["name"] != ROOT_CA:
                seen.append((kind, plain(obj)["metadata"]["name"]))
            if len(seen) == count:
                break
        return seen

    assert await asyncio.wait_for(collect(2), timeout=10) == [("ADDED", "a"), ("ADDED", "b")]
    await client.delete(ConfigMap, "a", namespace="prod")
    resumed = await asyncio.wait_for(collect(2, first["metadata"]["resourceVersion"]), timeout=10)
    assert resumed == [("ADDED", "b"), ("DELETED", "a")]
