"""The scale and log subresources.

Covers: a Deployment's Scale (autoscaling/v1, spec.replicas, status.replicas and the selector
string); PATCH and PUT of the Scale change spec.replicas and bump generation; a stale
resourceVersion in a Scale is a 409 and a negative count a 422; pods/log streams text/plain from
the registered log source with the decoded parameters (container, tailLines, timestamps,
follow), requires a container name for multi-container pods, rejects unknown containers, and
answers like a real server when no source runs the pod; a followed log ends when the source ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from serinus.sandbox.apiserver import ApiServer, LogRequest
from tests.sandbox.apiserver.support import deployment, namespace

DEPLOYMENTS = "/apis/apps/v1/namespaces/prod/deployments"
MERGE = {"Content-Type": "application/merge-patch+json"}


async def test_deployment_scale(http: httpx.AsyncClient) -> None:
    await http.post("/api/v1/namespaces", json=namespace("prod"))
    await http.post(DEPLOYMENTS, json=deployment())
    await http.patch(
        f"{DEPLOYMENTS}/podinfo/status", content='{"status":{"replicas":2}}', headers=MERGE
    )
    scale = (await http.get(f"{DEPLOYMENTS}/podinfo/scale")).json()
    assert scale["kind"] == "Scale"
    assert scale["apiVersion"] == "autoscaling/v1"
    assert scale["metadata"]["name"] == "podinfo"
    assert scale["spec"] == {"replicas": 2}
    assert scale["status"] == {"replicas": 2, "selector": "app=podinfo"}
    patched = await http.patch(
        f"{DEPLOYMENTS}/podinfo/scale", content='{"spec":{"replicas":0}}', headers=MERGE
    )
    assert patched.json()["spec"] == {"replicas": 0}
    after = (await http.get(f"{DEPLOYMENTS}/podinfo")).json()
    assert after["spec"]["replicas"] == 0
    assert after["metadata"]["generation"] == 2
    scale["spec"]["replicas"] = 5
    stale = await http.put(f"{DEPLOYMENTS}/podinfo/scale", json=scale)
    assert stale.status_code == 409
    fresh = (await http.get(f"{DEPLOYMENTS}/podinfo/scale")).json()
    fresh["spec"]["replicas"] = 5
    assert (await http.put(f"{DEPLOYMENTS}/podinfo/scale", json=fresh)).json()["spec"][
        "replicas"
    ] == 5
    fresh["spec"]["replicas"] = -1
    del fresh["metadata"]["resourceVersion"]
    negative = await http.put(f"{DEPLOYMENTS}/podinfo/scale", json=fresh)
    assert negative.status_code == 422


def pod(*containers: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "default"},
        "spec": {"containers": [{"name": name, "image": "img"} for name in containers]},
    }


class FakeRunner:
    """A log source standing in for the sandbox's workload runner."""

    def __init__(self) -> None:
        self.requests: list[LogRequest] = []

    def __call__(self, request: LogRequest) -> AsyncIterator[bytes] | None:
        if request.pod != "web-1":
            return None
        self.requests.append(request)
        return self._lines(request)

    async def _lines(self, request: LogRequest) -> AsyncIterator[bytes]:
        for number in range(3):
            yield f"{request.container} line {number}\n".encode()


async def test_logs_stream_from_the_registered_source(
    api: ApiServer, http: httpx.AsyncClient
) -> None:
    runner = FakeRunner()
    api.logs.add(runner)
    await http.post("/api/v1/namespaces/default/pods", json=pod("app"))
    response = await http.get(
        "/api/v1/namespaces/default/pods/web-1/log",
        params={"tailLines": "10", "timestamps": "true", "follow": "true"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "app line 0\napp line 1\napp line 2\n"
    request = runner.requests[0]
    assert (request.container, request.tail_lines, request.timestamps, request.follow) == (
        "app",
        10,
        True,
        True,
    )


async def test_log_container_rules(api: ApiServer, http: httpx.AsyncClient) -> None:
    api.logs.add(FakeRunner())
    await http.post("/api/v1/namespaces/default/pods", json=pod("app", "proxy"))
    url = "/api/v1/namespaces/default/pods/web-1/log"
    unnamed = await http.get(url)
    assert unnamed.status_code == 400
    assert unnamed.json()["message"] == (
        "a container name must be specified for pod web-1, choose one of: [app proxy]"
    )
    unknown = await http.get(url, params={"container": "nope"})
    assert unknown.json()["message"] == "container nope is not valid for pod web-1"
    chosen = await http.get(url, params={"container": "proxy"})
    assert chosen.text.startswith("proxy line 0")


async def test_log_without_a_source(http: httpx.AsyncClient) -> None:
    await http.post("/api/v1/namespaces/default/pods", json=pod("app"))
    response = await http.get("/api/v1/namespaces/default/pods/web-1/log")
    assert response.status_code == 400
    assert response.json()["message"] == (
        'container "app" in pod "web-1" is waiting to start: ContainerCreating'
    )
