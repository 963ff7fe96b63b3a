"""The appmesh routers (v1beta2 objects), against a real local API server with App Mesh's CRDs.

Covers: reconcile writes what Flagger's ``appmesh:v1beta2`` router writes: the primary and canary
VirtualNodes (listener on the container port with the timeout, DNS discovery, pod selector,
backends by name and ARN, access log when annotated, the apex metadata), the apex VirtualRouter
weighing the nodes (canary first) with timeout and retry policy and its VirtualService (annotated
for the gateway), the canary VirtualRouter all to the canary and its VirtualService, every object
owned by the Canary; a second reconcile writes nothing, and keeps what App Mesh fills in
(``awsName``, ``meshRef``); weights round-trip; A/B testing writes the ``-a`` route with the
headers and the ``-b`` route to the primary; provider ``appmesh`` writes the same objects, and
``serinus validate`` notes it.
"""

from __future__ import annotations

from serinus.ports import Routes
from serinus.routers.registry import notes, refusals, router_for
from tests.routers.support import CountingKube, canary, get, new_canary

API = "appmesh.k8s.aws/v1beta2"
DURATION = {"unit": "ms", "value": 15000}
RETRY = {
    "perRetryTimeout": {"unit": "ms", "value": 5000},
    "maxRetries": 3,
    "httpRetryEvents": ["gateway-error", "stream-error"],
}


def targets(primary: int, canary: int) -> list[dict[str, object]]:
    return [
        {"virtualNodeRef": {"name": "podinfo-canary"}, "weight": canary},
        {"virtualNodeRef": {"name": "podinfo-primary"}, "weight": primary},
    ]


