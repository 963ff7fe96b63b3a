"""Create and update over HTTP, with the real server's semantics.

Covers: 201 on create with server-set uid, creationTimestamp, resourceVersion and generation,
the namespace taken from the URL; 409 AlreadyExists as a Status; generateName; 404 for a
missing namespace and 403 in a terminating one; 422 Invalid listing causes (bad name, selector
not matching the template, immutable selector); 400 for a body that does not fit the URL;
PUT 200 and 409 Conflict on a stale resourceVersion; generation bumps only on spec changes
(and on Deployment annotations); a write that changes nothing keeps the resourceVersion;
status writes ignore everything but status and main writes ignore status; custom resources
need a resourceVersion on PUT; Strict field validation refuses unknown fields, Warn prunes them
with a Warning header; built-in defaults and Service cluster IPs; Secret stringData folded into
base64 data and bad base64 refused; dryRun=All stores nothing.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.apiserver.support import configmap, deployment, namespace, simple_crd

DEPLOYMENTS = "/apis/apps/v1/namespaces/prod/deployments"


async def create_prod(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/v1/namespaces", json=namespace("prod"))
    assert response.status_code == 201


async def test_create_returns_201_with_server_set_metadata(http: httpx.AsyncClient) -> None:
    await create_prod(http)
    body = deployment()
    del body["metadata"]["namespace"]
    response = await http.post(DEPLOYMENTS, json=body)
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    meta = response.json()["metadata"]
    assert meta["namespace"] == "prod"
    assert meta["generation"] == 1
    assert len(meta["uid"]) == 36
    assert meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) > 0
    fetched = await http.get(f"{DEPLOYMENTS}/podinfo")
    assert fetched.json()["metadata"] == meta


async def test_resource_versions_come_from_one_counter(http: httpx.AsyncClient) -> None:
    await create_prod(http)
    first = (await http.post("/api/v1/namespaces/prod/configmaps", json=configmap("a"))).json()
    second = (await http.post(DEPLOYMENTS, json=deployment())).json()
    third = (await http.post("/api/v1/namespaces/prod/configmaps", json=configmap("b"))).json()
    versions = [int(o["metadata"]["resourceVersion"]) for o in (first, second, third)]
    assert versions == sorted(versions)
    assert len(set(versions)) == 3


async def test_duplicate_create_is_409_already_exists(http: httpx.AsyncClient) -> None:
    await create_prod(http)
    await http.post(DEPLOYMENTS, json=deployment())
    response = await http.post(DEPLOYMENTS, json=deployment())
    assert response.status_code == 409
    assert response.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "podinfo" already exists',
        "reason": "AlreadyExists",
        "details": {"name": "podinfo", "kind": "deployments", "group": "apps"},
        "code": 409,
    }


async def test_missing_object_is_404_not_found(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v1/namespaces/default/configmaps/nothere")
    assert response.status_code == 404
    assert response.json()["reason"] == "NotFound"
    assert response.json()["message"] == 'configmaps "nothere" not found'
    unknown = await http.get("/apis/nosuch.io/v1/things")
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "the server could not find the requested resource"


async def test_generate_name(http: httpx.AsyncClient) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "run-"}}
    first = (await http.post("/api/v1/namespaces/default/configmaps", json=body)).json()
    second = (await http.post("/api/v1/namespaces/default/configmaps", json=body)).json()
    assert first["metadata"]["name"].startswith("run-")
    assert len(first["metadata"]["name"]) == len("run-") + 5
    assert first["metadata"]["name"] != second["metadata"]["name"]


async def test_namespace_must_exist_and_not_be_terminating(http: httpx.AsyncClient) -> None:
    missing = await http.post(
        "/api/v1/namespaces/nowhere/configmaps", json=configmap("a", "nowhere")
    )
    assert missing.status_code == 404
    assert missing.json()["message"] == 'namespaces "nowhere" not found'
    await http.post("/api/v1/namespaces", json=namespace("doomed"))
    holder = configmap("held", "doomed")
    holder["metadata"]["finalizers"] = ["example.com/hold"]
    await http.post("/api/v1/namespaces/doomed/configmaps", json=holder)
    await http.delete("/api/v1/namespaces/doomed")
    refused = await http.post("/api/v1/namespaces/doomed/configmaps", json=configmap("b", "doomed"))
    assert refused.status_code == 403
    assert refused.json()["reason"] == "Forbidden"
    assert "because it is being terminated" in refused.json()["message"]


async def test_invalid_objects_are_422_with_causes(http: httpx.AsyncClient) -> None:
    await create_prod(http)
    bad = deployment(name="Bad_Name")
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    response = await http.post(DEPLOYMENTS, json=bad)
    assert response.status_code == 422
    status = response.json()
    assert status["reason"] == "Invalid"
    assert status["message"].startswith('Deployment.apps "Bad_Name" is invalid: [metadata.name: ')
    fields = [cause["field"] for cause in status["details"]["causes"]]
    assert fields == ["metadata.name", "spec.template.metadata.labels"]


async def test_body_must_fit_the_url(http: httpx.AsyncClient) -> None:
    await create_prod(http)
    wrong_namespace = deployment(namespace="default")
    response = await http.post(DEPLOYMENTS, json=wrong_namespace)
    assert response.status_code == 400
    assert "does not match the namespace" in response.json()["message"]
    wrong_kind = configmap("x")
    assert (await http.post(DEPLOYMENTS, json=wrong_kind)).status_code == 400
    await http.post(DEPLOYMENTS, json=deployment())
    renamed = (await http.get(f"{DEPLOYMENTS}/podinfo")).json()
    renamed["metadata"]["name"] = "other"
    put = await http.put(f"{DEPLOYMENTS}/podinfo", json=renamed)
    assert put.status_code == 400
    assert put.json()["message"] == (
        "the name of the object (other) does not match the name on the URL (podinfo)"
    )
    cbor = await http.post(
        "/api/v1/namespaces", content=b"\xa0", headers={"Content-Type": "application/cbor"}
    )
    assert cbor.status_code == 415
    assert "application/vnd.kubernetes.protobuf" in cbor.json()["message"]  # accepted types


async def test_put_replaces_and_refuses_a_stale_resource_version(http: httpx.AsyncClient) -> None:
    await create_prod(http)
    created = (await http.post(DEPLOYMENTS, json=deployment())).json()
    changed = dict(created, spec={**created["spec"], "replicas": 5})
    response = await http.put(f"{DEPLOYMENTS}/podinfo", json=changed)
    assert response.status_code == 200
    assert response.json()["spec"]["replicas"] == 5
    stale = await http.put(f"{DEPLOYMENTS}/podinfo", json=changed)
    assert stale.status_code == 409
    assert stale.json()["reason"] == "Conflict"
    assert stale.json()["message"] == (
        'Operation cannot be fulfilled on deployments.apps "podinfo": the object has been '
        "modified; please apply your changes to the latest version and try again"
    )


async def test_generation_counts_spec_changes_only(http: httpx.AsyncClient) -> None:
    await create_prod(http)
    await http.post(DEPLOYMENTS, json=deployment())
    merge = {"Content-Type": "application/merge-patch+json"}

    async def patched(body: str) -> dict[str, Any]:
        response = await http.patch(f"{DEPLOYMENTS}/podinfo", content=body, headers=merge)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()["metadata"]
        return found

    assert (await patched('{"metadata":{"labels":{"team":"a"}}}'))["generation"] == 1
    status = await http.patch(
        f"{DEPLOYMENTS}/podinfo/status", content='{"status":{"replicas":2}}', headers=merge
    )
    assert status.json()["metadata"]["generation"] == 1
    assert (await patched('{"spec":{"replicas":3}}'))["generation"] == 2
    assert (await patched('{"metadata":{"annotations":{"note":"x"}}}'))["generation"] == 3
    configmaps = "/api/v1/namespaces/prod/configmaps"
    made = (await http.post(configmaps, json=configmap("c"))).json()
    assert "generation" not in made["metadata"]


async def test_write_without_change_keeps_resource_version(http: httpx.AsyncClient) -> None:
    await create_prod(http)
    created = (await http.post(DEPLOYMENTS, json=deployment())).json()
    same = await http.put(f"{DEPLOYMENTS}/podinfo", json=created)
    assert same.status_code == 200
    assert same.json()["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_status_subresource_splits_writes(http: httpx.AsyncClient) -> None:
    await create_prod(http)
    body = deployment()
    body["status"] = {"replicas": 9}
    created = (await http.post(DEPLOYMENTS, json=body)).json()
    assert created["status"] == {}
    created["spec"]["replicas"] = 7
    created["status"] = {"replicas": 2, "readyReplicas": 2}
    via_status = (await http.put(f"{DEPLOYMENTS}/podinfo/status", json=created)).json()
    assert via_status["status"] == {"replicas": 2, "readyReplicas": 2}
    assert via_status["spec"]["replicas"] == 2
    via_status["status"] = {"replicas": 0}
    via_status["spec"]["replicas"] = 4
    via_main = (await http.put(f"{DEPLOYMENTS}/podinfo", json=via_status)).json()
    assert via_main["spec"]["replicas"] == 4
    assert via_main["status"] == {"replicas": 2, "readyReplicas": 2}
    got = (await http.get(f"{DEPLOYMENTS}/podinfo/status")).json()
    assert got["kind"] == "Deployment"
    assert got["status"]["readyReplicas"] == 2


async def test_custom_resources_follow_their_crd(http: httpx.AsyncClient) -> None:
    crd = simple_crd("example.com", "Widget", "widgets")
    assert (
        await http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)
    ).status_code == 201
    widgets = "/apis/example.com/v1/namespaces/default/widgets"
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 1},
        "status": {"ready": True},
    }
    created = (await http.post(widgets, json=widget)).json()
    assert "status" not in created
    assert created["metadata"]["generation"] == 1
    unversioned = dict(created, spec={"size": 2})
    del unversioned["metadata"]["resourceVersion"]
    refused = await http.put(f"{widgets}/w", json=unversioned)
    assert refused.status_code == 422
    assert (
        "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
        in refused.json()["message"]
    )


async def test_field_validation_strict_refuses_and_warn_prunes(http: httpx.AsyncClient) -> None:
    await create_prod(http)
    body = deployment()
    body["metadata"]["lables"] = {"typo": "x"}
    strict = await http.post(f"{DEPLOYMENTS}?fieldValidation=Strict", json=body)
    assert strict.status_code == 400
    assert strict.json()["message"] == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "metadata.lables"'
    )
    warned = await http.post(DEPLOYMENTS, json=body)
    assert warned.status_code == 201
    assert warned.headers["warning"] == '299 - "unknown field \\"metadata.lables\\""'
    assert "lables" not in warned.json()["metadata"]


async def test_defaults_and_cluster_ip(http: httpx.AsyncClient) -> None:
    await create_prod(http)
    created = (await http.post(DEPLOYMENTS, json=deployment())).json()
    assert created["spec"]["strategy"]["type"] == "RollingUpdate"
    container = created["spec"]["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["ports"][0]["protocol"] == "TCP"
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
    }
    made = (await http.post("/api/v1/namespaces/prod/services", json=service)).json()
    assert made["spec"]["clusterIP"].startswith("10.9")
    assert made["spec"]["ports"][0]["targetPort"] == 80
    del made["spec"]["clusterIP"]
    made["spec"]["ports"] = [{"port": 8080}]
    kept = (await http.put("/api/v1/namespaces/prod/services/web", json=made)).json()
    assert kept["spec"]["clusterIP"] == made["spec"]["clusterIPs"][0]


async def test_dry_run_stores_nothing(http: httpx.AsyncClient) -> None:
    await create_prod(http)
    response = await http.post(f"{DEPLOYMENTS}?dryRun=All", json=deployment())
    assert response.status_code == 201
    assert (await http.get(f"{DEPLOYMENTS}/podinfo")).status_code == 404


async def test_secret_string_data_becomes_base64_data(http: httpx.AsyncClient) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "hook"},
        "data": {"a": "eA=="},
        "stringData": {"token": "s3cret"},
    }
    made = (await http.post("/api/v1/namespaces/default/secrets", json=secret)).json()
    assert made["type"] == "Opaque"
    assert made["data"] == {"a": "eA==", "token": "czNjcmV0"}
    assert "stringData" not in made
    secret["data"] = {"a": "not base64!"}
    refused = await http.post(
        "/api/v1/namespaces/default/secrets", json=dict(secret, metadata={"name": "b"})
    )
    assert refused.status_code == 400
