"""The apisix router's canary ApisixRoute, against a real local API server with APISIX's CRD.

Covers: reconcile copies the http route of ``spec.routeRef`` that sends to the apex into
``<routeRef>-<apex>-canary`` (the source's labels and annotations, priority 10000, the primary
backend in place of the apex and the canary beside it with the same port, resolve granularity and
subset, both weighted), leaves the source alone, and a second reconcile writes nothing; weights
round-trip; a route with two backends, or none to the apex, is an error naming the source; a
Canary without ``spec.routeRef`` is refused naming the field.
"""

from __future__ import annotations

from typing import Any

import pytest

from serinus.errors import RouterError
from serinus.ports import Routes
from serinus.routers.registry import refusals, router_for
from tests.routers.support import NAMESPACE, CountingKube, canary, get, new_canary

ROUTE = ("apisix.apache.org/v2", "ApisixRoute")


def source(backends: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "apisix.apache.org/v2",
        "kind": "ApisixRoute",
        "metadata": {"name": "podinfo", "namespace": NAMESPACE, "labels": {"team": "web"}},
        "spec": {
            "http": [
                {
                    "name": "other",
                    "match": {"paths": ["/other"]},
                    "backends": [{"serviceName": "other", "servicePort": 80}],
                },
                {
                    "name": "method",
                    "match": {"hosts": ["app.example.com"], "paths": ["/*"], "methods": ["GET"]},
                    "backends": backends,
                },
            ]
        },
    }


async def test_the_canary_route_copies_the_apex_route_with_weights(kube: CountingKube) -> None:
    backend = {
        "serviceName": "podinfo",
        "servicePort": 80,
        "resolveGranularity": "service",
        "subset": "v1",
    }
    await kube.create(source([backend]))
    canary = await new_canary(
        kube,
        provider="apisix",
        routeRef={"name": "podinfo", "apiVersion": "apisix.apache.org/v2", "kind": "ApisixRoute"},
    )
    router = router_for("apisix", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    written = await get(kube, *ROUTE, "podinfo-podinfo-canary")
    assert written["metadata"]["labels"] == {"team": "web"}
    assert written["metadata"]["ownerReferences"][0]["uid"] == canary.metadata.uid
    assert written["spec"] == {
        "http": [
            {
                "name": "method",
                "priority": 10000,
                "match": {"hosts": ["app.example.com"], "paths": ["/*"], "methods": ["GET"]},
                "backends": [
                    {**backend, "serviceName": "podinfo-primary", "weight": 100},
                    {**backend, "serviceName": "podinfo-canary", "weight": 0},
                ],
            }
        ]
    }
    assert (await get(kube, *ROUTE, "podinfo"))["spec"]["http"][1]["backends"] == [backend]
    before = kube.writes
    await router.reconcile(canary)
    assert kube.writes == before
    await router.set_routes(canary, Routes(90, 10))
    assert await router.get_routes(canary) == Routes(90, 10)


async def test_a_route_with_two_backends_is_an_error_naming_the_source(kube: CountingKube) -> None:
    two = [{"serviceName": "podinfo", "servicePort": 80}, {"serviceName": "x", "servicePort": 80}]
    await kube.create(source(two))
    canary = await new_canary(kube, provider="apisix", routeRef={"name": "podinfo"})
    router = router_for("apisix", kube)
    await router.initialize(canary)
    with pytest.raises(
        RouterError, match="ApisixRoute prod/podinfo: http route method has 2 backends"
    ):
        await router.reconcile(canary)


def test_a_canary_without_route_ref_is_refused() -> None:
    assert refusals(canary(provider="apisix"), "apisix") == [
        "spec.routeRef: expected the ApisixRoute that sends to the apex Service (provider "
        "apisix), found none"
    ]
