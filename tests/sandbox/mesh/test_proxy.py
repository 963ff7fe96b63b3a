"""MeshProxy against a real API server: what a client of a Service in the sandbox sees.

Covers: requests to a Service's clusterIP reach its ready pods round-robin (never a not-ready one);
a TrafficSplit (v1alpha1 strings, v1alpha2 numbers, v1alpha3 milli-quantities) splits the apex's
traffic exactly by weight; a weight change applies at once while real ``hey`` runs through the
proxy, with no failed or lost request; HTTPRoute (v1, v1beta1) weights split exactly, a header or
cookie match sends A/B traffic to the canary, and an HTTPRoute outranks a TrafficSplit; traffic
objects whose CRD is installed after the proxy started are followed; Services appearing and
disappearing open and close their sockets; an unreachable pod gets 502 and no ready pod 503.
"""

from __future__ import annotations

import asyncio
import re
import shutil

import httpx
import pytest

from serinus.kube import Kube
from serinus.sandbox.mesh import MeshProxy
from tests.sandbox.mesh.support import (
    SERVICE_PORT,
    Cluster,
    Pod,
    Podinfo,
    backend_ref,
    bodies,
    caught_up,
    pod_ip,
    serving,
    tally,
)


async def test_a_service_sends_requests_round_robin_to_its_ready_pods(
    cluster: Cluster, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    pods = await cluster.deployment("web", 3)
    ip = await cluster.service("web")
    await cluster.endpoints("web", ready=pods[:2], not_ready=pods[2:])
    await proxy.wait_for(
        lambda t: (
            (ip, SERVICE_PORT) in t.listeners
            and len(t.listeners[(ip, SERVICE_PORT)].direct.endpoints) == 2
        )
    )

    seen = tally(await bodies(client, f"http://{ip}:{SERVICE_PORT}/", 10))

    assert seen == {pods[0].name: 5, pods[1].name: 5}
    assert pods[2].seen == []


@pytest.mark.parametrize(
    ("version", "primary_weight", "canary_weight"),
    [("v1alpha1", "90", "10"), ("v1alpha2", 90, 10), ("v1alpha3", "900m", "100m")],
)
async def test_a_traffic_split_sends_the_canary_exactly_its_share(
    cluster: Cluster,
    podinfo: Podinfo,
    proxy: MeshProxy,
    client: httpx.AsyncClient,
    version: str,
    primary_weight: object,
    canary_weight: object,
) -> None:
    await serving(proxy, podinfo)
    created = await cluster.traffic_split(
        {"podinfo-canary": canary_weight, "podinfo-primary": primary_weight}, version=version
    )
    await caught_up(proxy, "TrafficSplit", created)

    seen = tally(await bodies(client, podinfo.apex_url, 200))

    assert seen == {podinfo.primary_pods[0].name: 180, podinfo.canary_pods[0].name: 20}


async def test_a_weight_change_applies_at_once_and_loses_no_request_under_hey(
    cluster: Cluster, podinfo: Podinfo, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    hey = shutil.which("hey")
    assert hey is not None, "hey is not installed: run `bash scripts/system-packages.sh`"
    await serving(proxy, podinfo)
    await caught_up(
        proxy,
        "TrafficSplit",
        await cluster.traffic_split({"podinfo-canary": "10", "podinfo-primary": "90"}),
    )
    primary, canary = podinfo.primary_pods[0], podinfo.canary_pods[0]
    load = await asyncio.create_subprocess_exec(
        hey, "-z", "3s", "-c", "4", "-q", "100", podinfo.apex_url + "/",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stray = []
    for canary_weight in ("100", "0", "50"):
        await asyncio.sleep(0.5)
        weights = {
            "podinfo-canary": canary_weight,
            "podinfo-primary": str(100 - int(canary_weight)),
        }
        patch = {"spec": {"backends": [{"service": s, "weight": w} for s, w in weights.items()]}}
        changed = await cluster.merge(
            "split.smi-spec.io/v1alpha1", "trafficsplits", "podinfo", patch
        )
        await caught_up(proxy, "TrafficSplit", changed)
        if canary_weight == "100":
            before = len(primary.seen)
            await asyncio.sleep(0.3)  # hey keeps sending; none of it may reach the primary
            stray.append(len(primary.seen) - before)
    output, _ = await load.communicate()
    report = output.decode()

    codes = re.findall(r"\[(\d+)\]\s+(\d+) responses", report)
    assert [code for code, _ in codes] == ["200"], report
    assert "Error distribution" not in report, report
    assert int(codes[0][1]) == len(primary.seen) + len(canary.seen)
    assert stray[0] <= 4  # at most the requests in flight when the table changed (-c 4)


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
async def test_an_httproute_splits_by_backend_weights(
    cluster: Cluster, podinfo: Podinfo, proxy: MeshProxy, client: httpx.AsyncClient, version: str
) -> None:
    await serving(proxy, podinfo)
    rules = [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            "backendRefs": [backend_ref("podinfo-primary", 80), backend_ref("podinfo-canary", 20)],
        }
    ]
    await caught_up(proxy, "HTTPRoute", await cluster.http_route(rules, version=version))

    seen = tally(await bodies(client, podinfo.apex_url, 100))

    assert seen == {podinfo.primary_pods[0].name: 80, podinfo.canary_pods[0].name: 20}


async def test_an_httproute_header_or_cookie_match_sends_ab_traffic_to_the_canary(
    cluster: Cluster, podinfo: Podinfo, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    await serving(proxy, podinfo)
    canary_only = [backend_ref("podinfo-primary", 0), backend_ref("podinfo-canary", 100)]
    rules = [
        {
            "matches": [
                {"headers": [{"name": "X-Canary", "value": "insider"}]},
                {
                    "headers": [
                        {
                            "type": "RegularExpression",
                            "name": "cookie",
                            "value": "^(.*?;)?(canary=always)(;.*)?$",
                        }
                    ]
                },
            ],
            "backendRefs": canary_only,
        },
        {"backendRefs": [backend_ref("podinfo-primary", 100)]},
    ]
    await caught_up(proxy, "HTTPRoute", await cluster.http_route(rules))
    primary, canary = podinfo.primary_pods[0].name, podinfo.canary_pods[0].name

    assert tally(await bodies(client, podinfo.apex_url, 5, **{"x-canary": "insider"})) == {
        canary: 5
    }
    assert tally(await bodies(client, podinfo.apex_url, 5, cookie="canary=always; a=1")) == {
        canary: 5
    }
    assert tally(await bodies(client, podinfo.apex_url, 5, **{"x-canary": "other"})) == {primary: 5}
    assert tally(await bodies(client, podinfo.apex_url, 5)) == {primary: 5}


async def test_an_httproute_outranks_a_traffic_split_until_it_is_deleted(
    cluster: Cluster, podinfo: Podinfo, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    await serving(proxy, podinfo)
    await cluster.traffic_split({"podinfo-canary": "0", "podinfo-primary": "100"})
    rules = [{"backendRefs": [backend_ref("podinfo-canary", 1)]}]
    await caught_up(proxy, "HTTPRoute", await cluster.http_route(rules))
    primary, canary = podinfo.primary_pods[0].name, podinfo.canary_pods[0].name

    assert tally(await bodies(client, podinfo.apex_url, 4)) == {canary: 4}

    await cluster.delete("gateway.networking.k8s.io/v1", "httproutes", "podinfo")
    await proxy.wait_for(lambda table: not proxy.state.objects("HTTPRoute"), within=5)

    assert tally(await bodies(client, podinfo.apex_url, 4)) == {primary: 4}


async def test_traffic_splits_are_followed_once_their_crd_is_installed(
    cluster: Cluster, kube: Kube, client: httpx.AsyncClient
) -> None:
    primary_pods = await cluster.deployment("podinfo-primary", 1)
    canary_pods = await cluster.deployment("podinfo", 1)
    apex = await cluster.service("podinfo", app="podinfo-primary")
    await cluster.service("podinfo-primary")
    await cluster.service("podinfo-canary", app="podinfo")
    await cluster.endpoints("podinfo", primary_pods)
    await cluster.endpoints("podinfo-primary", primary_pods)
    await cluster.endpoints("podinfo-canary", canary_pods)
    async with MeshProxy(kube) as proxy:
        await cluster.install_crds()
        created = await cluster.traffic_split({"podinfo-canary": "1", "podinfo-primary": "0"})
        await caught_up(proxy, "TrafficSplit", created)

        seen = tally(await bodies(client, f"http://{apex}:{SERVICE_PORT}/", 3))

    assert seen == {canary_pods[0].name: 3}


async def test_sockets_open_and_close_with_their_services(
    cluster: Cluster, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    pods = await cluster.deployment("web", 1)
    ip = await cluster.service("web")
    await cluster.endpoints("web", pods)
    await proxy.wait_for(lambda t: (ip, SERVICE_PORT) in proxy.listening)

    assert (await client.get(f"http://{ip}:{SERVICE_PORT}/")).text == pods[0].name

    await cluster.delete("v1", "services", "web")
    await proxy.wait_for(lambda t: (ip, SERVICE_PORT) not in proxy.listening)

    async with httpx.AsyncClient(trust_env=False) as fresh:  # a new connection
        with pytest.raises(httpx.ConnectError):
            await fresh.get(f"http://{ip}:{SERVICE_PORT}/")


async def test_an_unreachable_pod_gets_502_and_a_service_without_ready_pods_503(
    cluster: Cluster, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    gone = Pod("web-0", pod_ip(), port=1)  # nothing listens there
    ip = await cluster.service("web")
    empty_ip = await cluster.service("empty")
    await cluster.endpoints("web", [gone])
    await cluster.endpoints("empty", [], not_ready=[gone])
    await proxy.wait_for(
        lambda t: (
            (ip, SERVICE_PORT) in proxy.listening and (empty_ip, SERVICE_PORT) in proxy.listening
        )
    )

    unreachable = await client.get(f"http://{ip}:{SERVICE_PORT}/")
    empty = await client.get(f"http://{empty_ip}:{SERVICE_PORT}/")

    assert unreachable.status_code == 502
    assert gone.ip in unreachable.headers["l5d-proxy-error"]
    assert empty.status_code == 503
    assert "no ready endpoints" in empty.headers["l5d-proxy-error"]


def contour_service(name: str, weight: int = 0) -> dict[str, object]:
    found: dict[str, object] = {"name": name, "port": SERVICE_PORT}
    if weight:
        found["weight"] = weight
    return found


async def test_an_http_proxy_splits_the_apex_and_counts_envoy_cluster_stats(
    cluster: Cluster, podinfo: Podinfo, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    await serving(proxy, podinfo)
    routes = [
        {
            "conditions": [{"prefix": "/", "header": {"name": "x-canary", "exact": "insider"}}],
            "services": [
                contour_service("podinfo-primary"),
                contour_service("podinfo-canary", 100),
            ],
        },
        {
            "conditions": [{"prefix": "/"}],
            "services": [
                contour_service("podinfo-primary", 70),
                contour_service("podinfo-canary", 30),
            ],
        },
    ]
    await caught_up(proxy, "HTTPProxy", await cluster.http_proxy(routes))
    primary, canary = podinfo.primary_pods[0].name, podinfo.canary_pods[0].name

    assert tally(await bodies(client, podinfo.apex_url, 100)) == {primary: 70, canary: 30}
    assert tally(await bodies(client, podinfo.apex_url, 5, **{"x-canary": "insider"})) == {
        canary: 5
    }
    errors = await client.get(f"{podinfo.apex_url}/status/500", headers={"x-canary": "insider"})
    assert errors.status_code == 500

    exported = (await client.get(proxy.metrics_url)).text
    namespace = cluster.namespace
    canary_cluster = f'envoy_cluster_name="{namespace}_podinfo-canary_{SERVICE_PORT}"'
    assert "# TYPE envoy_cluster_upstream_rq counter" in exported
    assert f'envoy_cluster_upstream_rq{{envoy_response_code="200",{canary_cluster}}} 35' in exported
    assert f'envoy_cluster_upstream_rq{{envoy_response_code="500",{canary_cluster}}} 1' in exported
    primary_cluster = f'envoy_cluster_name="{namespace}_podinfo-primary_{SERVICE_PORT}"'
    assert (
        f'envoy_cluster_upstream_rq{{envoy_response_code="200",{primary_cluster}}} 70' in exported
    )
    assert f"envoy_cluster_upstream_rq_time_count{{{canary_cluster}}} 36" in exported
    assert re.search(
        rf'envoy_cluster_upstream_rq_time_bucket{{{canary_cluster},le="\+Inf"}} 36', exported
    )
    # requests sent to the canary Service itself pass no HTTPProxy: no Envoy statistics
    await bodies(client, podinfo.canary_url, 3)
    again = (await client.get(proxy.metrics_url)).text
    assert f'envoy_cluster_upstream_rq{{envoy_response_code="200",{canary_cluster}}} 35' in again
