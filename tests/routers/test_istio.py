"""The istio router: VirtualService and DestinationRules, against a real local API server.

Covers: reconcile creates ``DestinationRules <apex>-primary``/``-canary`` (host, trafficPolicy)
and ``VirtualService <apex>`` (hosts with the apex added, the mesh gateway by default, the route
options of spec.service, weighted destinations on the port); a second reconcile writes nothing;
gateways and delegation; set_routes/get_routes round trip, mirrored with mirrorPercentage from
mirrorWeight, and reconcile keeping weights and mirror; A/B testing: a match route (merged with
the route's uri) holding the weights, then a route to the primary; appProtocol tcp makes a TCP
route and refuses A/B; a user's VirtualService is taken over and restored by finalize, while
finalize deletes what serinus created; session affinity is refused.
"""

from __future__ import annotations

import json
from typing import Any

from serinus.apis.canary import Canary
from serinus.apis.status import CanaryStatus
from serinus.ports import Routes
from serinus.routers.registry import refusals, router_for
from tests.routers.support import NAMESPACE, CountingKube, canary, get, new_canary, with_spec

ISTIO = "networking.istio.io/v1beta1"


def destination(host: str, weight: int) -> dict[str, Any]:
    return {"destination": {"host": host, "port": {"number": 9898}}, "weight": weight}


async def virtual_service(kube: CountingKube) -> dict[str, Any]:
    return await get(kube, ISTIO, "VirtualService", "podinfo")


async def test_reconcile_writes_destination_rules_and_virtual_service(kube: CountingKube) -> None:
    policy = {"tls": {"mode": "ISTIO_MUTUAL"}}
    canary = await new_canary(
        kube,
        provider="istio",
        service={
            "trafficPolicy": policy,
            "hosts": ["app.example.com"],
            "match": [{"uri": {"prefix": "/"}}],
            "rewrite": {"uri": "/"},
            "timeout": "5s",
            "retries": {"attempts": 3, "perTryTimeout": "1s", "retryOn": "5xx"},
            "headers": {"request": {"set": {"x-version": "2"}}},
            "corsPolicy": {"allowOrigins": [{"exact": "https://example.com"}]},
        },
    )
    router = router_for("istio", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    for side in ("primary", "canary"):
        rule = await get(kube, ISTIO, "DestinationRule", f"podinfo-{side}")
        assert rule["spec"] == {"host": f"podinfo-{side}", "trafficPolicy": policy}
        assert rule["metadata"]["ownerReferences"][0]["kind"] == "Canary"
    assert (await virtual_service(kube))["spec"] == {
        "hosts": ["app.example.com", "podinfo"],
        "gateways": ["mesh"],
        "http": [
            {
                "match": [{"uri": {"prefix": "/"}}],
                "rewrite": {"uri": "/"},
                "timeout": "5s",
                "retries": {"attempts": 3, "perTryTimeout": "1s", "retryOn": "5xx"},
                "corsPolicy": {"allowOrigins": [{"exact": "https://example.com"}]},
                "headers": {"request": {"set": {"x-version": "2"}}},
                "route": [destination("podinfo-primary", 100), destination("podinfo-canary", 0)],
            }
        ],
    }
    writes = kube.writes
    await router.reconcile(canary)
    assert kube.writes == writes


async def test_gateways_and_delegation(kube: CountingKube) -> None:
    canary = await new_canary(
        kube, provider="istio", service={"gateways": ["public-gateway"], "hosts": ["*"]}
    )
    router = router_for("istio", kube)
    await router.reconcile(canary)
    spec = (await virtual_service(kube))["spec"]
    assert (spec["hosts"], spec["gateways"]) == (["*"], ["public-gateway"])
    await router.reconcile(with_spec(canary, service={"port": 9898, "delegation": True}))
    spec = (await virtual_service(kube))["spec"]
    assert "hosts" not in spec
    assert "gateways" not in spec


async def test_weights_and_mirror_round_trip(kube: CountingKube) -> None:
    canary = await new_canary(kube, provider="istio", analysis={"mirror": True, "mirrorWeight": 50})
    router = router_for("istio", kube)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(100, 0, mirrored=True))
    route = (await virtual_service(kube))["spec"]["http"][0]
    assert route["mirror"] == {"host": "podinfo-canary", "port": {"number": 9898}}
    assert route["mirrorPercentage"] == {"value": 50.0}
    await router.reconcile(canary)
    assert await router.get_routes(canary) == Routes(100, 0, mirrored=True)
    await router.set_routes(canary, Routes(80, 20))
    await router.reconcile(canary)
    assert await router.get_routes(canary) == Routes(80, 20)
    assert "mirror" not in (await virtual_service(kube))["spec"]["http"][0]


