"""SMI TrafficSplit routers (linkerd, osm, smi:v1alpha1/2/3), against a real local API server.

Covers: reconcile creates the apex Service and ``TrafficSplit <apex>`` with the canary backend
first at 0 and the primary at 100, owned by the Canary, with the apex metadata; v1alpha1 weights
are quantity strings, v1alpha2/3 integers; spec.service.hosts[0] is the split's service; a second
reconcile writes nothing; set_routes/get_routes round trip and reconcile keeps the weights while
following spec changes; relative weights written by other tools (900m/100m) read as 90/10; a split
without our backends or without any object is an error naming it; A/B testing and mirroring are
refused naming the field; finalize deletes the split and gives the apex back; deleting the Canary
garbage-collects the split.
"""

from __future__ import annotations

from typing import Any

import pytest

from serinus.errors import RouterError
from serinus.ports import Routes
from serinus.routers.registry import refusals, router_for
from tests.routers.support import (
    NAMESPACE,
    CountingKube,
    canary,
    get,
    new_canary,
    service,
    with_spec,
)

SPLIT = "split.smi-spec.io/v1alpha1"


async def split(kube: CountingKube, version: str = SPLIT) -> dict[str, Any]:
    return await get(kube, version, "TrafficSplit", "podinfo")


async def test_linkerd_writes_a_v1alpha1_split_at_100_0(kube: CountingKube) -> None:
    canary = await new_canary(kube, service={"apex": {"labels": {"tier": "web"}}})
    router = router_for("linkerd", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    written = await split(kube)
    assert written["spec"] == {
        "service": "podinfo",
        "backends": [
            {"service": "podinfo-canary", "weight": "0"},
            {"service": "podinfo-primary", "weight": "100"},
        ],
    }
    assert written["metadata"]["labels"] == {"tier": "web"}
    assert written["metadata"]["ownerReferences"][0]["uid"] == canary.metadata.uid
    assert (await service(kube, "podinfo"))["spec"]["selector"] == {"app": "podinfo-primary"}
    assert await router.get_routes(canary) == Routes(100, 0)


@pytest.mark.parametrize(
    ("provider", "version"),
    [
        ("osm", "v1alpha2"),
        ("smi:v1alpha2", "v1alpha2"),
        ("smi:v1alpha3", "v1alpha3"),
        ("smi:v1alpha3:traefik", "v1alpha3"),
        ("smi:v1alpha1", "v1alpha1"),
    ],
)
async def test_each_smi_version_writes_its_weights(
    kube: CountingKube, provider: str, version: str
) -> None:
    canary = await new_canary(kube, provider=provider, service={"hosts": ["podinfo.prod"]})
    router = router_for(provider, kube)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(70, 30))
    written = await split(kube, f"split.smi-spec.io/{version}")
    assert written["apiVersion"] == f"split.smi-spec.io/{version}"
    assert written["spec"]["service"] == "podinfo.prod"
    weights = [backend["weight"] for backend in written["spec"]["backends"]]
    assert weights == (["30", "70"] if version == "v1alpha1" else [30, 70])
    assert await router.get_routes(canary) == Routes(70, 30)


async def test_second_reconcile_writes_nothing(kube: CountingKube) -> None:
    canary = await new_canary(kube)
    router = router_for("linkerd", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    version = (await split(kube))["metadata"]["resourceVersion"]
    writes = kube.writes
    await router.initialize(canary)
    await router.reconcile(canary)
    assert kube.writes == writes
    assert (await split(kube))["metadata"]["resourceVersion"] == version


async def test_reconcile_keeps_weights_and_follows_the_spec(kube: CountingKube) -> None:
    canary = await new_canary(kube)
    router = router_for("linkerd", kube)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(60, 40))
    await router.reconcile(canary)
    assert await router.get_routes(canary) == Routes(60, 40)
    changed = with_spec(canary, service={"port": 9898, "hosts": ["podinfo.prod.svc"]})
    await router.reconcile(changed)
    written = await split(kube)
    assert written["spec"]["service"] == "podinfo.prod.svc"
    assert await router.get_routes(changed) == Routes(60, 40)


async def test_relative_weights_of_other_tools_read_as_percentages(kube: CountingKube) -> None:
    canary = await new_canary(kube)
    router = router_for("linkerd", kube)
    await router.reconcile(canary)
    written = await split(kube)
    written["spec"]["backends"] = [
        {"service": "podinfo-primary", "weight": "900m"},
        {"service": "podinfo-canary", "weight": "100m"},
    ]
    await kube.replace(written)
    assert await router.get_routes(canary) == Routes(90, 10)


async def test_a_split_without_our_backends_is_an_error(kube: CountingKube) -> None:
    canary = await new_canary(kube)
    router = router_for("linkerd", kube)
    with pytest.raises(RouterError, match=r"^TrafficSplit prod/podinfo: not found"):
        await router.get_routes(canary)
    await router.reconcile(canary)
    written = await split(kube)
    written["spec"]["backends"] = [{"service": "other", "weight": "100"}]
    await kube.replace(written)
    with pytest.raises(RouterError) as raised:
        await router.get_routes(canary)
    assert str(raised.value) == (
        "TrafficSplit prod/podinfo: does not contain routes for podinfo-primary and podinfo-canary"
    )
    assert raised.value.provider == "linkerd"


def test_ab_testing_and_mirroring_are_refused_when_the_canary_is_checked() -> None:
    match = [{"headers": {"x-canary": {"exact": "insider"}}}]
    ab = canary(analysis={"iterations": 5, "match": match})
    assert refusals(ab, "linkerd") == [
        "spec.analysis.match: A/B testing needs a provider that matches requests (appmesh, "
        "contour, gatewayapi, gloo, istio, nginx), found provider linkerd, which splits "
        "traffic by weight only"
    ]
    mirrored = canary(provider="smi:v1alpha3", analysis={"iterations": 5, "mirror": True})
    assert refusals(mirrored, "smi:v1alpha3") == [
        "spec.analysis.mirror: traffic mirroring needs a provider that mirrors requests "
        "(gatewayapi, istio), found provider smi:v1alpha3, which cannot mirror"
    ]
    assert refusals(canary(), "linkerd") == []


async def test_finalize_deletes_the_split_and_gives_the_apex_back(kube: CountingKube) -> None:
    canary = await new_canary(kube)
    router = router_for("linkerd", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(50, 50))
    await router.finalize(canary)
    assert await kube.get(SPLIT, "TrafficSplit", "podinfo", NAMESPACE) is None
    assert (await service(kube, "podinfo"))["spec"]["selector"] == {"app": "podinfo"}
    writes = kube.writes
    await router.finalize(canary)
    assert kube.writes == writes


async def test_deleting_the_canary_collects_the_split(kube: CountingKube) -> None:
    canary = await new_canary(kube)
    await router_for("linkerd", kube).reconcile(canary)
    await kube.delete("flagger.app/v1beta1", "Canary", "podinfo", NAMESPACE)
    assert await kube.get(SPLIT, "TrafficSplit", "podinfo", NAMESPACE) is None
