"""Which router serves which provider, and the error for the providers serinus does not route.

Covers: every implemented provider name of Flagger's enum (and smi's ``:<mesh>`` suffix) gets a
router writing the right kind and version; the providers without a router, and names outside
the enum, raise UnknownProviderError with the message users see on the Canary.
"""

from __future__ import annotations

import pytest

from serinus.errors import UnknownProviderError
from serinus.kube import Kube, KubeSettings
from serinus.routers.registry import router_for
from tests.routers.support import NAMESPACE, CountingKube, new_canary

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
    ],
)
async def test_providers_write_their_object(
    kube: CountingKube, provider: str, api_version: str, kind: str
) -> None:
    canary = await new_canary(kube, provider=provider, service={"gatewayRefs": GAMMA})
    await router_for(provider, kube).reconcile(canary)
    written = await kube.get(api_version, kind, "podinfo", NAMESPACE)
    assert written is not None
    assert written["apiVersion"] == api_version


@pytest.mark.parametrize(
    "provider",
    [
        "appmesh",
        "appmesh:v1beta2",
        "contour",
        "gloo",
        "kuma",
        "traefik",
        "apisix",
        "skipper",
        "knative",
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
