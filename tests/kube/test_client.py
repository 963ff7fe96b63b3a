"""``Kube`` against a real local API server, over HTTP.

Covers: create/get/list/replace/delete of built-in and custom kinds as plain dicts; get of a missing
object is None and delete of a missing one is fine; list filters by namespace (None is all
namespaces), labels and fields; the three patch types (merge, JSON, strategic with list merge by
name) and strategic on a custom resource refused as invalid; server-side apply creates then updates
and keeps fields of other managers; a manifest read back (with managedFields) can be applied again,
its resourceVersion acting as a precondition; the status subresource (replace and patch) changes
status only; the manifest's namespace, then the default namespace, is used; kinds are discovered
from the server (a CRD applied after the client started is found, an unserved kind is
NotFoundError); server_version; the caller's manifest is never modified; every request, a
lightkube call or one of serinus's own (discovery, /version, watch), names serinus as its user
agent (the API server takes it for the field manager of writes).
"""

from __future__ import annotations

import copy

import pytest

from serinus import errors
from serinus.kube import Kube
from serinus.sandbox.apiserver import ApiServer
from tests.kube.conftest import settings
from tests.kube.support import (
    ROOT_CA,
    FaultProxy,
    configmap,
    deployment,
    namespace,
    podinfo_canary,
)
from tests.support import manifests

CANARY = ("flagger.app/v1beta1", "Canary")


async def test_create_get_replace_delete_a_configmap(kube: Kube) -> None:
    created = await kube.create(configmap("settings", color="blue"))
    assert created["metadata"]["uid"]
    assert created["metadata"]["resourceVersion"]

    got = await kube.get("v1", "ConfigMap", "settings", "prod")
    assert got is not None
    assert got["data"] == {"color": "blue"}
    assert type(got) is dict

    got["data"]["color"] = "green"
    replaced = await kube.replace(got)
    assert replaced["data"] == {"color": "green"}
    assert int(replaced["metadata"]["resourceVersion"]) > int(got["metadata"]["resourceVersion"])

    await kube.delete("v1", "ConfigMap", "settings", "prod")
    assert await kube.get("v1", "ConfigMap", "settings", "prod") is None


async def test_get_of_a_missing_object_is_none_and_deleting_it_is_fine(kube: Kube) -> None:
    assert await kube.get("apps/v1", "Deployment", "nothing-here", "prod") is None
    await kube.delete("apps/v1", "Deployment", "nothing-here", "prod")


@pytest.mark.usefixtures("flagger_crds")
async def test_a_seed_canary_created_as_v1alpha3_reads_back_at_v1beta1(kube: Kube) -> None:
    await kube.create(podinfo_canary())
    got = await kube.get(*CANARY, "podinfo", "prod")
    assert got is not None
    assert got["apiVersion"] == "flagger.app/v1beta1"
    assert got["spec"]["canaryAnalysis"]["stepWeight"] == 5


async def test_list_by_namespace_labels_and_fields(kube: Kube) -> None:
    await kube.create(namespace("test"))
    await kube.create(
        {**configmap("a"), "metadata": {"name": "a", "namespace": "prod", "labels": {"app": "x"}}}
    )
    await kube.create(
        {**configmap("b"), "metadata": {"name": "b", "namespace": "prod", "labels": {"app": "y"}}}
    )
    await kube.create(
        {
            **configmap("c", "test"),
            "metadata": {"name": "c", "namespace": "test", "labels": {"app": "x"}},
        }
    )

    prod = await kube.list("v1", "ConfigMap", "prod")
    assert sorted(m["metadata"]["name"] for m in prod) == ["a", "b", ROOT_CA]

    everywhere = await kube.list("v1", "ConfigMap", labels={"app": "x"})
    assert sorted(m["metadata"]["name"] for m in everywhere) == ["a", "c"]

    by_name = await kube.list("v1", "ConfigMap", "prod", fields={"metadata.name": "b"})
    assert [m["metadata"]["name"] for m in by_name] == ["b"]

    items, version = await kube.list_at("v1", "ConfigMap", "prod")
    assert len(items) == 3  # a, b and the namespace's own kube-root-ca.crt
    assert int(version) >= max(int(m["metadata"]["resourceVersion"]) for m in items)


