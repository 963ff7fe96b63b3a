"""The API server's /metrics: requests counted by verb, resource and code, behind RBAC.

What a platform engineer would read from a real API server (``apiserver_request_total``), and what
``benchmarks/operator_scale.py`` counts an operator's requests with.
"""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.sandbox.apiserver.support import Kubectl, configmap
from tests.sandbox.apiserver.test_rbac import bearer, robot_token

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
Key = tuple[str, str, str, str, str]


async def requests(http: httpx.AsyncClient) -> dict[Key, float]:
    """(verb, resource, subresource, scope, code) -> count, from the server's /metrics."""
    answer = await http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    counts: dict[Key, float] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == "apiserver_request_total":
                labels = sample.labels
                key = tuple(labels[k] for k in ("verb", "resource", "subresource", "scope", "code"))
                counts[key] = sample.value  # type: ignore[index]
    return counts


async def test_requests_counted_by_verb_resource_and_code(http: httpx.AsyncClient) -> None:
    assert (await http.post(CONFIGMAPS, json=configmap("a", "default"))).status_code == 201
    assert (await http.post(CONFIGMAPS, json=configmap("a", "default"))).status_code == 409
    assert (await http.get(f"{CONFIGMAPS}/a")).status_code == 200
    assert (await http.get(f"{CONFIGMAPS}/a")).status_code == 200
    assert (await http.get(f"{CONFIGMAPS}/b")).status_code == 404
    assert (await http.get(CONFIGMAPS)).status_code == 200
    assert (await http.get("/api/v1/configmaps")).status_code == 200
    applied = await http.patch(
        f"{CONFIGMAPS}/a",
        params={"fieldManager": "test"},
        content=b'{"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"}}',
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert applied.status_code == 200
    merged = await http.patch(
        f"{CONFIGMAPS}/a",
        content=b'{"data": {"k": "w"}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert merged.status_code == 200
    assert (await http.delete(f"{CONFIGMAPS}/a")).status_code == 200
    assert (await http.get("/version")).status_code == 200
    counts = await requests(http)
    assert counts == {
        ("POST", "configmaps", "", "namespace", "201"): 1,
        ("POST", "configmaps", "", "namespace", "409"): 1,
        ("GET", "configmaps", "", "resource", "200"): 2,
        ("GET", "configmaps", "", "resource", "404"): 1,
        ("LIST", "configmaps", "", "namespace", "200"): 1,
        ("LIST", "configmaps", "", "cluster", "200"): 1,
        ("APPLY", "configmaps", "", "resource", "200"): 1,
        ("PATCH", "configmaps", "", "resource", "200"): 1,
        ("DELETE", "configmaps", "", "resource", "200"): 1,
        ("GET", "", "", "", "200"): 1,  # /version: no resource
    }


async def test_a_watch_is_counted_when_it_ends(http: httpx.AsyncClient) -> None:
    watched = await http.get(CONFIGMAPS, params={"watch": "true", "timeoutSeconds": "1"})
    assert watched.status_code == 200
    assert (await requests(http))[("WATCH", "configmaps", "", "namespace", "200")] == 1


async def test_status_writes_name_their_subresource(http: httpx.AsyncClient) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}
    created = await http.post("/api/v1/namespaces", json=namespace)
    assert created.status_code == 201
    status = {**created.json(), "status": {"phase": "Active"}}
    assert (await http.put("/api/v1/namespaces/team/status", json=status)).status_code == 200
    counts = await requests(http)
    assert counts[("PUT", "namespaces", "status", "resource", "200")] == 1
    assert counts[("POST", "namespaces", "", "cluster", "201")] == 1


async def test_metrics_need_rbac_like_any_non_resource_url(
    kubectl: Kubectl, http: httpx.AsyncClient
) -> None:
    token = await robot_token(kubectl)
    refused = await http.get("/metrics", headers=bearer(token))
    assert refused.status_code == 403
    assert "/metrics" in refused.json()["message"]
