"""Gateway API HTTPRoute routers (gatewayapi, :v1, :v1beta1), against a real local API server.

Covers: the HTTPRoute Flagger writes for Linkerd (GAMMA parent = the apex Service, one rule on
every path, primary first at 100, canary at 0, on the service port), hostnames from hosts, Gateway
parents with Gateway API's defaults written out, both API versions; a second reconcile writes
nothing; set_routes/get_routes round trip, mirrored included, and reconcile keeps weights and the
mirror; A/B testing: a first rule with the A/B conditions merged with the route's, a second rule
to the primary, and the sandbox mesh's own parser routes a matching request by the first rule
only; header, rewrite, mirror and timeout options; a missing gatewayRefs, session affinity and a
condition Gateway API cannot express are errors naming the field; a parent that has not accepted
the current generation makes get_routes fail (and reconcile keeps the weights meanwhile).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

from serinus.apis.status import CanaryStatus
from serinus.errors import InvalidCanaryError, RouterError
from serinus.ports import Routes
from serinus.routers.registry import refusals, router_for
from serinus.sandbox.mesh.routes import route_rules
from tests.routers.support import CountingKube, canary, get, new_canary, version_of

V1 = "gateway.networking.k8s.io/v1"
V1BETA1 = "gateway.networking.k8s.io/v1beta1"
SERVICE_PARENT = {
    "group": "core",
    "kind": "Service",
    "name": "podinfo",
    "namespace": "prod",
    "port": 9898,
}


def backend(name: str, weight: int) -> dict[str, Any]:
    return {"group": "", "kind": "Service", "name": name, "port": 9898, "weight": weight}


async def route(kube: CountingKube, version: str = V1) -> dict[str, Any]:
    return await get(kube, version, "HTTPRoute", "podinfo")


async def test_linkerd_gamma_route_as_flagger_writes_it(kube: CountingKube) -> None:
    canary = await new_canary(
        kube, provider="gatewayapi:v1beta1", service={"gatewayRefs": [SERVICE_PARENT]}
    )
    router = router_for("gatewayapi:v1beta1", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    written = await route(kube, V1BETA1)
    assert written["apiVersion"] == V1BETA1
    assert written["spec"] == {
        "parentRefs": [SERVICE_PARENT],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "backendRefs": [backend("podinfo-primary", 100), backend("podinfo-canary", 0)],
            }
        ],
    }
    assert written["metadata"]["ownerReferences"][0]["name"] == "podinfo"
    assert await router.get_routes(canary) == Routes(100, 0)


@pytest.mark.parametrize("provider", ["gatewayapi", "gatewayapi:v1"])
async def test_gateway_parents_and_hostnames(kube: CountingKube, provider: str) -> None:
    canary = await new_canary(
        kube,
        provider=provider,
        service={
            "gatewayRefs": [{"name": "public", "namespace": "istio-ingress"}],
            "hosts": ["app.example.com"],
        },
    )
    await router_for(provider, kube).reconcile(canary)
    spec = (await route(kube))["spec"]
    assert spec["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "public",
            "namespace": "istio-ingress",
        }
    ]
    assert spec["hostnames"] == ["app.example.com"]


async def test_weights_and_mirror_round_trip(kube: CountingKube) -> None:
    canary = await new_canary(
        kube, provider="gatewayapi", service={"gatewayRefs": [SERVICE_PARENT]}
    )
    router = router_for("gatewayapi", kube)
    await router.reconcile(canary)
    version = version_of(await route(kube))
    writes = kube.writes
    await router.reconcile(canary)
    assert (kube.writes, version_of(await route(kube))) == (writes, version)
    await router.set_routes(canary, Routes(100, 0, mirrored=True))
    assert await router.get_routes(canary) == Routes(100, 0, mirrored=True)
    rule = (await route(kube))["spec"]["rules"][0]
    assert rule["filters"] == [
        {
            "type": "RequestMirror",
            "requestMirror": {
                "backendRef": {
                    "group": "",
                    "kind": "Service",
                    "name": "podinfo-canary",
                    "port": 9898,
                }
            },
        }
    ]
    await router.reconcile(canary)
    assert await router.get_routes(canary) == Routes(100, 0, mirrored=True)
    await router.set_routes(canary, Routes(75, 25))
    await router.reconcile(canary)
    assert await router.get_routes(canary) == Routes(75, 25)
    assert "filters" not in (await route(kube))["spec"]["rules"][0]


async def test_ab_testing_rules(kube: CountingKube) -> None:
    match = [
        {"headers": {"x-canary": {"exact": "insider"}}},
        {"headers": {"cookie": {"regex": "^(.*?;)?(canary=always)(;.*)?$"}}},
        {
            "headers": {"user-agent": {"prefix": "Mozilla/5.0 (X"}},
            "queryParams": {"beta": {"exact": "1"}},
        },
    ]
    canary = await new_canary(
        kube,
        provider="gatewayapi",
        service={"gatewayRefs": [SERVICE_PARENT], "match": [{"uri": {"prefix": "/api"}}]},
        analysis={"stepWeight": None, "iterations": 10, "match": match},
    )
    router = router_for("gatewayapi", kube)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(0, 100))
    written = await route(kube)
    first, rest = written["spec"]["rules"]
    api = {"path": {"type": "PathPrefix", "value": "/api"}}
    assert first["matches"] == [
        {**api, "headers": [{"name": "x-canary", "type": "Exact", "value": "insider"}]},
        {
            **api,
            "headers": [
                {
                    "name": "cookie",
                    "type": "RegularExpression",
                    "value": "^(.*?;)?(canary=always)(;.*)?$",
                }
            ],
        },
        {
            **api,
            "headers": [
                {
                    "name": "user-agent",
                    "type": "RegularExpression",
                    "value": r"^Mozilla/5\.0\ \(X.*",
                }
            ],
            "queryParams": [{"name": "beta", "type": "Exact", "value": "1"}],
        },
    ]
    assert first["backendRefs"] == [backend("podinfo-primary", 0), backend("podinfo-canary", 100)]
    assert rest == {"matches": [api], "backendRefs": [backend("podinfo-primary", 100)]}
    assert await router.get_routes(canary) == Routes(0, 100)

    rules = route_rules(written)  # the sandbox mesh proxy's reading of the route
    insider = Request("/api/info", {"x-canary": "insider"})
    firefox = Request("/api/info", {"user-agent": "Mozilla/5.0 (X11; Linux)"}, {"beta": "1"})
    other = Request("/api/info", {"x-canary": "outsider"})
    assert any(m.test(insider) for m in rules[0].matches)
    assert any(m.test(firefox) for m in rules[0].matches)
    assert not any(m.test(other) for m in rules[0].matches)
    assert not any(m.test(Request("/web", {"x-canary": "insider"})) for m in rules[0].matches)


async def test_route_options_become_filters_and_timeouts(kube: CountingKube) -> None:
    mirror = {"backendRef": {"name": "shadow", "port": 8080}}
    canary = await new_canary(
        kube,
        provider="gatewayapi",
        service={
            "gatewayRefs": [SERVICE_PARENT],
            "headers": {
                "request": {"set": {"x-b": "2", "x-a": "1"}, "remove": ["x-debug"]},
                "response": {"add": {"x-served-by": "serinus"}},
            },
            "rewrite": {"uri": "/v2", "authority": "api.internal", "type": "ReplacePrefixMatch"},
            "mirror": [mirror],
            "timeout": "30s",
            "backendTimeout": "10s",
        },
    )
    await router_for("gatewayapi", kube).reconcile(canary)
    rule = (await route(kube))["spec"]["rules"][0]
    assert rule["filters"] == [
        {
            "type": "RequestHeaderModifier",
            "requestHeaderModifier": {
                "set": [{"name": "x-a", "value": "1"}, {"name": "x-b", "value": "2"}],
                "remove": ["x-debug"],
            },
        },
        {
            "type": "ResponseHeaderModifier",
            "responseHeaderModifier": {"add": [{"name": "x-served-by", "value": "serinus"}]},
        },
        {
            "type": "URLRewrite",
            "urlRewrite": {
                "hostname": "api.internal",
                "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v2"},
            },
        },
        {"type": "RequestMirror", "requestMirror": mirror},
    ]
    assert rule["timeouts"] == {"request": "30s", "backendRequest": "10s"}


async def test_what_gateway_api_cannot_do_is_refused(kube: CountingKube) -> None:
    router = router_for("gatewayapi", kube)
    no_parents = await new_canary(kube, provider="gatewayapi")
    with pytest.raises(InvalidCanaryError, match=r"^spec\.service\.gatewayRefs: expected at least"):
        await router.reconcile(no_parents)


def test_what_gateway_api_cannot_match_is_refused_when_the_canary_is_checked() -> None:
    def refused(**analysis: object) -> list[str]:
        service = {"gatewayRefs": [SERVICE_PARENT]}
        return refusals(
            canary(provider="gatewayapi", service=service, analysis=analysis), "gatewayapi"
        )

    assert refused(iterations=5, match=[{"sourceLabels": {"app": "web"}}]) == [
        "spec.analysis.match[0].sourceLabels: Gateway API matches on uri, headers, queryParams, "
        "method only, found sourceLabels"
    ]
    assert refused(
        iterations=5, match=[{"uri": {"suffix": ".json"}, "method": {"prefix": "G"}}]
    ) == [
        "spec.analysis.match[0].uri: Gateway API matches it by exact, prefix or regex only, "
        "found suffix",
        "spec.analysis.match[0].method: Gateway API matches it by exact only, found prefix",
    ]
    assert refused(sessionAffinity={"cookieName": "flagger-cookie"}) == []
    headers = [
        {
            "headers": {"x-a": {"suffix": "1"}, "x-b": {"regex": "2"}},
            "queryParams": {"b": {"exact": "1"}},
        }
    ]
    assert refused(iterations=5, match=headers, mirror=True) == []


async def test_a_parent_that_has_not_accepted_the_route_fails_get_routes(
    kube: CountingKube,
) -> None:
    canary = await new_canary(
        kube, provider="gatewayapi", service={"gatewayRefs": [SERVICE_PARENT]}
    )
    router = router_for("gatewayapi", kube)
    await router.reconcile(canary)
    written = await route(kube)
    generation = written["metadata"]["generation"]
    written["status"] = {
        "parents": [
            {
                "parentRef": SERVICE_PARENT,
                "controllerName": "linkerd.io/gateway-controller",
                "conditions": [
                    {
                        "type": "Accepted",
                        "status": "True",
                        "reason": "Accepted",
                        "message": "",
                        "observedGeneration": generation,
                        "lastTransitionTime": "2026-01-01T00:00:00Z",
                    }
                ],
            }
        ]
    }
    await kube.replace_status(written)
    assert await router.get_routes(canary) == Routes(100, 0)
    await router.set_routes(canary, Routes(90, 10))
    with pytest.raises(RouterError) as raised:
        await router.get_routes(canary)
    assert str(raised.value) == (
        f"HTTPRoute prod/podinfo: parent podinfo is not ready (status True, observed generation "
        f"{generation}, current generation {generation + 1})"
    )
    await router.reconcile(canary)  # a stale status never resets the weights
    weights = [ref["weight"] for ref in (await route(kube))["spec"]["rules"][0]["backendRefs"]]
    assert weights == [90, 10]


@dataclasses.dataclass
class Request:
    """What the sandbox mesh's matcher reads from a request."""

    path: str
    headers: Mapping[str, str]
    query: Mapping[str, str] = dataclasses.field(default_factory=dict)
    method: str = "GET"


