"""Error bodies laid out as the real server's ``Status``.

Covers: the fields and their order (kind, apiVersion, metadata, status, message, reason, details,
code) in the raw bytes of a 404, ending with a newline as Go's encoder writes it, and ``details``
with name, group, kind (the resource) and, for 422s, the causes; kubectl prints the message as on a
real cluster.
"""

from __future__ import annotations

import httpx

from tests.sandbox.apiserver.support import Kubectl


async def test_not_found_is_laid_out_as_the_real_server_does(http: httpx.AsyncClient) -> None:
    response = await http.get("/apis/apps/v1/namespaces/default/deployments/web")
    assert response.status_code == 404
    assert response.text == (
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        '"message":"deployments.apps \\"web\\" not found","reason":"NotFound",'
        '"details":{"name":"web","group":"apps","kind":"deployments"},"code":404}\n'
    )


async def test_invalid_lists_its_causes(http: httpx.AsyncClient, kubectl: Kubectl) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}
    response = await http.post("/api/v1/namespaces/default/configmaps", json=body)
    assert response.status_code == 422
    status = response.json()
    assert list(status) == [
        "kind",
        "apiVersion",
        "metadata",
        "status",
        "message",
        "reason",
        "details",
        "code",
    ]
    assert status["details"]["name"] == "Bad_Name"
    assert status["details"]["kind"] == "ConfigMap"
    assert status["details"]["causes"][0]["field"] == "metadata.name"
    out = await kubectl.run("get", "deploy", "web", check=False)
    assert out.stderr.strip() == 'Error from server (NotFound): deployments.apps "web" not found'
