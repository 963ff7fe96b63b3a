"""The gloo router's RouteTable and Upstreams, against a real local API server with Gloo's CRDs.

Covers: reconcile writes the two Upstreams (``<ns>-<apex>-primaryupstream-<port>`` and
``...-canaryupstream-<port>``, kube upstreams of the generated Services with their selectors,
owned by the Canary) and ``RouteTable <apex>`` with one inheritable route over them, primary at
100 and the canary's weight left out; ``spec.upstreamRef``'s connection settings are copied into
both Upstreams under the names of Gloo's schema (``httpProxyHostname``, which Flagger misspells
and so never copies), and a missing one is an error naming the field; weights round-trip; A/B
testing writes one matcher per match request (exact headers as values, others as regular
expressions, the method) on the weighted route, then a route to the primary, which ``serinus
validate`` notes; finalize deletes the three objects.
"""

from __future__ import annotations

import pytest

from serinus.errors import RouterError
from serinus.ports import Routes
from serinus.routers.registry import notes, router_for
from tests.routers.support import NAMESPACE, CountingKube, get, new_canary

TABLE = ("gateway.solo.io/v1", "RouteTable")
UPSTREAM = ("gloo.solo.io/v1", "Upstream")
PRIMARY = "prod-podinfo-primaryupstream-9898"
CANARY = "prod-podinfo-canaryupstream-9898"


def destination(name: str, weight: int | None = None) -> dict[str, object]:
    found: dict[str, object] = {"destination": {"upstream": {"name": name, "namespace": "prod"}}}
    if weight is not None:
        found["weight"] = weight
    return found


async def test_reconcile_writes_upstreams_and_the_route_table(kube: CountingKube) -> None:
    await kube.create(
        {
            "apiVersion": "gloo.solo.io/v1",
            "kind": "Upstream",
            "metadata": {"name": "podinfo-config", "namespace": NAMESPACE},
            "spec": {
                "loadBalancerConfig": {
                    "roundRobin": {"slowStartConfig": {"slowStartWindow": "10s"}}
                },
                "useHttp2": True,
                "httpProxyHostname": "proxy.example:443",
                "kube": {"serviceName": "ignored", "servicePort": 1},
            },
        }
    )
    canary = await new_canary(
        kube, provider="gloo", upstreamRef={"name": "podinfo-config", "namespace": NAMESPACE}
    )
    router = router_for("gloo", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    for name, service, selected in (
        (PRIMARY, "podinfo-primary", "podinfo-primary"),
        (CANARY, "podinfo-canary", "podinfo"),
    ):
        upstream = await get(kube, *UPSTREAM, name)
        assert upstream["spec"] == {
            "kube": {
                "serviceName": service,
                "serviceNamespace": "prod",
                "servicePort": 9898,
                "selector": {"app": selected},
            },
            "loadBalancerConfig": {"roundRobin": {"slowStartConfig": {"slowStartWindow": "10s"}}},
            "useHttp2": True,
            "httpProxyHostname": "proxy.example:443",
        }
        assert upstream["metadata"]["ownerReferences"][0]["uid"] == canary.metadata.uid
    table = await get(kube, *TABLE, "podinfo")
    assert table["spec"] == {
        "routes": [
            {
                "inheritablePathMatchers": True,
                "routeAction": {
                    "multi": {"destinations": [destination(PRIMARY, 100), destination(CANARY)]}
                },
            }
        ]
    }
    before = kube.writes
    await router.reconcile(canary)
    assert kube.writes == before
    await router.set_routes(canary, Routes(60, 40))
    assert await router.get_routes(canary) == Routes(60, 40)
    await router.finalize(canary)
    for kind, name in ((TABLE, "podinfo"), (UPSTREAM, PRIMARY), (UPSTREAM, CANARY)):
        assert await kube.get(*kind, name, NAMESPACE) is None


async def test_a_missing_upstream_ref_is_an_error_naming_the_field(kube: CountingKube) -> None:
    canary = await new_canary(kube, provider="gloo", upstreamRef={"name": "gone"})
    router = router_for("gloo", kube)
    await router.initialize(canary)
    with pytest.raises(RouterError, match=r"spec.upstreamRef: Upstream prod/gone not found"):
        await router.reconcile(canary)


async def test_ab_testing_matches_and_falls_back_to_the_primary(kube: CountingKube) -> None:
    match = [
        {"headers": {"x-canary": {"exact": "insider"}}},
        {"headers": {"user-agent": {"prefix": "Mobile"}}, "method": {"exact": "GET"}},
    ]
    canary = await new_canary(
        kube, provider="gloo", analysis={"iterations": 3, "match": match, "stepWeight": None}
    )
    router = router_for("gloo", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(0, 100))
    routes = (await get(kube, *TABLE, "podinfo"))["spec"]["routes"]
    assert routes[0]["matchers"] == [
        {"headers": [{"name": "x-canary", "value": "insider"}]},
        {
            "headers": [{"name": "user-agent", "value": "^Mobile.*", "regex": True}],
            "methods": ["GET"],
        },
    ]
    assert routes[0]["routeAction"]["multi"]["destinations"] == [
        destination(PRIMARY),
        destination(CANARY, 100),
    ]
    assert "matchers" not in routes[1]
    assert routes[1]["routeAction"]["multi"]["destinations"] == [
        destination(PRIMARY, 100),
        destination(CANARY),
    ]
    assert await router.get_routes(canary) == Routes(0, 100)
    assert notes(canary, "gloo") == [
        "spec.analysis.match: serinus adds a second route sending requests that match no A/B "
        "condition to the primary; Flagger's RouteTable has none, so Gloo answers them 404"
    ]