async def test_merge_patch_sets_and_removes_fields(kube: Kube) -> None:
    await kube.create(configmap("settings", color="blue", size="l"))
    patched = await kube.patch(
        "v1", "ConfigMap", "settings", "prod", {"data": {"color": "red", "size": None}}
    )
    assert patched["data"] == {"color": "red"}


async def test_json_patch_applies_operations_in_order(kube: Kube) -> None:
    await kube.create(deployment())
    patched = await kube.patch(
        "apps/v1",
        "Deployment",
        "podinfo",
        "prod",
        [
            {"op": "replace", "path": "/spec/replicas", "value": 0},
            {"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}},
        ],
        patch_type="json",
    )
    assert patched["spec"]["replicas"] == 0
    assert patched["metadata"]["annotations"] == {"a": "b"}


async def test_strategic_patch_merges_containers_by_name(kube: Kube) -> None:
    await kube.create(deployment())
    patched = await kube.patch(
        "apps/v1",
        "Deployment",
        "podinfo",
        "prod",
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [{"name": "podinfod", "image": "stefanprodan/podinfo:3.1.1"}]
                    }
                }
            }
        },
        patch_type="strategic",
    )
    containers = patched["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [
        ("podinfod", "stefanprodan/podinfo:3.1.1"),
        ("sidecar", "busybox:1"),
    ]


@pytest.mark.usefixtures("flagger_crds")
async def test_strategic_patch_of_a_custom_resource_is_invalid(kube: Kube) -> None:
    await kube.create(podinfo_canary())
    with pytest.raises(errors.InvalidError) as caught:
        await kube.patch(*CANARY, "podinfo", "prod", {"spec": {}}, patch_type="strategic")
    assert caught.value.http_status == 415
    assert "canaries.flagger.app prod/podinfo" in str(caught.value)


async def test_an_unknown_patch_type_names_the_argument(kube: Kube) -> None:
    with pytest.raises(ValueError, match="patch_type: expected one of merge, json, strategic"):
        await kube.patch("v1", "ConfigMap", "x", "prod", {}, patch_type="apply")  # type: ignore[arg-type]


async def test_server_side_apply_creates_updates_and_keeps_other_managers_fields(
    kube: Kube,
) -> None:
    first = await kube.apply(configmap("settings", color="blue"))
    assert first["data"] == {"color": "blue"}
    await kube.patch("v1", "ConfigMap", "settings", "prod", {"metadata": {"labels": {"team": "a"}}})

    second = await kube.apply(configmap("settings", color="green"), field_manager="serinus")
    assert second["data"] == {"color": "green"}
    assert second["metadata"]["labels"] == {"team": "a"}
    managers = {entry["manager"] for entry in second["metadata"].get("managedFields", [])}
    assert "serinus" in managers


async def test_a_manifest_read_from_the_server_can_be_changed_and_applied_back(kube: Kube) -> None:
    await kube.apply(deployment())
    current = await kube.get("apps/v1", "Deployment", "podinfo", "prod")
    assert current is not None
    assert current["metadata"].get("managedFields")
    current["spec"]["replicas"] = 5
    applied = await kube.apply(current)
    assert applied["spec"]["replicas"] == 5
    with pytest.raises(errors.ConflictError):
        await kube.apply(current)  # its resourceVersion is stale now


@pytest.mark.usefixtures("flagger_crds")
async def test_status_subresource_writes_change_status_only(kube: Kube) -> None:
    await kube.create(podinfo_canary())
    canary = await kube.get(*CANARY, "podinfo", "prod")
    assert canary is not None
    spec_before = copy.deepcopy(canary["spec"])

    canary["status"] = {"phase": "Progressing", "canaryWeight": 10}
    canary["spec"]["service"]["port"] = 1234  # ignored by the status subresource
    written = await kube.replace_status(canary)
    assert written["status"]["phase"] == "Progressing"
    assert written["spec"] == spec_before

    patched = await kube.patch_status(
        *CANARY, "podinfo", "prod", {"status": {"canaryWeight": 20}, "spec": {"skipAnalysis": True}}
    )
    assert patched["status"]["canaryWeight"] == 20
    assert patched["status"]["phase"] == "Progressing"
    assert patched["spec"] == spec_before


