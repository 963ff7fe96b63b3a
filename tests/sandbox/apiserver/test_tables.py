"""Server-side Table output, as `kubectl get` asks for it.

Covers: a custom resource's Table has Name then its additionalPrinterColumns (with their
priorities, types and JSONPath values; lists printed as Go does, dates as ages) and no Age
column of its own; a CRD without columns gets Name and Age; rows carry PartialObjectMetadata,
the full object with includeObject=Object and nothing with None; built-in kinds get their real
column sets (pods, deployments, services); a single GET can be a Table; the Table carries the
list's resourceVersion and the Table content type.
"""

from __future__ import annotations

import datetime
from typing import Any

import httpx

from tests.sandbox.apiserver.support import deployment, namespace, simple_crd

TABLE = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)
COLUMNS: list[dict[str, Any]] = [
    {"name": "Status", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Weight", "type": "integer", "jsonPath": ".status.canaryWeight"},
    {"name": "StepWeights", "type": "string", "jsonPath": ".spec.stepWeights", "priority": 1},
    {"name": "Started", "type": "date", "jsonPath": ".status.started"},
]


async def table(http: httpx.AsyncClient, url: str, **params: str) -> dict[str, Any]:
    response = await http.get(url, headers={"Accept": TABLE}, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json;as=Table;v=v1;g=meta.k8s.io"
    body: dict[str, Any] = response.json()
    return body


async def test_custom_resource_columns(http: httpx.AsyncClient) -> None:
    await http.post(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        json=simple_crd("example.com", "Rollout", "rollouts", columns=COLUMNS),
    )
    rollouts = "/apis/example.com/v1/namespaces/default/rollouts"
    await http.post(
        rollouts,
        json={
            "apiVersion": "example.com/v1",
            "kind": "Rollout",
            "metadata": {"name": "web"},
            "spec": {"stepWeights": [5, 10, 20]},
        },
    )
    started = (
        datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(minutes=30, seconds=20)
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    await http.patch(
        f"{rollouts}/web/status",
        headers={"Content-Type": "application/merge-patch+json"},
        content=f'{{"status":{{"phase":"Progressing","canaryWeight":10,"started":"{started}"}}}}',
    )
    body = await table(http, rollouts)
    assert body["kind"] == "Table"
    definitions = [(c["name"], c["type"], c["priority"]) for c in body["columnDefinitions"]]
    assert definitions == [
        ("Name", "string", 0),
        ("Status", "string", 0),
        ("Weight", "integer", 0),
        ("StepWeights", "string", 1),
        ("Started", "date", 0),
    ]
    row = body["rows"][0]
    assert row["cells"] == ["web", "Progressing", 10, "[5 10 20]", "30m"]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["name"] == "web"
    assert body["metadata"]["resourceVersion"] == row["object"]["metadata"]["resourceVersion"]


async def test_missing_values_are_null_cells_and_crds_without_columns_show_age(
    http: httpx.AsyncClient,
) -> None:
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    await http.post(crds, json=simple_crd("example.com", "Rollout", "rollouts", columns=COLUMNS))
    await http.post(crds, json=simple_crd("example.com", "Gadget", "gadgets"))
    await http.post(
        "/apis/example.com/v1/namespaces/default/rollouts",
        json={"apiVersion": "example.com/v1", "kind": "Rollout", "metadata": {"name": "r"}},
    )
    assert (await table(http, "/apis/example.com/v1/namespaces/default/rollouts"))["rows"][0][
        "cells"
    ] == ["r", None, None, None, None]
    await http.post(
        "/apis/example.com/v1/namespaces/default/gadgets",
        json={"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}},
    )
    body = await table(http, "/apis/example.com/v1/namespaces/default/gadgets")
    assert [c["name"] for c in body["columnDefinitions"]] == ["Name", "Age"]
    assert body["rows"][0]["cells"][0] == "g"
    assert body["rows"][0]["cells"][1].endswith("s")


async def test_include_object(http: httpx.AsyncClient) -> None:
    url = "/api/v1/namespaces"
    full = await table(http, url, includeObject="Object")
    assert full["rows"][0]["object"]["kind"] == "Namespace"
    assert full["rows"][0]["object"]["status"] == {"phase": "Active"}
    bare = await table(http, url, includeObject="None")
    assert "object" not in bare["rows"][0]


async def test_builtin_columns(http: httpx.AsyncClient) -> None:
    await http.post("/api/v1/namespaces", json=namespace("prod"))
    await http.post("/apis/apps/v1/namespaces/prod/deployments", json=deployment())
    await http.patch(
        "/apis/apps/v1/namespaces/prod/deployments/podinfo/status",
        headers={"Content-Type": "application/merge-patch+json"},
        content='{"status":{"readyReplicas":1,"updatedReplicas":2,"availableReplicas":1}}',
    )
    deployments = await table(http, "/apis/apps/v1/namespaces/prod/deployments")
    names = [(c["name"], c["priority"]) for c in deployments["columnDefinitions"]]
    assert names == [
        ("Name", 0),
        ("Ready", 0),
        ("Up-to-date", 0),
        ("Available", 0),
        ("Age", 0),
        ("Containers", 1),
        ("Images", 1),
        ("Selector", 1),
    ]
    assert deployments["rows"][0]["cells"][:4] == ["podinfo", "1/2", 2, 1]
    assert deployments["rows"][0]["cells"][5:] == ["app", "podinfo:1.0", "app=podinfo"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }
    await http.post("/api/v1/namespaces/prod/pods", json=pod)
    pods = await table(http, "/api/v1/namespaces/prod/pods")
    assert [c["name"] for c in pods["columnDefinitions"]][:5] == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
    ]
    assert pods["rows"][0]["cells"][:4] == ["p", "0/1", "Pending", 0]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"ports": [{"port": 9898}], "selector": {"app": "web"}},
    }
    await http.post("/api/v1/namespaces/prod/services", json=service)
    services = await table(http, "/api/v1/namespaces/prod/services/web")
    assert [c["name"] for c in services["columnDefinitions"]][:6] == [
        "Name",
        "Type",
        "Cluster-IP",
        "External-IP",
        "Port(s)",
        "Age",
    ]
    cells = services["rows"][0]["cells"]
    assert cells[:2] == ["web", "ClusterIP"]
    assert cells[3:5] == ["<none>", "9898/TCP"]
