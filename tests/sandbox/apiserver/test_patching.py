"""PATCH over HTTP: the four patch types, chosen by Content-Type.

Covers: json-patch applies operations, answers 400 when the body is not a list and 422 when an
operation fails; merge-patch; strategic-merge on a Deployment merges containers by name and is
415 on a custom resource; a patch carrying a stale resourceVersion is a 409; a patch to a
missing object is 404; server-side apply creates (201) then updates (200), requires a
fieldManager, removes fields its manager dropped, answers 409 on a conflict with another
manager and takes over with force=true; an unknown patch type is 415.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.sandbox.apiserver.support import deployment, namespace, simple_crd

DEPLOYMENTS = "/apis/apps/v1/namespaces/prod/deployments"
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
MERGE = {"Content-Type": "application/merge-patch+json"}
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}
APPLY = {"Content-Type": "application/apply-patch+yaml"}


async def setup(http: httpx.AsyncClient) -> dict[str, Any]:
    await http.post("/api/v1/namespaces", json=namespace("prod"))
    response = await http.post(DEPLOYMENTS, json=deployment())
    assert response.status_code == 201
    created: dict[str, Any] = response.json()
    return created


async def test_json_patch(http: httpx.AsyncClient) -> None:
    await setup(http)
    operations = [
        {"op": "replace", "path": "/spec/replicas", "value": 4},
        {"op": "add", "path": "/metadata/labels/tier", "value": "web"},
    ]
    response = await http.patch(
        f"{DEPLOYMENTS}/podinfo", content=json.dumps(operations), headers=JSON_PATCH
    )
    assert response.status_code == 200
    assert response.json()["spec"]["replicas"] == 4
    assert response.json()["metadata"]["labels"] == {"app": "podinfo", "tier": "web"}


async def test_json_patch_must_be_a_list_and_failing_ops_are_422(http: httpx.AsyncClient) -> None:
    await setup(http)
    not_list = await http.patch(
        f"{DEPLOYMENTS}/podinfo", content='{"op":"add"}', headers=JSON_PATCH
    )
    assert not_list.status_code == 400
    assert not_list.json()["reason"] == "BadRequest"
    failing = [{"op": "test", "path": "/spec/replicas", "value": 99}]
    response = await http.patch(
        f"{DEPLOYMENTS}/podinfo", content=json.dumps(failing), headers=JSON_PATCH
    )
    assert response.status_code == 422
    assert response.json()["kind"] == "Status"


async def test_merge_patch(http: httpx.AsyncClient) -> None:
    await setup(http)
    body = '{"metadata":{"labels":{"app":null,"x":"y"}},"spec":{"replicas":1}}'
    response = await http.patch(f"{DEPLOYMENTS}/podinfo", content=body, headers=MERGE)
    assert response.json()["metadata"]["labels"] == {"x": "y"}
    assert response.json()["spec"]["replicas"] == 1


async def test_strategic_merge_on_a_deployment(http: httpx.AsyncClient) -> None:
    await setup(http)
    body = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "app"}],
                    "containers": [
                        {
                            "name": "app",
                            "image": "podinfo:2.0",
                            "env": [{"name": "A", "value": "1"}],
                        }
                    ],
                }
            }
        }
    }
    response = await http.patch(
        f"{DEPLOYMENTS}/podinfo", content=json.dumps(body), headers=STRATEGIC
    )
    container = response.json()["spec"]["template"]["spec"]["containers"]
    assert len(container) == 1
    assert container[0]["image"] == "podinfo:2.0"
    assert container[0]["ports"] == [{"containerPort": 9898, "protocol": "TCP"}]
    assert container[0]["env"] == [{"name": "A", "value": "1"}]
    assert response.json()["metadata"]["generation"] == 2


async def test_strategic_merge_on_a_custom_resource_is_415(http: httpx.AsyncClient) -> None:
    await http.post(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        json=simple_crd("example.com", "Widget", "widgets"),
    )
    widgets = "/apis/example.com/v1/namespaces/default/widgets"
    await http.post(
        widgets, json={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    )
    response = await http.patch(f"{widgets}/w", content='{"spec":{"a":1}}', headers=STRATEGIC)
    assert response.status_code == 415
    assert response.json()["reason"] == "UnsupportedMediaType"
    assert "application/merge-patch+json" in response.json()["message"]
    merged = await http.patch(f"{widgets}/w", content='{"spec":{"a":1}}', headers=MERGE)
    assert merged.json()["spec"] == {"a": 1}


async def test_stale_resource_version_in_a_patch_is_a_conflict(http: httpx.AsyncClient) -> None:
    created = await setup(http)
    await http.patch(f"{DEPLOYMENTS}/podinfo", content='{"spec":{"replicas":3}}', headers=MERGE)
    stale = {
        "metadata": {"resourceVersion": created["metadata"]["resourceVersion"]},
        "spec": {"replicas": 5},
    }
    response = await http.patch(f"{DEPLOYMENTS}/podinfo", content=json.dumps(stale), headers=MERGE)
    assert response.status_code == 409


async def test_patch_of_missing_object_is_404(http: httpx.AsyncClient) -> None:
    response = await http.patch(
        "/api/v1/namespaces/default/configmaps/x", content="{}", headers=MERGE
    )
    assert response.status_code == 404


async def test_unknown_patch_type_is_415(http: httpx.AsyncClient) -> None:
    await setup(http)
    response = await http.patch(
        f"{DEPLOYMENTS}/podinfo", content="{}", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415


async def test_server_side_apply_creates_updates_and_prunes(http: httpx.AsyncClient) -> None:
    await http.post("/api/v1/namespaces", json=namespace("prod"))
    config = deployment()
    config["metadata"]["labels"]["old"] = "yes"
    url = f"{DEPLOYMENTS}/podinfo?fieldManager=flagger"
    created = await http.patch(url, content=json.dumps(config), headers=APPLY)
    assert created.status_code == 201
    assert created.json()["metadata"]["labels"]["old"] == "yes"
    del config["metadata"]["labels"]["old"]
    config["spec"]["replicas"] = 3
    updated = await http.patch(url, content=json.dumps(config), headers=APPLY)
    assert updated.status_code == 200
    assert updated.json()["metadata"]["labels"] == {"app": "podinfo"}
    assert updated.json()["spec"]["replicas"] == 3
    managers = [entry["manager"] for entry in updated.json()["metadata"]["managedFields"]]
    assert managers == ["flagger"]


async def test_server_side_apply_accepts_yaml_and_needs_a_manager(http: httpx.AsyncClient) -> None:
    body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: '1'\n"
    url = "/api/v1/namespaces/default/configmaps/settings"
    nameless = await http.patch(url, content=body, headers=APPLY)
    assert nameless.status_code == 400
    created = await http.patch(f"{url}?fieldManager=me", content=body, headers=APPLY)
    assert created.status_code == 201
    assert created.json()["data"] == {"a": "1"}


async def test_server_side_apply_conflicts_and_force(http: httpx.AsyncClient) -> None:
    await http.post("/api/v1/namespaces", json=namespace("prod"))
    config = deployment()
    await http.patch(
        f"{DEPLOYMENTS}/podinfo?fieldManager=flagger", content=json.dumps(config), headers=APPLY
    )
    config["spec"]["replicas"] = 9
    conflict = await http.patch(
        f"{DEPLOYMENTS}/podinfo?fieldManager=kubectl", content=json.dumps(config), headers=APPLY
    )
    assert conflict.status_code == 409
    assert conflict.json()["message"] == (
        'Apply failed with 1 conflict: conflict with "flagger" using apps/v1: .spec.replicas'
    )
    forced = await http.patch(
        f"{DEPLOYMENTS}/podinfo?fieldManager=kubectl&force=true",
        content=json.dumps(config),
        headers=APPLY,
    )
    assert forced.status_code == 200
    assert forced.json()["spec"]["replicas"] == 9
