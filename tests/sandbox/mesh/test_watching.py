"""Following the API server: the proxy's state and routes track the cluster's objects.

Covers: objects that exist before the proxy starts are routed as soon as ``start()`` returns (it
waits for the first listing of every kind); a missing CRD does not hold the start up; a kind
served only in an older version (HTTPRoute v1beta1) is still followed; deleting a CRD empties its
kind, so the Service falls back to its own pods.
"""

from __future__ import annotations

import httpx

from serinus.kube import Kube
from serinus.sandbox.mesh import MeshProxy
from tests.sandbox.apiserver.support import simple_crd
from tests.sandbox.mesh.support import SERVICE_PORT, Cluster, backend_ref, bodies, tally

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


async def two_services(cluster: Cluster) -> tuple[str, str, str]:
    """Services ``podinfo`` and ``podinfo-canary`` with a pod each: (apex IP, primary, canary)."""
    (primary,) = await cluster.deployment("podinfo-primary", 1)
    (canary,) = await cluster.deployment("podinfo", 1)
    apex = await cluster.service("podinfo", app="podinfo-primary")
    await cluster.service("podinfo-canary", app="podinfo")
    await cluster.endpoints("podinfo", [primary])
    await cluster.endpoints("podinfo-canary", [canary])
    return apex, primary.name, canary.name


async def test_what_exists_before_the_start_is_routed_once_started(
    cluster: Cluster, kube: Kube, client: httpx.AsyncClient
) -> None:
    apex, _, canary = await two_services(cluster)
    await cluster.install_crds()
    await cluster.traffic_split({"podinfo-canary": "1"})

    async with MeshProxy(kube) as proxy:
        assert (apex, SERVICE_PORT) in proxy.listening
        seen = tally(await bodies(client, f"http://{apex}:{SERVICE_PORT}/", 2))

    assert seen == {canary: 2}


async def test_an_httproute_served_only_as_v1beta1_is_followed(
    cluster: Cluster, kube: Kube, client: httpx.AsyncClient
) -> None:
    apex, _, canary = await two_services(cluster)
    crd = simple_crd("gateway.networking.k8s.io", "HTTPRoute", "httproutes", ("v1beta1",))
    await cluster.send("POST", CRDS, crd)
    await cluster.http_route(
        [{"backendRefs": [backend_ref("podinfo-canary", 1)]}], version="v1beta1"
    )

    async with MeshProxy(kube) as proxy:
        assert not proxy.state.objects("TrafficSplit")  # no CRD: empty, and no wait for it
        seen = tally(await bodies(client, f"http://{apex}:{SERVICE_PORT}/", 2))

    assert seen == {canary: 2}


async def test_deleting_a_crd_empties_its_kind(
    cluster: Cluster, kube: Kube, client: httpx.AsyncClient
) -> None:
    apex, primary, _ = await two_services(cluster)
    await cluster.install_crds()
    await cluster.traffic_split({"podinfo-canary": "1"})

    async with MeshProxy(kube) as proxy:
        await cluster.send("DELETE", f"{CRDS}/trafficsplits.split.smi-spec.io")
        await proxy.wait_for(lambda table: not proxy.state.objects("TrafficSplit"), within=10)
        seen = tally(await bodies(client, f"http://{apex}:{SERVICE_PORT}/", 2))

    assert seen == {primary: 2}