async def test_namespace_comes_from_the_manifest_else_the_default(api: ApiServer) -> None:
    async with Kube(settings(api.url, namespace="prod")) as kube:
        assert kube.namespace == "prod"
        bare = configmap("bare")
        del bare["metadata"]["namespace"]
        created = await kube.create(bare)
        assert created["metadata"]["namespace"] == "prod"
        assert await kube.get("v1", "ConfigMap", "bare") is not None
        await kube.create(configmap("elsewhere", "default"))
        assert await kube.get("v1", "ConfigMap", "elsewhere", "default") is not None
        assert await kube.get("v1", "ConfigMap", "elsewhere") is None


async def test_cluster_scoped_kinds_ignore_namespaces(kube: Kube) -> None:
    await kube.create(namespace("staging"))
    got = await kube.get("v1", "Namespace", "staging", "prod")
    assert got is not None
    assert "namespace" not in got["metadata"]
    names = {n["metadata"]["name"] for n in await kube.list("v1", "Namespace", "prod")}
    assert {"prod", "staging", "default"} <= names


async def test_a_crd_applied_later_is_discovered_and_an_unserved_kind_is_not_found(
    kube: Kube,
) -> None:
    with pytest.raises(errors.NotFoundError, match="does not serve TrafficSplit"):
        await kube.list("split.smi-spec.io/v1alpha2", "TrafficSplit", "prod")
    await kube.apply(_trafficsplit_crd())
    split = {
        "apiVersion": "split.smi-spec.io/v1alpha2",
        "kind": "TrafficSplit",
        "metadata": {"name": "podinfo", "namespace": "prod"},
        "spec": {
            "service": "podinfo",
            "backends": [
                {"service": "podinfo-primary", "weight": 100},
                {"service": "podinfo-canary", "weight": 0},
            ],
        },
    }
    await kube.create(split)
    got = await kube.get("split.smi-spec.io/v1alpha2", "TrafficSplit", "podinfo", "prod")
    assert got is not None
    assert got["spec"]["backends"][0]["weight"] == 100


async def test_a_manifest_without_name_or_kind_is_invalid(kube: Kube) -> None:
    with pytest.raises(errors.InvalidError, match=r"expected metadata\.name"):
        await kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})
    with pytest.raises(errors.InvalidError, match="expected an object with apiVersion and kind"):
        await kube.create({"metadata": {"name": "x"}})


async def test_the_callers_manifest_is_not_modified(kube: Kube) -> None:
    manifest = configmap("settings", color="blue")
    del manifest["metadata"]["namespace"]
    before = copy.deepcopy(manifest)
    await kube.create(manifest)
    await kube.apply(manifest)
    assert manifest == before


async def test_server_version(kube: Kube) -> None:
    version = await kube.server_version()
    assert version["major"] == "1"
    assert version["gitVersion"].startswith("v1.")


async def test_every_request_names_serinus_as_its_user_agent(proxy: FaultProxy) -> None:
    async with Kube(settings(proxy.url, user_agent="serinus/test")) as kube:
        await kube.server_version()
        await kube.create(configmap("settings", color="blue"))
        assert await kube.get("v1", "ConfigMap", "settings", "prod") is not None
        async for event, _ in kube.watch("v1", "ConfigMap", "prod"):
            assert event == "ADDED"
            break
    paths = {(seen.method, seen.path.split("?")[0]) for seen in proxy.requests}
    assert ("GET", "/version") in paths  # serinus's own client
    assert ("POST", "/api/v1/namespaces/prod/configmaps") in paths  # lightkube's
    assert {seen.user_agent for seen in proxy.requests} == {"serinus/test"}


def _trafficsplit_crd() -> dict[str, object]:
    return manifests.simple_crd(
        "split.smi-spec.io", "TrafficSplit", "trafficsplits", ("v1alpha2",), status=False
    )
