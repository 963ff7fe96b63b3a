"""Endpoints follow the pods (covers ``serinus/sandbox/workloads/endpoints.py``).

Covers:
- :func:`subsets`: ready pods under ``addresses``, others under ``notReadyAddresses``, named
  targetPorts resolved per pod (pods resolving differently land in different subsets), pods
  without an address or of another app left out, ``publishNotReadyAddresses``;
- against the runner: a Service's Endpoints list its ready pod IPs with the Service's port name
  and the container port; a pod that turns unready moves to ``notReadyAddresses`` and back;
  deleting the Service deletes its Endpoints.
"""

from __future__ import annotations

import httpx

from serinus.kube import Kube
from serinus.sandbox.workloads import WorkloadRunner
from serinus.sandbox.workloads.endpoints import subsets
from tests.sandbox.workloads.support import eventually, podinfo, ready_pods, service


def pod(name: str, ip: str | None, *, ready: bool = True, port: int = 9898, app: str = "web"):
    return {
        "metadata": {
            "name": name,
            "namespace": "prod",
            "uid": f"uid-{name}",
            "labels": {"app": app},
        },
        "spec": {
            "nodeName": "sandbox",
            "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": port}]}],
        },
        "status": {
            "phase": "Running",
            **({"podIP": ip} if ip else {}),
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def web(**spec) -> dict:
    found = service("web")
    found["spec"].update(spec)
    return found


def test_subsets_split_ready_and_unready_addresses() -> None:
    found = subsets(
        web(),
        [
            pod("b", "127.244.0.3"),
            pod("a", "127.244.0.2"),
            pod("c", "127.244.0.4", ready=False),
            pod("d", None),
            pod("e", "127.244.0.5", app="other"),
        ],
    )
    assert len(found) == 1
    assert [a["ip"] for a in found[0]["addresses"]] == ["127.244.0.2", "127.244.0.3"]
    assert [a["ip"] for a in found[0]["notReadyAddresses"]] == ["127.244.0.4"]
    assert found[0]["ports"] == [{"name": "http", "port": 9898, "protocol": "TCP"}]
    assert found[0]["addresses"][0]["targetRef"] == {
        "kind": "Pod",
        "namespace": "prod",
        "name": "a",
        "uid": "uid-a",
    }


def test_named_target_ports_resolve_per_pod() -> None:
    found = subsets(web(), [pod("a", "127.244.0.2"), pod("b", "127.244.0.3", port=8080)])
    assert sorted(subset["ports"][0]["port"] for subset in found) == [8080, 9898]


def test_publish_not_ready_addresses() -> None:
    found = subsets(web(publishNotReadyAddresses=True), [pod("a", "127.244.0.2", ready=False)])
    assert [a["ip"] for a in found[0]["addresses"]] == ["127.244.0.2"]
    assert "notReadyAddresses" not in found[0]


async def endpoints_of(kube: Kube, name: str = "podinfo") -> dict | None:
    return await kube.get("v1", "Endpoints", name, "prod")


def addresses(endpoints: dict | None, key: str = "addresses") -> list[str]:
    subsets = (endpoints or {}).get("subsets") or []
    return sorted(a["ip"] for subset in subsets for a in subset.get(key) or [])


async def test_endpoints_follow_readiness(kube: Kube, runner: WorkloadRunner) -> None:
    await kube.create(service("podinfo"))
    await kube.create(podinfo())
    found = await eventually(lambda: ready_pods(kube, "podinfo", 2), what="2 ready pods")
    ips = sorted(p["status"]["podIP"] for p in found)

    async def listing(ready: list[str], unready: list[str]) -> dict | None:
        current = await endpoints_of(kube)
        wanted = addresses(current) == ready and addresses(current, "notReadyAddresses") == unready
        return current if wanted else None

    endpoints = await eventually(lambda: listing(ips, []), what="both pods in the Endpoints")
    assert endpoints["subsets"][0]["ports"] == [{"name": "http", "port": 9898, "protocol": "TCP"}]
    async with httpx.AsyncClient() as http:
        await http.post(f"http://{ips[0]}:9898/readyz/disable")
        await eventually(lambda: listing([ips[1]], [ips[0]]), what="one pod not ready")
        await http.post(f"http://{ips[0]}:9898/readyz/enable")
    await eventually(lambda: listing(ips, []), what="both pods ready again")
    await kube.delete("v1", "Service", "podinfo", "prod")

    async def gone() -> bool:
        return await endpoints_of(kube) is None

    await eventually(gone, what="the Endpoints deleted with the Service")
