"""DELETE: finalizers, propagation, garbage collection, namespace and CRD teardown.

Covers: a plain delete of a ConfigMap answers a Success Status and the object is gone; with
finalizers the object stays with deletionTimestamp (and a generation bump) until a write removes
the last one, new finalizers cannot be added meanwhile; preconditions on uid and resourceVersion
are 409s; deleting an owner deletes its dependents by ownerReferences uid (recursively), a
dependent with another live owner only loses the reference; Orphan keeps dependents without the
reference; Foreground keeps the owner until its dependents are gone; references to owners that do
not exist are dropped, and an object none of whose owners exists is collected; deleting a namespace
deletes what is in it; deleting a CRD deletes its custom resources and stops serving them;
deletecollection honours label selectors.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.sandbox.apiserver.support import (
    ROOT_CA,
    configmap,
    deployment,
    names_of,
    namespace,
    simple_crd,
)

CONFIGMAPS = "/api/v1/namespaces/prod/configmaps"
DEPLOYMENTS = "/apis/apps/v1/namespaces/prod/deployments"
MERGE = {"Content-Type": "application/merge-patch+json"}


async def prod(http: httpx.AsyncClient) -> None:
    await http.post("/api/v1/namespaces", json=namespace("prod"))


def owned_by(body: dict[str, Any], *owners: dict[str, Any]) -> dict[str, Any]:
    body["metadata"]["ownerReferences"] = [
        {
            "apiVersion": o["apiVersion"],
            "kind": o["kind"],
            "name": o["metadata"]["name"],
            "uid": o["metadata"]["uid"],
        }
        for o in owners
    ]
    return body


async def delete(http: httpx.AsyncClient, url: str, **options: Any) -> httpx.Response:
    return await http.request("DELETE", url, content=json.dumps(options) if options else None)


async def test_delete_answers_success_and_removes(http: httpx.AsyncClient) -> None:
    await prod(http)
    created = (await http.post(CONFIGMAPS, json=configmap("a"))).json()
    response = await delete(http, f"{CONFIGMAPS}/a")
    assert response.status_code == 200
    assert response.json()["status"] == "Success"
    assert response.json()["details"]["uid"] == created["metadata"]["uid"]
    assert (await http.get(f"{CONFIGMAPS}/a")).status_code == 404
    assert (await delete(http, f"{CONFIGMAPS}/a")).status_code == 404


async def test_finalizers_hold_deletion_until_removed(http: httpx.AsyncClient) -> None:
    await prod(http)
    body = deployment()
    body["metadata"]["finalizers"] = ["serinus.io/cleanup", "other.io/x"]
    await http.post(DEPLOYMENTS, json=body)
    response = await delete(http, f"{DEPLOYMENTS}/podinfo")
    assert response.status_code == 200
    held = response.json()
    assert held["kind"] == "Deployment"
    assert held["metadata"]["deletionTimestamp"]
    assert held["metadata"]["generation"] == 2
    assert (await http.get(f"{DEPLOYMENTS}/podinfo")).status_code == 200
    adding = await http.patch(
        f"{DEPLOYMENTS}/podinfo",
        content='{"metadata":{"finalizers":["serinus.io/cleanup","other.io/x","new.io/y"]}}',
        headers=MERGE,
    )
    assert adding.status_code == 422
    one_left = await http.patch(
        f"{DEPLOYMENTS}/podinfo",
        content='{"metadata":{"finalizers":["other.io/x"]}}',
        headers=MERGE,
    )
    assert one_left.status_code == 200
    assert (await http.get(f"{DEPLOYMENTS}/podinfo")).status_code == 200
    last = await http.patch(
        f"{DEPLOYMENTS}/podinfo", content='{"metadata":{"finalizers":null}}', headers=MERGE
    )
    assert last.status_code == 200
    assert (await http.get(f"{DEPLOYMENTS}/podinfo")).status_code == 404


async def test_preconditions(http: httpx.AsyncClient) -> None:
    await prod(http)
    created = (await http.post(CONFIGMAPS, json=configmap("a"))).json()
    wrong_uid = await delete(http, f"{CONFIGMAPS}/a", preconditions={"uid": "nope"})
    assert wrong_uid.status_code == 409
    assert "Precondition failed: UID in precondition: nope" in wrong_uid.json()["message"]
    wrong_rv = await delete(http, f"{CONFIGMAPS}/a", preconditions={"resourceVersion": "1"})
    assert wrong_rv.status_code == 409
    right = await delete(http, f"{CONFIGMAPS}/a", preconditions={"uid": created["metadata"]["uid"]})
    assert right.status_code == 200


async def test_owner_deletion_collects_dependents(http: httpx.AsyncClient) -> None:
    await prod(http)
    owner = (await http.post(DEPLOYMENTS, json=deployment())).json()
    child = (await http.post(CONFIGMAPS, json=owned_by(configmap("child"), owner))).json()
    await http.post(CONFIGMAPS, json=owned_by(configmap("grandchild"), child))
    other = (await http.post(CONFIGMAPS, json=configmap("other-owner"))).json()
    await http.post(CONFIGMAPS, json=owned_by(configmap("shared"), owner, other))
    await http.post(CONFIGMAPS, json=configmap("unrelated"))
    await delete(http, f"{DEPLOYMENTS}/podinfo", propagationPolicy="Background")
    names = names_of((await http.get(CONFIGMAPS)).json()["items"])
    assert names == ["other-owner", "shared", "unrelated"]
    shared = (await http.get(f"{CONFIGMAPS}/shared")).json()
    assert [ref["name"] for ref in shared["metadata"]["ownerReferences"]] == ["other-owner"]


async def test_orphan_keeps_dependents_without_the_reference(http: httpx.AsyncClient) -> None:
    await prod(http)
    owner = (await http.post(DEPLOYMENTS, json=deployment())).json()
    await http.post(CONFIGMAPS, json=owned_by(configmap("child"), owner))
    response = await http.request("DELETE", f"{DEPLOYMENTS}/podinfo?propagationPolicy=Orphan")
    assert response.status_code == 200
    child = (await http.get(f"{CONFIGMAPS}/child")).json()
    assert "ownerReferences" not in child["metadata"]


async def test_foreground_waits_for_dependents(http: httpx.AsyncClient) -> None:
    await prod(http)
    owner = (await http.post(DEPLOYMENTS, json=deployment())).json()
    held = owned_by(configmap("held"), owner)
    held["metadata"]["finalizers"] = ["example.com/slow"]
    await http.post(CONFIGMAPS, json=held)
    response = await delete(http, f"{DEPLOYMENTS}/podinfo", propagationPolicy="Foreground")
    assert response.json()["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert (await http.get(f"{DEPLOYMENTS}/podinfo")).status_code == 200
    await http.patch(f"{CONFIGMAPS}/held", content='{"metadata":{"finalizers":[]}}', headers=MERGE)
    assert (await http.get(f"{CONFIGMAPS}/held")).status_code == 404
    assert (await http.get(f"{DEPLOYMENTS}/podinfo")).status_code == 404


async def test_namespace_deletion_deletes_its_content(http: httpx.AsyncClient) -> None:
    await prod(http)
    await http.post(DEPLOYMENTS, json=deployment())
    await http.post(CONFIGMAPS, json=configmap("a"))
    await http.post("/api/v1/namespaces", json=namespace("keep"))
    await http.post("/api/v1/namespaces/keep/configmaps", json=configmap("b", "keep"))
    response = await delete(http, "/api/v1/namespaces/prod")
    assert response.status_code == 200
    assert (await http.get("/api/v1/namespaces/prod")).status_code == 404
    assert (await http.get("/apis/apps/v1/deployments")).json()["items"] == []
    remaining = (await http.get("/api/v1/configmaps")).json()["items"]
    assert [
        (c["metadata"]["namespace"], c["metadata"]["name"])
        for c in remaining
        if c["metadata"]["name"] != ROOT_CA
    ] == [("keep", "b")]
    assert "prod" not in {c["metadata"]["namespace"] for c in remaining}


async def test_namespace_stays_terminating_while_content_is_held(http: httpx.AsyncClient) -> None:
    await prod(http)
    held = configmap("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    await http.post(CONFIGMAPS, json=held)
    response = await delete(http, "/api/v1/namespaces/prod")
    assert response.json()["status"]["phase"] == "Terminating"
    await http.patch(
        f"{CONFIGMAPS}/held", content='{"metadata":{"finalizers":null}}', headers=MERGE
    )
    assert (await http.get("/api/v1/namespaces/prod")).status_code == 404


async def test_crd_deletion_removes_its_resources_and_stops_serving(
    http: httpx.AsyncClient,
) -> None:
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    await http.post(crds, json=simple_crd("example.com", "Widget", "widgets"))
    widgets = "/apis/example.com/v1/namespaces/default/widgets"
    await http.post(
        widgets, json={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    )
    assert (await delete(http, f"{crds}/widgets.example.com")).status_code == 200
    assert (await http.get(f"{crds}/widgets.example.com")).status_code == 404
    gone = await http.get(widgets)
    assert gone.status_code == 404
    assert gone.json()["message"] == "the server could not find the requested resource"
    await http.post(crds, json=simple_crd("example.com", "Widget", "widgets"))
    assert (await http.get(widgets)).json()["items"] == []


async def test_delete_collection_with_selector(http: httpx.AsyncClient) -> None:
    await prod(http)
    await http.post(CONFIGMAPS, json=configmap("a", tier="web"))
    await http.post(CONFIGMAPS, json=configmap("b", tier="db"))
    response = await http.request("DELETE", f"{CONFIGMAPS}?labelSelector=tier%3Dweb")
    assert [item["metadata"]["name"] for item in response.json()["items"]] == ["a"]
    names = names_of((await http.get(CONFIGMAPS)).json()["items"])
    assert names == ["b"]


async def test_dangling_owner_references(http: httpx.AsyncClient) -> None:
    await prod(http)
    owner = (await http.post(DEPLOYMENTS, json=deployment())).json()
    ghost = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ghost", "uid": "no-such-uid"},
    }
    half = await http.post(CONFIGMAPS, json=owned_by(configmap("half"), owner, ghost))
    assert half.status_code == 201
    kept = (await http.get(f"{CONFIGMAPS}/half")).json()
    assert [ref["uid"] for ref in kept["metadata"]["ownerReferences"]] == [owner["metadata"]["uid"]]
    orphan = await http.post(CONFIGMAPS, json=owned_by(configmap("orphan"), ghost))
    assert orphan.status_code == 201
    assert (await http.get(f"{CONFIGMAPS}/orphan")).status_code == 404