def set_cookie(value: str) -> list[dict[str, Any]]:
    modifier = {"add": [{"name": "Set-Cookie", "value": value}]}
    return [{"type": "ResponseHeaderModifier", "responseHeaderModifier": modifier}]


def cookie_match(regex: str) -> list[dict[str, Any]]:
    header = {"type": "RegularExpression", "name": "Cookie", "value": regex}
    return [{"path": {"type": "PathPrefix", "value": "/"}, "headers": [header]}]


async def test_session_affinity_pins_clients_by_cookie_and_expires_the_cookie_after_the_run(
    kube: CountingKube,
) -> None:
    sticky = {"cookieName": "canary-flagger-cookie", "maxAge": 300}
    canary = await new_canary(
        kube,
        provider="gatewayapi",
        service={"gatewayRefs": [SERVICE_PARENT]},
        analysis={"interval": "10s", "sessionAffinity": sticky},
    )
    running = canary.model_copy(
        update={"status": CanaryStatus(session_affinity_cookie="canary-flagger-cookie=XyZ")}
    )
    router = router_for("gatewayapi", kube)
    await router.initialize(canary)
    await router.reconcile(running)
    await router.set_routes(running, Routes(70, 30))
    rules = (await route(kube))["spec"]["rules"]
    assert [rule["matches"] for rule in rules] == [
        cookie_match(".*canary-flagger-cookie.*XyZ.*"),
        [{"path": {"type": "PathPrefix", "value": "/"}}],
    ]
    assert rules[0]["backendRefs"] == [
        backend("podinfo-primary", 0),
        backend("podinfo-canary", 100),
    ]
    assert rules[1]["backendRefs"] == [
        backend("podinfo-primary", 70),
        {
            **backend("podinfo-canary", 30),
            "filters": set_cookie("canary-flagger-cookie=XyZ; Max-Age=300"),
        },
    ]
    assert await router.get_routes(running) == Routes(70, 30)

    ended = canary.model_copy(
        update={
            "status": CanaryStatus(previous_session_affinity_cookie="canary-flagger-cookie=XyZ")
        }
    )
    await router.set_routes(ended, Routes(100, 0))
    rules = (await route(kube))["spec"]["rules"]
    assert rules[0]["matches"] == cookie_match(".*canary-flagger-cookie.*XyZ.*")
    assert rules[0]["filters"] == set_cookie("canary-flagger-cookie=XyZ; Max-Age=-1")
    assert [rule["backendRefs"] for rule in rules] == [
        [backend("podinfo-primary", 100), backend("podinfo-canary", 0)]
    ] * 2
    assert await router.get_routes(ended) == Routes(100, 0)
