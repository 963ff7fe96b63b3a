"""Built-in kinds as kubectl and the client libraries see them on a real cluster.

Covers: ReplicationControllers (get, scale through the scale subresource with their map
selector, defaults from the template) and APIServices are served; a new DaemonSet, ReplicaSet and
StatefulSet carry the status counters a real server sets to 0; DELETE answers with the deleted
object for the kinds whose registry returns it (pods, services, service accounts) and a Success
``Status`` for the others.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.apiserver.support import Kubectl, deployment, namespace


def controller(name: str = "web") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": name, "namespace": "prod"},
        "spec": {
            "replicas": 1,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
        },
    }


async def test_replication_controllers_are_served_and_scale(kubectl: Kubectl) -> None:
    await kubectl.apply(namespace("prod"), controller())
    got = (await kubectl.run("-n", "prod", "get", "rc", "web", "-o", "json")).json()
    assert got["spec"]["selector"] == {"app": "web"}  # defaulted from the template's labels
    assert got["metadata"]["labels"] == {"app": "web"}
    assert got["status"] == {"replicas": 0}
    await kubectl.run("-n", "prod", "scale", "rc", "web", "--replicas=3")
    scale = (
        await kubectl.run(
            "get", "--raw", "/api/v1/namespaces/prod/replicationcontrollers/web/scale"
        )
    ).json()
    assert scale["spec"]["replicas"] == 3
    assert scale["status"]["selector"] == "app=web"


async def test_api_services_are_served(kubectl: Kubectl) -> None:
    service = {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": "v1alpha1.example.com"},
        "spec": {
            "group": "example.com",
            "version": "v1alpha1",
            "groupPriorityMinimum": 1000,
            "versionPriority": 15,
        },
    }
    await kubectl.apply(service)
    out = await kubectl.run("get", "apiservices", "-o", "name")
    assert "apiservice.apiregistration.k8s.io/v1alpha1.example.com" in out.stdout.split()


async def test_new_workloads_have_zero_status_counters(http: httpx.AsyncClient) -> None:
    await http.post("/api/v1/namespaces", json=namespace("prod"))
    spec = deployment("ds")["spec"]
    body = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "ds", "namespace": "prod"},
        "spec": {"selector": spec["selector"], "template": spec["template"]},
    }
    created = await http.post("/apis/apps/v1/namespaces/prod/daemonsets", json=body)
    assert created.json()["status"] == {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    }
    replicas = await http.post(
        "/apis/apps/v1/namespaces/prod/replicasets", json={**body, "kind": "ReplicaSet"}
    )
    assert replicas.json()["status"] == {"replicas": 0}


async def test_delete_answers_the_object_where_the_real_registry_does(
    http: httpx.AsyncClient,
) -> None:
    await http.post("/api/v1/namespaces", json=namespace("prod"))
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "prod"},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
    }
    created = (await http.post("/api/v1/namespaces/prod/pods", json=pod)).json()
    deleted = await http.delete("/api/v1/namespaces/prod/pods/p")
    assert deleted.status_code == 200
    assert deleted.json()["kind"] == "Pod"
    assert deleted.json()["metadata"]["uid"] == created["metadata"]["uid"]
    await http.post("/api/v1/namespaces/prod/serviceaccounts", json={"metadata": {"name": "sa"}})
    account = await http.delete("/api/v1/namespaces/prod/serviceaccounts/sa")
    assert account.json()["kind"] == "ServiceAccount"
    await http.post("/apis/apps/v1/namespaces/prod/deployments", json=deployment())
    status = await http.delete("/apis/apps/v1/namespaces/prod/deployments/podinfo")
    assert status.json()["kind"] == "Status"
    assert status.json()["details"] == {
        "name": "podinfo",
        "group": "apps",
        "kind": "deployments",
        "uid": status.json()["details"]["uid"],
    }