async def test_ab_testing_routes(kube: CountingKube) -> None:
    match = [{"headers": {"x-canary": {"exact": "insider"}}}, {"sourceLabels": {"app": "tester"}}]
    canary = await new_canary(
        kube,
        provider="istio",
        service={"match": [{"uri": {"prefix": "/api"}}]},
        analysis={"iterations": 10, "match": match},
    )
    router = router_for("istio", kube)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(0, 100))
    first, rest = (await virtual_service(kube))["spec"]["http"]
    assert first["match"] == [
        {"headers": {"x-canary": {"exact": "insider"}}, "uri": {"prefix": "/api"}},
        {"sourceLabels": {"app": "tester"}, "uri": {"prefix": "/api"}},
    ]
    assert first["route"] == [destination("podinfo-primary", 0), destination("podinfo-canary", 100)]
    assert rest == {
        "match": [{"uri": {"prefix": "/api"}}],
        "route": [destination("podinfo-primary", 100)],
    }
    assert await router.get_routes(canary) == Routes(0, 100)


async def test_tcp_services_get_a_tcp_route(kube: CountingKube) -> None:
    canary = await new_canary(kube, provider="istio", service={"appProtocol": "tcp"})
    router = router_for("istio", kube)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(40, 60))
    spec = (await virtual_service(kube))["spec"]
    assert "http" not in spec
    assert spec["tcp"] == [
        {"route": [destination("podinfo-primary", 40), destination("podinfo-canary", 60)]}
    ]
    assert await router.get_routes(canary) == Routes(40, 60)


def test_a_tcp_service_refuses_ab_testing_and_mirroring_when_the_canary_is_checked() -> None:
    match = [{"headers": {"x": {"exact": "1"}}}]
    tcp = canary(
        provider="istio",
        service={"appProtocol": "tcp"},
        analysis={"iterations": 2, "match": match, "mirror": True},
    )
    assert refusals(tcp, "istio") == [
        "spec.analysis.match: A/B testing needs a provider that matches requests (appmesh, "
        "contour, gatewayapi, gloo, nginx), found provider istio, which routes "
        "spec.service.appProtocol tcp by weight only",
        "spec.analysis.mirror: traffic mirroring needs a provider that mirrors requests "
        "(gatewayapi), found provider istio, which routes spec.service.appProtocol tcp by "
        "weight only",
    ]
    http = canary(provider="istio", analysis={"iterations": 2, "match": match, "mirror": True})
    assert refusals(http, "istio") == []


