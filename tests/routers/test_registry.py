"""Which router serves which provider, and the error for the providers serinus does not route.

Covers: every provider name of Flagger's enum (and smi's ``:<mesh>`` suffix) gets a router
writing the right kind and version, and says what it can do (weights, matching, mirroring), as
the registry says without a cluster; names outside the enum raise UnknownProviderError with the
message users see on the Canary.
"""

from __future__ import annotations

import pytest

from serinus.errors import UnknownProviderError
from serinus.kube import Kube, KubeSettings
from serinus.routers.registry import capabilities_for, router_for
from tests.routers.support import NAMESPACE, CountingKube, canary, new_canary

GAMMA = [{"group": "core", "kind": "Service", "name": "podinfo", "port": 9898}]


@pytest.mark.parametrize(
    ("provider", "api_version", "kind"),
    [
        ("linkerd", "split.smi-spec.io/v1alpha1", "TrafficSplit"),
        ("osm", "split.smi-spec.io/v1alpha2", "TrafficSplit"),
        ("smi:v1alpha1", "split.smi-spec.io/v1alpha1", "TrafficSplit"),
        ("smi:v1alpha2:osm", "split.smi-spec.io/v1alpha2", "TrafficSplit"),
        ("smi:v1alpha3", "split.smi-spec.io/v1alpha3", "TrafficSplit"),
        ("gatewayapi", "gateway.networking.k8s.io/v1", "HTTPRoute"),
        ("gatewayapi:v1", "gateway.networking.k8s.io/v1", "HTTPRoute"),
        ("gatewayapi:v1beta1", "gateway.networking.k8s.io/v1beta1", "HTTPRoute"),
        ("istio", "networking.istio.io/v1beta1", "VirtualService"),
        ("contour", "projectcontour.io/v1", "HTTPProxy"),
        ("gloo", "gateway.solo.io/v1", "RouteTable"),
        ("traefik", "traefik.io/v1alpha1", "TraefikService"),
        ("appmesh", "appmesh.k8s.aws/v1beta2", "VirtualRouter"),
        ("appmesh:v1beta2", "appmesh.k8s.aws/v1beta2", "VirtualRouter"),
    ],
)
async def test_providers_write_their_object(
    kube: CountingKube, provider: str, api_version: str, kind: str
) -> None:
    canary = await new_canary(kube, provider=provider, service={"gatewayRefs": GAMMA})
    router = router_for(provider, kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    written = await kube.get(api_version, kind, "podinfo", NAMESPACE)
    assert written is not None
    assert written["apiVersion"] == api_version


@pytest.mark.parametrize(
    "provider",
    [
        "consul",
        "appmesh:v1beta1",
        "smi:v1alpha4",
        "smi",
        "gatewayapi:v2",
        "",
    ],
)
async def test_providers_without_a_router(provider: str) -> None:
    # no request is sent: the registry refuses before the client is used
    async with Kube(KubeSettings.for_server("http://127.0.0.1:9")) as unused:
        with pytest.raises(UnknownProviderError) as raised:
            router_for(provider, unused)
    assert str(raised.value) == f"provider {provider} is not supported"


@pytest.mark.parametrize(
    ("provider", "weights", "matches", "mirrors"),
    [
        ("kubernetes", False, False, False),
        ("linkerd", True, False, False),
        ("osm", True, False, False),
        ("smi:v1alpha3:osm", True, False, False),
        ("nginx", True, True, False),
        ("gatewayapi", True, True, True),
        ("gatewayapi:v1beta1", True, True, True),
        ("istio", True, True, True),
        ("contour", True, True, False),
        ("gloo", True, True, False),
        ("appmesh", True, True, False),
        ("appmesh:v1beta2", True, True, False),
        ("traefik", True, False, False),
        ("apisix", True, False, False),
        ("skipper", True, False, False),
        ("kuma", True, False, False),
    ],
)
async def test_every_router_says_what_it_can_do(
    kube: CountingKube, provider: str, weights: bool, matches: bool, mirrors: bool
) -> None:
    written = canary(provider=provider)
    can = capabilities_for(provider)(written)
    assert (can.weights, can.matching is not None, can.mirroring) == (weights, matches, mirrors)
    assert can.session_affinity == (provider in ("istio", "gatewayapi", "gatewayapi:v1beta1"))
    assert router_for(provider, kube).capabilities(written) == can


def test_capabilities_of_a_provider_without_a_router_are_an_error() -> None:
    with pytest.raises(UnknownProviderError, match=r"^provider consul is not supported$"):
        capabilities_for("consul")
