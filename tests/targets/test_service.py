"""ServiceTarget against a real API server (Flagger's ServiceController for ``kind: Service``).

Covers: initialize makes ``<target>-canary`` and ``<target>-primary`` copies of the target Service
(spec without the assigned cluster IP, labels, annotations without kubectl's last-applied record,
trafficDistribution from the Canary, owned by the Canary); a second initialize writes nothing;
``-canary`` follows a changed target at once while ``-primary`` keeps the old selector until
promotion copies it (keeping its own cluster IP); the revision is the target's spec (a new selector
is a release, a re-created Service with a new cluster IP is not); readiness is "a ready pod
matches the selector" (a Service without a selector is ready); scaling and finalize change
nothing; a missing target is named; the registry builds it for ``Service``.
"""

from __future__ import annotations

from typing import Any

import pytest

from serinus.errors import NotFoundError
from serinus.kube import Kube
from serinus.targets.registry import target_for
from serinus.targets.service import ServiceTarget
from tests.targets.support import NS, create_canary


def service(selector: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": [{"name": "http", "port": 9898, "targetPort": "http"}]}
    if selector is not None:
        spec["selector"] = selector
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "podinfo", "namespace": NS, **meta},
        "spec": spec,
    }


async def get_service(kube: Kube, name: str) -> dict[str, Any]:
    found = await kube.get("v1", "Service", name, NS)
    assert found is not None, name
    return found


@pytest.fixture
def services_target(kube: Kube) -> ServiceTarget:
    return ServiceTarget(kube)


async def canary_of_service(kube: Kube, **spec: Any):
    return await create_canary(
        kube,
        "Service",
        targetRef={"apiVersion": "v1", "kind": "Service", "name": "podinfo"},
        **spec,
    )


async def test_initialize_makes_both_copies(kube: Kube, services_target: ServiceTarget) -> None:
    annotations = {"kubectl.kubernetes.io/last-applied-configuration": "{}", "team": "web"}
    await kube.create(
        service({"app": "podinfo-v1"}, labels={"app": "podinfo"}, annotations=annotations)
    )
    canary = await canary_of_service(
        kube, service={"port": 9898, "trafficDistribution": "PreferClose"}
    )
    await services_target.initialize(canary)
    target = await get_service(kube, "podinfo")
    for name in ("podinfo-canary", "podinfo-primary"):
        copy = await get_service(kube, name)
        assert copy["spec"]["selector"] == {"app": "podinfo-v1"}
        assert copy["spec"]["ports"] == target["spec"]["ports"]
        assert copy["spec"]["clusterIP"] != target["spec"]["clusterIP"]
        assert copy["spec"]["trafficDistribution"] == "PreferClose"
        assert copy["metadata"]["labels"] == {"app": "podinfo"}
        assert copy["metadata"]["annotations"] == {"team": "web"}
        assert copy["metadata"]["ownerReferences"][0]["uid"] == canary.metadata.uid
    versions = [
        (await get_service(kube, n))["metadata"]["resourceVersion"]
        for n in ("podinfo-canary", "podinfo-primary")
    ]
    await services_target.initialize(canary)
    assert [
        (await get_service(kube, n))["metadata"]["resourceVersion"]
        for n in ("podinfo-canary", "podinfo-primary")
    ] == versions


async def test_a_new_selector_is_a_release_and_promotion_copies_it(
    kube: Kube, services_target: ServiceTarget
) -> None:
    await kube.create(service({"app": "podinfo-v1"}))
    canary = await canary_of_service(kube)
    await services_target.initialize(canary)
    first = await services_target.revision(canary)
    primary_ip = (await get_service(kube, "podinfo-primary"))["spec"]["clusterIP"]
    await kube.patch("v1", "Service", "podinfo", NS, {"spec": {"selector": {"app": "podinfo-v2"}}})
    assert (await services_target.revision(canary)).spec_hash != first.spec_hash
    await services_target.initialize(canary)
    assert (await get_service(kube, "podinfo-canary"))["spec"]["selector"] == {"app": "podinfo-v2"}
    assert (await get_service(kube, "podinfo-primary"))["spec"]["selector"] == {"app": "podinfo-v1"}
    await services_target.promote(canary)
    primary = await get_service(kube, "podinfo-primary")
    assert primary["spec"]["selector"] == {"app": "podinfo-v2"}
    assert primary["spec"]["clusterIP"] == primary_ip


async def test_a_recreated_service_is_not_a_release(
    kube: Kube, services_target: ServiceTarget
) -> None:
    await kube.create(service({"app": "podinfo-v1"}))
    canary = await canary_of_service(kube)
    first = await services_target.revision(canary)
    await kube.delete("v1", "Service", "podinfo", NS)
    await kube.create(service({"app": "podinfo-v1"}))
    assert await services_target.revision(canary) == first


def endpoints(name: str, ready: int) -> dict[str, Any]:
    addresses = [{"ip": f"127.244.9.{i + 1}"} for i in range(ready)]
    subsets = [{"addresses": addresses, "ports": [{"name": "http", "port": 9898}]}] if ready else []
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": NS},
        "subsets": subsets,
    }


async def test_readiness_is_a_ready_pod_behind_the_selector(
    kube: Kube, services_target: ServiceTarget
) -> None:
    await kube.create(service({"app": "podinfo-v2"}))
    canary = await canary_of_service(kube)
    await services_target.initialize(canary)
    await kube.create(endpoints("podinfo-primary", 2))
    await kube.create(endpoints("podinfo-canary", 0))
    assert (await services_target.is_primary_ready(canary)).ready
    found = await services_target.is_canary_ready(canary)
    assert not found.ready
    assert found.retriable
    assert (
        found.message
        == "service podinfo-canary.prod not ready: no ready pod matches its selector app=podinfo-v2"
    )


async def test_a_service_without_selector_is_ready_and_nothing_scales(
    kube: Kube, services_target: ServiceTarget
) -> None:
    await kube.create(service(None))
    canary = await canary_of_service(kube)
    await services_target.initialize(canary)
    assert (await services_target.is_canary_ready(canary)).ready
    before = await get_service(kube, "podinfo")
    await services_target.scale_to_zero(canary)
    await services_target.scale_from_zero(canary)
    await services_target.finalize(canary)
    assert await get_service(kube, "podinfo") == before
    assert not await services_target.promotion_stops_primary(canary)


async def test_a_missing_target_is_named(kube: Kube, services_target: ServiceTarget) -> None:
    canary = await canary_of_service(kube)
    with pytest.raises(NotFoundError, match="Service prod/podinfo not found"):
        await services_target.revision(canary)


def test_the_registry_builds_it(kube: Kube) -> None:
    assert isinstance(target_for("Service", kube, include_label_prefixes=("app",)), ServiceTarget)