async def test_a_users_virtual_service_is_taken_over_and_restored(kube: CountingKube) -> None:
    original = {"hosts": ["podinfo"], "http": [{"route": [{"destination": {"host": "podinfo"}}]}]}
    await kube.create(
        {
            "apiVersion": ISTIO,
            "kind": "VirtualService",
            "metadata": {"name": "podinfo", "namespace": NAMESPACE},
            "spec": original,
        }
    )
    canary = await new_canary(kube, provider="istio")
    router = router_for("istio", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    taken = await virtual_service(kube)
    assert await router.get_routes(canary) == Routes(100, 0)
    saved = taken["metadata"]["annotations"]["flagger.kubernetes.io/original-configuration"]
    assert json.loads(saved) == {"spec": original}
    await router.finalize(canary)
    assert (await virtual_service(kube))["spec"] == original
    for side in ("primary", "canary"):
        assert await kube.get(ISTIO, "DestinationRule", f"podinfo-{side}", NAMESPACE) is None


async def test_finalize_deletes_what_serinus_created(kube: CountingKube) -> None:
    canary = await new_canary(kube, provider="istio")
    router = router_for("istio", kube)
    await router.reconcile(canary)
    await router.finalize(canary)
    assert await kube.get(ISTIO, "VirtualService", "podinfo", NAMESPACE) is None


STICKY = {
    "cookieName": "canary-flagger-cookie",
    "primaryCookieName": "primary-flagger-cookie",
    "maxAge": 21600,
}


def with_cookies(canary: Canary, **cookies: str | None) -> Canary:
    """The Canary with the session-affinity cookies the controller writes to its status."""
    return canary.model_copy(update={"status": CanaryStatus(**cookies)})


def on_cookie(regex: str) -> list[dict[str, object]]:
    return [{"headers": {"Cookie": {"regex": regex}}}]


async def test_session_affinity_pins_clients_by_cookie_while_the_canary_has_traffic(
    kube: CountingKube,
) -> None:
    canary = await new_canary(
        kube, provider="istio", analysis={"interval": "15s", "sessionAffinity": STICKY}
    )
    sticky = with_cookies(
        canary,
        session_affinity_cookie="canary-flagger-cookie=AbCdEfGhIj",
        primary_session_affinity_cookie="primary-flagger-cookie=KlMnOpQrSt",
    )
    router = router_for("istio", kube)
    await router.reconcile(sticky)
    await router.set_routes(sticky, Routes(90, 10))
    http = (await get(kube, ISTIO, "VirtualService", "podinfo"))["spec"]["http"]
    assert [route.get("match") for route in http] == [
        on_cookie(".*canary-flagger-cookie.*AbCdEfGhIj.*"),
        on_cookie(".*primary-flagger-cookie.*KlMnOpQrSt.*"),
        None,
    ]
    assert [[d["weight"] for d in route["route"]] for route in http] == [
        [0, 100],
        [100, 0],
        [90, 10],
    ]
    primary, canary_side = http[2]["route"]
    assert primary["headers"] == {
        "response": {"add": {"Set-Cookie": "primary-flagger-cookie=KlMnOpQrSt; Max-Age=15"}}
    }
    assert canary_side["headers"] == {
        "response": {"add": {"Set-Cookie": "canary-flagger-cookie=AbCdEfGhIj; Max-Age=21600"}}
    }
    assert await router.get_routes(sticky) == Routes(90, 10)

    # the run ended: the run's cookie is answered expired, everything else to the primary
    ended = with_cookies(
        canary, previous_session_affinity_cookie="canary-flagger-cookie=AbCdEfGhIj"
    )
    await router.set_routes(ended, Routes(100, 0))
    http = (await get(kube, ISTIO, "VirtualService", "podinfo"))["spec"]["http"]
    assert http[0]["match"] == on_cookie(".*canary-flagger-cookie.*AbCdEfGhIj.*")
    assert http[0]["headers"] == {
        "response": {"add": {"Set-Cookie": "canary-flagger-cookie=AbCdEfGhIj; Max-Age=-1"}}
    }
    assert [[d["weight"] for d in route["route"]] for route in http] == [[100, 0], [100, 0]]
    assert await router.get_routes(ended) == Routes(100, 0)


def test_session_affinity_is_held_to_istio_http() -> None:
    sticky = canary(
        provider="istio", analysis={"sessionAffinity": {"cookieName": "flagger-cookie"}}
    )
    assert refusals(sticky, "istio") == []
    tcp = canary(
        provider="istio",
        service={"appProtocol": "tcp"},
        analysis={"sessionAffinity": {"cookieName": "flagger-cookie"}},
    )
    assert refusals(tcp, "istio") == [
        "spec.analysis.sessionAffinity: session affinity needs a provider that pins clients by "
        "cookie (gatewayapi), found provider istio"
    ]
