"""The knative router and target: traffic split by revision in the Knative Service itself.

Covers, against a real local API server with Knative's CRDs and Knative Serving played by hand:
the target names the latest revision as the primary and gives it all traffic, once; the router
writes no Services or mesh objects; ``set_routes`` writes the latest revision against the primary
revision and ``get_routes`` reads what Knative serves from ``status.traffic``, failing (retriably)
while Knative has not served the Service's generation; a new revision is a new release; promote
moves the primary annotation; readiness is each revision's ``Ready`` condition; finalize hands the
traffic back to the latest revision; a Knative target with another provider, or provider knative
with a Deployment, is refused naming the field.
"""

from __future__ import annotations

import pytest

from serinus.apis.canary import Canary
from serinus.errors import RouterError
from serinus.ports import Routes
from serinus.routers.registry import refusals, router_for
from serinus.targets.registry import target_for
from tests.routers.support import NAMESPACE, CountingKube, canary, canary_manifest, get
from tests.support.knative import SERVICE, KnativeServing, knative_service

KNATIVE_TARGET = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "podinfo"}


def knative_manifest(**fields: object) -> dict[str, object]:
    """A Canary of the Knative Service podinfo, without spec.service, as Flagger's tutorial."""
    manifest = canary_manifest(targetRef=KNATIVE_TARGET, **fields)  # type: ignore[arg-type]
    del manifest["spec"]["service"]
    return manifest


async def knative_canary(kube: CountingKube) -> tuple[Canary, KnativeServing]:
    await kube.create(knative_service("podinfo", NAMESPACE, "ghcr.io/stefanprodan/podinfo:6.0.0"))
    serving = KnativeServing(kube, NAMESPACE)
    await serving.reconcile("podinfo")
    stored = await kube.create(knative_manifest(provider="knative"))
    return Canary.model_validate(stored), serving


async def test_a_release_moves_traffic_between_revisions(kube: CountingKube) -> None:
    canary, serving = await knative_canary(kube)
    target = target_for("Service", kube, api_version="serving.knative.dev/v1")
    router = router_for("knative", kube)
    await router.initialize(canary)
    await target.initialize(canary)
    await router.reconcile(canary)
    await serving.reconcile("podinfo")
    service = await get(kube, *SERVICE, "podinfo")
    assert service["metadata"]["annotations"]["flagger.app/primary-revision"] == "podinfo-00001"
    assert service["spec"]["traffic"] == [
        {"latestRevision": True, "percent": 0},
        {"revisionName": "podinfo-00001", "percent": 100},
    ]
    assert await kube.list("v1", "Service", NAMESPACE) == []
    assert await router.get_routes(canary) == Routes(100, 0)
    assert (await target.revision(canary)).spec_hash == "podinfo-00001"
    assert (await target.is_primary_ready(canary)).ready

    service["spec"]["template"]["spec"]["containers"][0]["image"] = (
        "ghcr.io/stefanprodan/podinfo:6.0.1"
    )
    await kube.replace(service)
    serving.unready.add("podinfo-00002")
    await serving.reconcile("podinfo")
    assert (await target.revision(canary)).spec_hash == "podinfo-00002"
    readiness = await target.is_canary_ready(canary)
    assert not readiness.ready
    assert readiness.message == "Knative Revision prod/podinfo-00002 is not ready"
    await router.set_routes(canary, Routes(70, 30))
    with pytest.raises(RouterError, match="Knative has not served generation"):
        await router.get_routes(canary)
    await serving.reconcile("podinfo")
    assert await router.get_routes(canary) == Routes(70, 30)

    await target.promote(canary)
    service = await get(kube, *SERVICE, "podinfo")
    assert service["metadata"]["annotations"]["flagger.app/primary-revision"] == "podinfo-00002"
    await router.finalize(canary)
    service = await get(kube, *SERVICE, "podinfo")
    assert "flagger.app/primary-revision" not in (service["metadata"].get("annotations") or {})
    assert service["spec"]["traffic"] == [{"latestRevision": True, "percent": 100}]


def test_knative_targets_and_the_knative_provider_go_together() -> None:
    knative = Canary.model_validate(knative_manifest(provider=None))
    assert refusals(knative, "istio") == [
        "spec.provider: a Knative Service target is routed by provider knative, found provider "
        "istio"
    ]
    assert refusals(canary(provider=None), "knative") == [
        "spec.targetRef: provider knative routes a Knative Service (kind Service, apiVersion "
        "serving.knative.dev/v1), found Deployment apps/v1"
    ]
