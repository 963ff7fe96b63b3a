"""The traefik router's TraefikService, against a real local API server with Traefik's CRD.

Covers: reconcile writes ``TraefikService <apex>`` with the weighted primary alone at 100/0
(namespace and port, owned by the Canary, apex metadata), and a second reconcile writes nothing;
the canary is listed only while it has weight; the primary keeps an explicit weight 0 at 0/100
(Traefik would give a service without weight the weight 1); A/B testing is refused naming the
field and the provider.
"""

from __future__ import annotations

from serinus.ports import Routes
from serinus.routers.registry import refusals, router_for
from tests.routers.support import CountingKube, canary, get, new_canary

TRAEFIK = ("traefik.io/v1alpha1", "TraefikService")


def entry(name: str, weight: int) -> dict[str, object]:
    return {"name": name, "namespace": "prod", "port": 9898, "weight": weight}


async def test_weighted_services_follow_the_routes(kube: CountingKube) -> None:
    canary = await new_canary(kube, provider="traefik", service={"apex": {"labels": {"a": "b"}}})
    router = router_for("traefik", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    written = await get(kube, *TRAEFIK, "podinfo")
    assert written["spec"] == {"weighted": {"services": [entry("podinfo-primary", 100)]}}
    assert written["metadata"]["labels"] == {"a": "b"}
    assert written["metadata"]["ownerReferences"][0]["uid"] == canary.metadata.uid
    before = kube.writes
    await router.reconcile(canary)
    assert kube.writes == before
    assert await router.get_routes(canary) == Routes(100, 0)
    await router.set_routes(canary, Routes(80, 20))
    assert (await get(kube, *TRAEFIK, "podinfo"))["spec"]["weighted"]["services"] == [
        entry("podinfo-primary", 80),
        entry("podinfo-canary", 20),
    ]
    await router.set_routes(canary, Routes(0, 100))
    assert (await get(kube, *TRAEFIK, "podinfo"))["spec"]["weighted"]["services"] == [
        entry("podinfo-primary", 0),
        entry("podinfo-canary", 100),
    ]
    assert await router.get_routes(canary) == Routes(0, 100)


def test_ab_testing_is_refused_naming_field_and_provider() -> None:
    match = [{"headers": {"x-canary": {"exact": "insider"}}}]
    written = canary(provider="traefik", analysis={"iterations": 5, "match": match})
    assert refusals(written, "traefik") == [
        "spec.analysis.match: A/B testing needs a provider that matches requests (appmesh, "
        "contour, gatewayapi, gloo, istio, nginx), found provider traefik, which splits traffic "
        "by weight only"
    ]
