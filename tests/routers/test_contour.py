"""The contour router's HTTPProxy, against a real local API server with Contour's CRD.

Covers: reconcile writes ``HTTPProxy <apex>`` as Flagger's contour router does (one route on
``/``, primary at 100 and the canary with its weight left out, the ``l5d-dst-override`` header
on each service, timeout and retry policies, the apex metadata and Flux's annotations, the
operator's ingress class, an owner reference to the Canary), and a second reconcile writes
nothing; weights round-trip, 0/100 leaving the primary's weight out; A/B testing writes one route
per match request (headers exact, regex as Contour's ``regex``, prefix and suffix as
``contains``), holding the weights, and a fallback to the primary, and ``serinus validate``'s
notes say so; a mirror is refused; a proxy Contour marks invalid is an error when the routes are
read.
"""

from __future__ import annotations

from typing import Any

import pytest

from serinus.errors import RouterError
from serinus.ports import Routes
from serinus.routers.registry import notes, refusals, router_for
from tests.routers.support import NAMESPACE, CountingKube, canary, get, new_canary

PROXY = ("projectcontour.io/v1", "HTTPProxy")


def service(name: str, weight: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"name": name, "port": 9898}
    if weight is not None:
        found["weight"] = weight
    override = {"name": "l5d-dst-override", "value": f"{name}.prod.svc.cluster.local:9898"}
    found["requestHeadersPolicy"] = {"set": [override]}
    return found


async def test_reconcile_writes_flaggers_http_proxy(kube: CountingKube) -> None:
    canary = await new_canary(
        kube,
        provider="contour",
        service={
            "timeout": "15s",
            "retries": {"attempts": 3, "perTryTimeout": "5s", "retryOn": "5xx,reset"},
            "apex": {"labels": {"tier": "web"}},
        },
    )
    router = router_for("contour", kube, ingress_class="contour-external")
    await router.initialize(canary)
    await router.reconcile(canary)
    written = await get(kube, *PROXY, "podinfo")
    assert written["spec"] == {
        "ingressClassName": "contour-external",
        "routes": [
            {
                "conditions": [{"prefix": "/"}],
                "services": [service("podinfo-primary", 100), service("podinfo-canary")],
                "timeoutPolicy": {"response": "15s", "idle": "5m"},
                "retryPolicy": {"count": 3, "perTryTimeout": "5s", "retryOn": ["5xx", "reset"]},
            }
        ],
    }
    meta = written["metadata"]
    assert meta["labels"] == {"tier": "web"}
    assert meta["annotations"]["kustomize.toolkit.fluxcd.io/reconcile"] == "disabled"
    assert meta["ownerReferences"][0]["uid"] == canary.metadata.uid
    assert meta["ownerReferences"][0]["controller"] is True
    before = kube.writes
    await router.reconcile(canary)
    assert kube.writes == before
    assert await router.get_routes(canary) == Routes(100, 0)


async def test_weights_round_trip_and_a_zero_weight_is_left_out(kube: CountingKube) -> None:
    canary = await new_canary(
        kube, provider="contour", service={"match": [{"uri": {"prefix": "/api"}}]}
    )
    router = router_for("contour", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(70, 30))
    assert await router.get_routes(canary) == Routes(70, 30)
    await router.set_routes(canary, Routes(0, 100))
    route = (await get(kube, *PROXY, "podinfo"))["spec"]["routes"][0]
    assert route["conditions"] == [{"prefix": "/api"}]
    assert route["services"] == [service("podinfo-primary"), service("podinfo-canary", 100)]
    assert await router.get_routes(canary) == Routes(0, 100)