async def test_reconcile_writes_nodes_routers_and_services(kube: CountingKube) -> None:
    canary = await new_canary(
        kube,
        provider="appmesh:v1beta2",
        annotations={"appmesh.flagger.app/accesslog": "enabled"},
        service={
            "timeout": "15s",
            "retries": {
                "attempts": 3,
                "perTryTimeout": "5s",
                "retryOn": "gateway-error,stream-error",
            },
            "hosts": ["podinfo.example.com"],
            "backends": ["backend", "arn:aws:appmesh:eu-west-1:1:mesh/m/virtualService/x"],
            "apex": {"labels": {"tier": "web"}},
        },
    )
    router = router_for("appmesh:v1beta2", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    node = await get(kube, API, "VirtualNode", "podinfo-primary")
    assert node["spec"] == {
        "listeners": [
            {
                "portMapping": {"port": 9898, "protocol": "http"},
                "timeout": {"http": {"perRequest": DURATION}},
            }
        ],
        "serviceDiscovery": {"dns": {"hostname": "podinfo-primary.prod.svc.cluster.local."}},
        "podSelector": {"matchLabels": {"app": "podinfo-primary"}},
        "backends": [
            {"virtualService": {"virtualServiceRef": {"name": "backend"}}},
            {
                "virtualService": {
                    "virtualServiceARN": "arn:aws:appmesh:eu-west-1:1:mesh/m/virtualService/x"
                }
            },
        ],
        "logging": {"accessLog": {"file": {"path": "/dev/stdout"}}},
    }
    assert node["metadata"]["labels"] == {"tier": "web"}
    canary_node = await get(kube, API, "VirtualNode", "podinfo-canary")
    assert canary_node["spec"]["podSelector"] == {"matchLabels": {"app": "podinfo"}}
    apex = await get(kube, API, "VirtualRouter", "podinfo")
    assert apex["spec"] == {
        "listeners": [{"portMapping": {"port": 9898, "protocol": "http"}}],
        "routes": [
            {
                "name": "podinfo",
                "httpRoute": {
                    "match": {"prefix": "/"},
                    "action": {"weightedTargets": targets(100, 0)},
                    "timeout": {"perRequest": DURATION},
                    "retryPolicy": RETRY,
                },
            }
        ],
    }
    second = await get(kube, API, "VirtualRouter", "podinfo-canary")
    assert second["spec"]["routes"][0]["name"] == "podinfo-canary"
    assert second["spec"]["routes"][0]["httpRoute"]["action"]["weightedTargets"] == targets(0, 100)
    service = await get(kube, API, "VirtualService", "podinfo")
    assert service["spec"] == {
        "provider": {"virtualRouter": {"virtualRouterRef": {"name": "podinfo"}}}
    }
    assert service["metadata"]["annotations"] == {
        "gateway.appmesh.k8s.aws/expose": "true",
        "gateway.appmesh.k8s.aws/domain": "podinfo.example.com,",
        "gateway.appmesh.k8s.aws/timeout": "15s",
        "gateway.appmesh.k8s.aws/retries": "3",
    }
    canary_service = await get(kube, API, "VirtualService", "podinfo-canary")
    assert canary_service["spec"]["provider"]["virtualRouter"]["virtualRouterRef"] == {
        "name": "podinfo-canary"
    }
    for kind, name in (
        ("VirtualNode", "podinfo-canary"),
        ("VirtualRouter", "podinfo"),
        ("VirtualService", "podinfo-canary"),
    ):
        owner = (await get(kube, API, kind, name))["metadata"]["ownerReferences"][0]
        assert owner["uid"] == canary.metadata.uid
    # App Mesh's webhook fills in awsName and meshRef; updates keep them
    apex["spec"]["awsName"] = "podinfo_prod"
    apex["spec"]["meshRef"] = {"name": "global", "uid": "1"}
    await kube.replace(apex)
    before = kube.writes
    await router.reconcile(canary)
    assert kube.writes == before
    await router.set_routes(canary, Routes(85, 15))
    stored = await get(kube, API, "VirtualRouter", "podinfo")
    assert stored["spec"]["awsName"] == "podinfo_prod"
    assert stored["spec"]["routes"][0]["httpRoute"]["action"]["weightedTargets"] == targets(85, 15)
    assert await router.get_routes(canary) == Routes(85, 15)


async def test_ab_testing_writes_two_routes_by_priority(kube: CountingKube) -> None:
    match = [
        {"headers": {"x-canary": {"exact": "insider"}, "user-agent": {"regex": ".*Firefox.*"}}}
    ]
    canary = await new_canary(
        kube, provider="appmesh", analysis={"iterations": 5, "match": match, "stepWeight": None}
    )
    router = router_for("appmesh", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(0, 100))
    routes = (await get(kube, API, "VirtualRouter", "podinfo"))["spec"]["routes"]
    assert routes == [
        {
            "name": "podinfo-a",
            "priority": 10,
            "httpRoute": {
                "match": {
                    "prefix": "/",
                    "headers": [
                        {"name": "user-agent", "match": {"regex": ".*Firefox.*"}},
                        {"name": "x-canary", "match": {"exact": "insider"}},
                    ],
                },
                "action": {"weightedTargets": targets(0, 100)},
            },
        },
        {
            "name": "podinfo-b",
            "priority": 20,
            "httpRoute": {
                "match": {"prefix": "/"},
                "action": {
                    "weightedTargets": [
                        {"virtualNodeRef": {"name": "podinfo-primary"}, "weight": 100}
                    ]
                },
            },
        },
    ]
    assert await router.get_routes(canary) == Routes(0, 100)
    assert notes(canary, "appmesh")[0].startswith(
        "spec.provider: appmesh is served with App Mesh's v1beta2"
    )
    assert notes(canary, "appmesh:v1beta2") == []


def test_retry_events_app_mesh_does_not_know_are_refused_naming_the_field() -> None:
    """App Mesh's VirtualRouter schema takes server-error, gateway-error, client-error and
    stream-error only; Envoy's names (as Istio takes them) would fail the write at run time."""
    retries = {"attempts": 3, "retryOn": "gateway-error,connect-failure,503"}
    written = canary(provider="appmesh:v1beta2", service={"retries": retries})
    assert refusals(written, "appmesh:v1beta2") == [
        "spec.service.retries.retryOn: App Mesh retries on client-error, gateway-error, "
        "server-error, stream-error only, found connect-failure, 503"
    ]
    fine = {"attempts": 3, "retryOn": "gateway-error,stream-error"}
    assert refusals(canary(provider="appmesh", service={"retries": fine}), "appmesh") == []


def test_more_headers_than_one_app_mesh_route_takes_are_refused() -> None:
    """The headers of every match request go into the one A/B route, whose schema takes 10."""
    match = [{"headers": {f"x-h{i}": {"exact": "1"} for i in range(6)}} for _ in range(2)]
    written = canary(provider="appmesh:v1beta2", analysis={"iterations": 5, "match": match})
    assert refusals(written, "appmesh:v1beta2") == [
        "spec.analysis.match: App Mesh takes at most 10 header conditions in its A/B route (the "
        "headers of every match request go into that one route), found 12"
    ]
    match[1] = {"headers": {"x-h0": {"exact": "1"}}}
    written = canary(provider="appmesh:v1beta2", analysis={"iterations": 5, "match": match})
    assert refusals(written, "appmesh:v1beta2") == []
