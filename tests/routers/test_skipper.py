"""The skipper router's canary Ingress, against a real local API server.

Covers: reconcile copies ``spec.ingressRef`` to ``<ingress>-canary`` with each path to the apex
pointed at the primary and a twin path to the canary, the backend weights as sorted JSON and the
predicate ``False()`` first at 100/0 (the source's predicates kept after it), and a second
reconcile writes nothing; with traffic on the canary the predicate is ``Weight(100)`` and the
weights round-trip; the source is left alone; finalize deletes the copy; a Canary without
``spec.ingressRef`` is refused naming the field.
"""

from __future__ import annotations

from typing import Any

from serinus.ports import Routes
from serinus.routers.registry import refusals, router_for
from tests.routers.support import NAMESPACE, CountingKube, canary, get, new_canary

INGRESS = ("networking.k8s.io/v1", "Ingress")


def path(service: str) -> dict[str, Any]:
    return {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": service, "port": {"number": 9898}}},
    }


async def test_the_canary_ingress_is_weighed_by_annotations(kube: CountingKube) -> None:
    await kube.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": "podinfo",
                "namespace": NAMESPACE,
                "annotations": {"zalando.org/skipper-predicate": 'Method("GET")'},
            },
            "spec": {
                "ingressClassName": "skipper",
                "rules": [{"host": "app.example.com", "http": {"paths": [path("podinfo")]}}],
            },
        }
    )
    canary = await new_canary(
        kube,
        provider="skipper",
        ingressRef={"name": "podinfo", "apiVersion": "networking.k8s.io/v1", "kind": "Ingress"},
    )
    router = router_for("skipper", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    written = await get(kube, *INGRESS, "podinfo-canary")
    assert written["spec"]["rules"][0]["http"]["paths"] == [
        path("podinfo-primary"),
        path("podinfo-canary"),
    ]
    annotations = written["metadata"]["annotations"]
    assert (
        annotations["zalando.org/backend-weights"] == '{"podinfo-canary":0,"podinfo-primary":100}'
    )
    assert annotations["zalando.org/skipper-predicate"] == 'False() && Method("GET")'
    assert written["metadata"]["ownerReferences"][0]["uid"] == canary.metadata.uid
    before = kube.writes
    await router.reconcile(canary)
    assert kube.writes == before
    await router.set_routes(canary, Routes(95, 5))
    annotations = (await get(kube, *INGRESS, "podinfo-canary"))["metadata"]["annotations"]
    assert annotations["zalando.org/skipper-predicate"] == 'Weight(100) && Method("GET")'
    assert await router.get_routes(canary) == Routes(95, 5)
    assert (await get(kube, *INGRESS, "podinfo"))["spec"]["rules"][0]["http"]["paths"] == [
        path("podinfo")
    ]
    await router.finalize(canary)
    assert await kube.get(*INGRESS, "podinfo-canary", NAMESPACE) is None


def test_a_canary_without_ingress_ref_is_refused() -> None:
    assert refusals(canary(provider="skipper"), "skipper") == [
        "spec.ingressRef: expected the Ingress of the apex Service (provider skipper), found none"
    ]