async def test_ab_testing_routes_each_match_request_and_falls_back_to_the_primary(
    kube: CountingKube,
) -> None:
    match = [
        {"headers": {"x-canary": {"exact": "insider"}}},
        {"headers": {"user-agent": {"prefix": "Mobile"}, "cookie": {"suffix": "canary=1"}}},
    ]
    canary = await new_canary(
        kube, provider="contour", analysis={"iterations": 5, "match": match, "stepWeight": None}
    )
    router = router_for("contour", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(0, 100))
    routes = (await get(kube, *PROXY, "podinfo"))["spec"]["routes"]
    assert [route["conditions"] for route in routes] == [
        [{"prefix": "/", "header": {"name": "x-canary", "exact": "insider"}}],
        [
            {"prefix": "/", "header": {"name": "cookie", "contains": "canary=1"}},
            {"header": {"name": "user-agent", "contains": "Mobile"}},
        ],
        [{"prefix": "/"}],
    ]
    weighted = [service("podinfo-primary"), service("podinfo-canary", 100)]
    assert [route["services"] for route in routes] == [
        weighted,
        weighted,
        [service("podinfo-primary", 100), service("podinfo-canary")],
    ]
    assert await router.get_routes(canary) == Routes(0, 100)
    assert notes(canary, "contour") == [
        "spec.analysis.match[1].headers.cookie: Contour has no suffix match; the header "
        "condition is 'contains canary=1', as Flagger writes it",
        "spec.analysis.match[1].headers.user-agent: Contour has no prefix match; the header "
        "condition is 'contains Mobile', as Flagger writes it",
    ]


async def test_a_regex_header_is_written_as_contours_regex_condition(kube: CountingKube) -> None:
    cookie = "^(.*?;)?(canary=always)(;.*)?$"
    match = [{"headers": {"cookie": {"regex": cookie}}}]
    written = await new_canary(
        kube, provider="contour", analysis={"iterations": 5, "match": match, "stepWeight": None}
    )
    assert refusals(written, "contour") == []
    router = router_for("contour", kube)
    await router.initialize(written)
    await router.reconcile(written)
    routes = (await get(kube, *PROXY, "podinfo"))["spec"]["routes"]
    assert routes[0]["conditions"] == [
        {"prefix": "/", "header": {"name": "cookie", "regex": cookie}}
    ]
    assert notes(written, "contour") == []


def test_a_mirror_is_refused_naming_field_and_provider() -> None:
    written = canary(provider="contour", analysis={"iterations": 5, "mirror": True})
    assert refusals(written, "contour") == [
        "spec.analysis.mirror: traffic mirroring needs a provider that mirrors requests "
        "(gatewayapi, istio), found provider contour, which cannot mirror",
    ]


async def test_a_proxy_contour_marks_invalid_is_an_error_when_routes_are_read(
    kube: CountingKube,
) -> None:
    canary = await new_canary(kube, provider="contour")
    router = router_for("contour", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    written = await get(kube, *PROXY, "podinfo")
    written["status"] = {"currentStatus": "invalid", "description": "include creates a cycle"}
    await kube.replace_status(written)
    with pytest.raises(RouterError, match="Contour does not serve it: include creates a cycle"):
        await router.get_routes(canary)
    assert written["metadata"]["namespace"] == NAMESPACE


def test_retry_conditions_contour_does_not_know_are_refused_naming_the_field() -> None:
    """Contour's HTTPProxy schema lists the retryOn values it takes (no status codes such as
    Istio's 503, no spaces); another would fail the write at run time."""
    retries = {"attempts": 3, "retryOn": "5xx,503,reset"}
    written = canary(provider="contour", service={"retries": retries})
    assert refusals(written, "contour") == [
        "spec.service.retries.retryOn: Contour retries on 5xx, cancelled, connect-failure, "
        "deadline-exceeded, envoy-ratelimited, gateway-error, http3-post-connect-failure, "
        "internal, refused-stream, reset, reset-before-request, resource-exhausted, "
        "retriable-4xx, retriable-headers, retriable-status-codes, unavailable only, found 503"
    ]
    fine = {"attempts": 3, "retryOn": "gateway-error,connect-failure,refused-stream"}
    assert refusals(canary(provider="contour", service={"retries": fine}), "contour") == []
