"""Discovery and OpenAPI documents.

Covers: /version reports v1.32.x; /api and /apis answer the aggregated APIGroupDiscoveryList
with its own Content-Type when asked (v2 preferred, v2beta1 accepted) and the legacy shapes
otherwise; short names, categories, verbs and subresources (status, scale as autoscaling/v1
Scale, pods/log) are listed; /apis/<group> and /apis/<g>/<v>; a CRD's versions appear, in
Kubernetes' preference order, when it is created and disappear when it is deleted; /openapi/v3
lists every group-version with a document declaring the fieldValidation parameter, and the hash
changes when a CRD is added.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.apiserver.support import simple_crd

AGGREGATED = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def resource(document: dict[str, Any], group: str, plural: str) -> dict[str, Any]:
    for item in document["items"]:
        if item["metadata"].get("name", "") == group:
            for entry in item["versions"][0]["resources"]:
                if entry["resource"] == plural:
                    found: dict[str, Any] = entry
                    return found
    raise AssertionError(f"{plural}.{group} not in discovery")


async def test_version(http: httpx.AsyncClient) -> None:
    body = (await http.get("/version")).json()
    assert (body["major"], body["minor"]) == ("1", "32")
    assert body["gitVersion"].startswith("v1.32.")


async def test_aggregated_discovery(http: httpx.AsyncClient) -> None:
    response = await http.get("/apis", headers={"Accept": AGGREGATED})
    assert response.headers["content-type"] == (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    )
    apis = response.json()
    assert apis["kind"] == "APIGroupDiscoveryList"
    deployments = resource(apis, "apps", "deployments")
    assert deployments["shortNames"] == ["deploy"]
    assert deployments["categories"] == ["all"]
    assert deployments["scope"] == "Namespaced"
    assert "watch" in deployments["verbs"]
    assert {s["subresource"]: s["responseKind"]["kind"] for s in deployments["subresources"]} == {
        "status": "Deployment",
        "scale": "Scale",
    }
    core = (await http.get("/api", headers={"Accept": AGGREGATED})).json()
    pods = resource(core, "", "pods")
    assert pods["shortNames"] == ["po"]
    assert [s["subresource"] for s in pods["subresources"]] == ["status", "log", "exec"]
    assert resource(core, "", "namespaces")["scope"] == "Cluster"
    beta = await http.get("/apis", headers={"Accept": AGGREGATED.split(",", 1)[1]})
    assert beta.headers["content-type"].endswith("v=v2beta1;as=APIGroupDiscoveryList")


async def test_legacy_discovery(http: httpx.AsyncClient) -> None:
    assert (await http.get("/api")).json()["versions"] == ["v1"]
    groups = (await http.get("/apis")).json()
    assert groups["kind"] == "APIGroupList"
    apps = next(g for g in groups["groups"] if g["name"] == "apps")
    assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    assert (await http.get("/apis/apps")).json()["name"] == "apps"
    listing = (await http.get("/apis/apps/v1")).json()
    names = {r["name"]: r for r in listing["resources"]}
    assert names["deployments"]["shortNames"] == ["deploy"]
    assert names["deployments/scale"]["group"] == "autoscaling"
    assert names["deployments/scale"]["kind"] == "Scale"
    core = {r["name"] for r in (await http.get("/api/v1")).json()["resources"]}
    assert {
        "pods",
        "pods/log",
        "pods/status",
        "services",
        "namespaces",
        "events",
        "configmaps",
    } <= core
    assert (await http.get("/apis/nosuch.io")).status_code == 404


async def test_crd_versions_come_and_go(http: httpx.AsyncClient) -> None:
    crd = simple_crd(
        "split.smi-spec.io",
        "TrafficSplit",
        "trafficsplits",
        ("v1alpha1", "v1alpha2", "v1alpha3"),
        short_names=("ts",),
    )
    await http.post(CRDS, json=crd)
    apis = (await http.get("/apis", headers={"Accept": AGGREGATED})).json()
    group = next(i for i in apis["items"] if i["metadata"].get("name") == "split.smi-spec.io")
    assert [v["version"] for v in group["versions"]] == ["v1alpha3", "v1alpha2", "v1alpha1"]
    assert resource(apis, "split.smi-spec.io", "trafficsplits")["shortNames"] == ["ts"]
    legacy = (await http.get("/apis/split.smi-spec.io")).json()
    assert legacy["preferredVersion"]["version"] == "v1alpha3"
    await http.delete(f"{CRDS}/trafficsplits.split.smi-spec.io")
    apis = (await http.get("/apis", headers={"Accept": AGGREGATED})).json()
    assert all(i["metadata"].get("name") != "split.smi-spec.io" for i in apis["items"])
    assert (await http.get("/apis/split.smi-spec.io/v1alpha3")).status_code == 404


async def test_openapi_v3_declares_field_validation(http: httpx.AsyncClient) -> None:
    index = (await http.get("/openapi/v3")).json()["paths"]
    assert {"api/v1", "apis/apps/v1", "apis/apiextensions.k8s.io/v1"} <= set(index)
    url = index["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=")
    document = (await http.get(url)).json()
    patch = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
    }
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    await http.post(CRDS, json=simple_crd("example.com", "Widget", "widgets"))
    listed = (await http.get("/openapi/v3")).json()["paths"]["apis/example.com/v1"]
    await http.post(CRDS, json=simple_crd("example.com", "Gadget", "gadgets"))
    relisted = (await http.get("/openapi/v3")).json()["paths"]["apis/example.com/v1"]
    assert relisted["serverRelativeURL"] != listed["serverRelativeURL"]
