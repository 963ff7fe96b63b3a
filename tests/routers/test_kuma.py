"""The kuma router's TrafficRoute, against a real local API server with Kuma's CRD.

Covers: reconcile writes the cluster-scoped ``TrafficRoute <apex>`` as Flagger does (the mesh from
the Canary's ``kuma.io/mesh`` annotation, every source, the apex destination and the split by
Kuma service names ``<svc>_<ns>_svc_<port>``), with no owner reference but the Canary named in an
annotation; a second reconcile writes nothing; weights round-trip; a second Canary with the same
apex name in another namespace is refused, naming the first; finalize deletes the route.
"""

from __future__ import annotations

import pytest

from serinus.apis.canary import Canary
from serinus.errors import RouterError
from serinus.ports import Routes
from serinus.routers.registry import router_for
from tests.routers.support import CountingKube, canary_manifest, deployment, new_canary

ROUTE = ("kuma.io/v1alpha1", "TrafficRoute")


async def test_the_cluster_scoped_route_splits_by_kuma_service(kube: CountingKube) -> None:
    canary = await new_canary(kube, provider="kuma", annotations={"kuma.io/mesh": "payments"})
    router = router_for("kuma", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    written = await kube.get(*ROUTE, "podinfo")
    assert written is not None
    assert written["mesh"] == "payments"
    assert written["spec"] == {
        "sources": [{"match": {"kuma.io/service": "*"}}],
        "destinations": [{"match": {"kuma.io/service": "podinfo_prod_svc_9898"}}],
        "conf": {
            "split": [
                {
                    "weight": 100,
                    "destination": {"kuma.io/service": "podinfo-primary_prod_svc_9898"},
                },
                {"weight": 0, "destination": {"kuma.io/service": "podinfo-canary_prod_svc_9898"}},
            ]
        },
    }
    meta = written["metadata"]
    assert "ownerReferences" not in meta
    assert "namespace" not in meta
    assert meta["annotations"]["serinus.io/canary"] == "prod/podinfo"
    before = kube.writes
    await router.reconcile(canary)
    assert kube.writes == before
    await router.set_routes(canary, Routes(75, 25))
    assert await router.get_routes(canary) == Routes(75, 25)
    await router.finalize(canary)
    assert await kube.get(*ROUTE, "podinfo") is None


async def test_a_second_namespace_with_the_same_apex_is_refused(kube: CountingKube) -> None:
    first = await new_canary(kube, provider="kuma")
    router = router_for("kuma", kube)
    await router.initialize(first)
    await router.reconcile(first)
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "staging"}})
    target = deployment()
    target["metadata"]["namespace"] = "staging"
    await kube.create(target)
    manifest = canary_manifest(provider="kuma")
    manifest["metadata"]["namespace"] = "staging"
    second = Canary.model_validate(await kube.create(manifest))
    await router.initialize(second)
    with pytest.raises(RouterError, match="TrafficRoute podinfo: belongs to Canary prod/podinfo"):
        await router.reconcile(second)
