"""Where Services get their cluster IPs (covers ``service_cidr`` of ``ApiServer`` and
``serinus/sandbox/apiserver/defaults.py``'s allocation).

Covers: by default cluster IPs come from 10.96.0.0/12, as with kube-apiserver; with a loopback
``service_cidr`` (what the sandbox uses, so the addresses can be served here) every Service gets a
distinct address in that range; a range with no address left is a clear 500 naming the range; a
``service_cidr`` that is not a network is refused naming the argument.
"""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from serinus.sandbox.apiserver import ApiServer


def service(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 9898}]},
    }


async def create(api: ApiServer, name: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=api.url) as http:
        return await http.post("/api/v1/namespaces/default/services", json=service(name))


async def test_default_range_is_kubernetes_own() -> None:
    async with ApiServer() as api:
        made = (await create(api, "podinfo")).json()
    assert ipaddress.ip_address(made["spec"]["clusterIP"]) in ipaddress.ip_network("10.96.0.0/12")


async def test_loopback_range_gives_distinct_loopback_addresses() -> None:
    async with ApiServer(service_cidr="127.96.0.0/12") as api:
        first = (await create(api, "podinfo")).json()["spec"]["clusterIP"]
        second = (await create(api, "podinfo-canary")).json()["spec"]["clusterIP"]
    assert first != second
    for address in (first, second):
        assert ipaddress.ip_address(address).is_loopback
        assert ipaddress.ip_address(address) in ipaddress.ip_network("127.96.0.0/12")


async def test_exhausted_range_is_a_clear_error() -> None:
    async with ApiServer(service_cidr="127.96.0.0/29") as api:
        response = await create(api, "podinfo")
    assert response.status_code == 500
    assert "no free cluster IP left in 127.96.0.0/29" in response.json()["message"]


def test_service_cidr_must_be_a_network() -> None:
    with pytest.raises(ValueError, match=r"service_cidr: expected a network .* got 'ten'"):
        ApiServer(service_cidr="ten")
