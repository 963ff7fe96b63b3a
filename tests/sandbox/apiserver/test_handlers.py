"""The HTTP layer: paging, method and body errors, health, and the Status of every failure.

Covers: `limit` pages a list with `continue` and `remainingItemCount` until the last page; a bad
continue token is 400; methods a resource does not support are 405 as a Status; bodies of the
wrong JSON shape (a list for an object, a number for a label, a list for `spec`, invalid JSON)
are 400; randomly mutated objects, written with every write verb and listed as Tables, never
cause a 5xx; health endpoints answer ok; a single GET can be a Table.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import httpx

from tests.sandbox.apiserver.support import configmap, deployment, simple_crd

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


async def test_paging(http: httpx.AsyncClient) -> None:
    for index in range(5):
        await http.post(CONFIGMAPS, json=configmap(f"c{index}", "default", set="paged"))
    names: list[str] = []
    token = ""
    pages = 0
    while True:
        params = {
            "limit": "2",
            "labelSelector": "set=paged",
            **({"continue": token} if token else {}),
        }
        page = (await http.get(CONFIGMAPS, params=params)).json()
        pages += 1
        names += [item["metadata"]["name"] for item in page["items"]]
        token = page["metadata"].get("continue", "")
        if not token:
            break
        assert page["metadata"]["remainingItemCount"] == 5 - len(names)
    assert names == ["c0", "c1", "c2", "c3", "c4"]
    assert pages == 3
    bad = await http.get(CONFIGMAPS, params={"limit": "2", "continue": "not-a-token"})
    assert bad.status_code == 400


async def test_unsupported_methods_are_405(http: httpx.AsyncClient) -> None:
    response = await http.post(f"{CONFIGMAPS}/x")
    assert response.status_code == 405
    assert response.json()["reason"] == "MethodNotAllowed"
    assert (
        await http.delete("/apis/apps/v1/namespaces/default/deployments/x/status")
    ).status_code == 405


async def test_bad_bodies_are_400(http: httpx.AsyncClient) -> None:
    deployments = "/apis/apps/v1/namespaces/default/deployments"
    as_list = await http.post(CONFIGMAPS, json=[configmap("a", "default")])
    spec_list = deployment(namespace="default")
    spec_list["spec"] = ["replicas"]
    number_label = configmap("b", "default")
    number_label["metadata"]["labels"] = {"app": 5}
    number_data = configmap("c", "default")
    number_data["data"] = {"key": 1}
    invalid_json = await http.post(
        CONFIGMAPS, content=b"{nope", headers={"Content-Type": "application/json"}
    )
    responses = [
        as_list,
        await http.post(deployments, json=spec_list),
        await http.post(CONFIGMAPS, json=number_label),
        await http.post(CONFIGMAPS, json=number_data),
        invalid_json,
    ]
    assert [r.status_code for r in responses] == [400] * 5
    assert all(r.json()["kind"] == "Status" for r in responses)
    assert (
        responses[1]
        .json()["message"]
        .startswith(
            'Deployment in version "v1" cannot be handled as a Deployment: spec must be an object'
        )
    )


async def test_health(http: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/readyz", "/livez"):
        response = await http.get(path)
        assert (response.status_code, response.text) == (200, "ok")


async def test_single_object_as_table(http: httpx.AsyncClient) -> None:
    await http.post(CONFIGMAPS, json=configmap("a", "default"))
    response = await http.get(
        f"{CONFIGMAPS}/a", headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
    )
    body = response.json()
    assert body["kind"] == "Table"
    assert [row["cells"][:2] for row in body["rows"]] == [["a", 1]]


WEIRD: list[Any] = [None, 0, -1, 2.5, "", "x y", [], {}, [1, "a"], {"a": 1}, True, [{"name": 1}]]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``node``."""
    found = [path] if path else []
    if isinstance(node, dict):
        children: list[tuple[Any, Any]] = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    else:
        children = []
    for key, child in children:
        found += _paths(child, (*path, key))
    return found


def _mutated(base: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
    body = copy.deepcopy(base)
    for _ in range(rnd.randint(1, 3)):
        path = rnd.choice(_paths(body))
        parent: Any = body
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = copy.deepcopy(rnd.choice(WEIRD))
    return body


async def test_mutated_bodies_never_cause_a_server_error(http: httpx.AsyncClient) -> None:
    rnd = random.Random(2)
    crd = simple_crd(
        "example.com",
        "Widget",
        "widgets",
        scale=True,
        columns=[{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
    )
    targets = [
        ("/apis/apps/v1/namespaces/default/deployments", deployment(namespace="default")),
        (CONFIGMAPS, configmap("cm", "default")),
        ("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd),
    ]
    patch_types = [
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    ]
    failures = []
    for _ in range(400):
        url, base = rnd.choice(targets)
        body = _mutated(base, rnd)
        name = base["metadata"]["name"]
        choice = rnd.randrange(3)
        if choice == 0:
            response = await http.post(url, json=body)
        elif choice == 1:
            response = await http.patch(
                f"{url}/{name}?fieldManager=fuzz&force=true",
                content=json.dumps(body),
                headers={"Content-Type": rnd.choice(patch_types)},
            )
        else:
            response = await http.get(
                url, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
            )
        if response.status_code >= 500:
            failures.append((url, body, response.text))
    assert failures == []
