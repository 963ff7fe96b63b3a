"""CustomResourceDefinitions: validation, status, versions and schemas of served resources.

Covers: an invalid CRD is a 422 naming the field (name not plural.group, no storage version,
missing schema); a created CRD reports NamesAccepted and Established, acceptedNames and
storedVersions, and gets its spec defaults; one object is served under every version with the
apiVersion rewritten; the repository's Canary CRD prunes, defaults and validates Canaries (a
bad targetRef.kind is 422 with the real message); scale subresource of a CR.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.apiserver.support import CANARY_CRD, load_yaml, namespace, simple_crd

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
MERGE = {"Content-Type": "application/merge-patch+json"}


def canary(api_version: str = "flagger.app/v1beta1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": "prod"},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "service": {"port": 9898},
            **spec,
        },
    }


async def test_invalid_crds_are_422(http: httpx.AsyncClient) -> None:
    crd = simple_crd("example.com", "Widget", "widgets")
    crd["metadata"]["name"] = "wrong.example.com"
    crd["spec"]["versions"][0]["storage"] = False
    del crd["spec"]["versions"][0]["schema"]
    response = await http.post(CRDS, json=crd)
    assert response.status_code == 422
    fields = [cause["field"] for cause in response.json()["details"]["causes"]]
    assert fields == ["metadata.name", "spec.versions", "spec.versions[0].schema.openAPIV3Schema"]


async def test_created_crd_is_established(http: httpx.AsyncClient) -> None:
    crd = simple_crd("example.com", "Widget", "widgets")
    del crd["spec"]["names"]["singular"], crd["spec"]["names"]["listKind"]
    created = (await http.post(CRDS, json=crd)).json()
    conditions = {c["type"]: c["status"] for c in created["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert created["status"]["storedVersions"] == ["v1"]
    assert created["status"]["acceptedNames"]["plural"] == "widgets"
    assert created["spec"]["names"]["singular"] == "widget"
    assert created["spec"]["names"]["listKind"] == "WidgetList"
    assert created["spec"]["conversion"] == {"strategy": "None"}


async def test_one_object_under_every_version(http: httpx.AsyncClient) -> None:
    await http.post(
        CRDS,
        json=simple_crd(
            "split.smi-spec.io",
            "TrafficSplit",
            "trafficsplits",
            ("v1alpha3", "v1alpha2", "v1alpha1"),
        ),
    )
    body = {
        "apiVersion": "split.smi-spec.io/v1alpha2",
        "kind": "TrafficSplit",
        "metadata": {"name": "podinfo"},
        "spec": {"service": "podinfo"},
    }
    made = await http.post(
        "/apis/split.smi-spec.io/v1alpha2/namespaces/default/trafficsplits", json=body
    )
    assert made.status_code == 201
    assert made.json()["apiVersion"] == "split.smi-spec.io/v1alpha2"
    for version in ("v1alpha1", "v1alpha3"):
        got = (
            await http.get(
                f"/apis/split.smi-spec.io/{version}/namespaces/default/trafficsplits/podinfo"
            )
        ).json()
        assert got["apiVersion"] == f"split.smi-spec.io/{version}"
        assert got["spec"] == {"service": "podinfo"}


async def test_canary_crd_prunes_defaults_and_validates(http: httpx.AsyncClient) -> None:
    assert (await http.post(CRDS, json=load_yaml(CANARY_CRD))).status_code == 201
    await http.post("/api/v1/namespaces", json=namespace("prod"))
    canaries = "/apis/flagger.app/v1beta1/namespaces/prod/canaries"
    bad = await http.post(canaries, json=canary(targetRef={"kind": "Job", "name": "x"}))
    assert bad.status_code == 422
    assert bad.json()["message"] == (
        'Canary.flagger.app "podinfo" is invalid: spec.targetRef.kind: Unsupported value: "Job": '
        'supported values: "Deployment", "DaemonSet", "StatefulSet", "Service"'
    )
    strict = await http.post(
        f"{canaries}?fieldValidation=Strict", json=canary(analysis={"stepWeigth": 5})
    )
    assert strict.status_code == 400
    assert 'unknown field "spec.analysis.stepWeigth"' in strict.json()["message"]
    created = await http.post(canaries, json=canary(analysis={"interval": "1m", "stepWeight": 5}))
    assert created.status_code == 201
    status = await http.patch(
        f"{canaries}/podinfo/status", content='{"status":{"phase":"Initialized"}}', headers=MERGE
    )
    assert status.json()["status"]["failedChecks"] == 0
    assert status.json()["status"]["canaryWeight"] == 0
    old = await http.get("/apis/flagger.app/v1alpha3/namespaces/prod/canaries/podinfo")
    assert old.json()["apiVersion"] == "flagger.app/v1alpha3"


async def test_custom_resource_scale(http: httpx.AsyncClient) -> None:
    await http.post(CRDS, json=simple_crd("example.com", "Pool", "pools", scale=True))
    pools = "/apis/example.com/v1/namespaces/default/pools"
    await http.post(
        pools,
        json={
            "apiVersion": "example.com/v1",
            "kind": "Pool",
            "metadata": {"name": "p"},
            "spec": {"replicas": 1},
        },
    )
    await http.patch(
        f"{pools}/p/status", content='{"status":{"replicas":1,"selector":"app=p"}}', headers=MERGE
    )
    scale = (await http.get(f"{pools}/p/scale")).json()
    assert scale["spec"] == {"replicas": 1}
    assert scale["status"] == {"replicas": 1, "selector": "app=p"}
    patched = await http.patch(f"{pools}/p/scale", content='{"spec":{"replicas":4}}', headers=MERGE)
    assert patched.json()["spec"]["replicas"] == 4
    assert (await http.get(f"{pools}/p")).json()["spec"]["replicas"] == 4


async def test_numeric_exclusive_bounds_are_refused(http: httpx.AsyncClient) -> None:
    crd = simple_crd("example.com", "Gauge", "gauges")
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema["properties"] = {"level": {"type": "number", "exclusiveMinimum": 0}}
    refused = await http.post(CRDS, json=crd)
    assert refused.status_code == 422
    cause = refused.json()["details"]["causes"][0]
    assert cause["field"].endswith("openAPIV3Schema.properties.level.exclusiveMinimum")
    schema["properties"]["level"] = {"type": "number", "minimum": 0, "exclusiveMinimum": True}
    assert (await http.post(CRDS, json=crd)).status_code == 201
