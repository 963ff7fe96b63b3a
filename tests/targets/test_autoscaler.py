"""Autoscalers of a Deployment target (HPA autoscaling/v2, KEDA ScaledObject) on a real API server.

Covers: initialize creates ``<hpa>-primary`` scaling ``<target>-primary`` (owned by the Canary,
bounds from ``primaryScalerReplicas`` when given) and keeps it in line with the target's HPA
without rewriting it when nothing changed; promote updates it; scale to zero leaves the target's
HPA untouched; scale from zero uses the HPA's minReplicas when above one, else 1; a missing HPA
is an error naming it; a KEDA ScaledObject gets a primary copy with trigger queries naming the
primary (or taken from ``primaryScalerQueries``) and is paused with
``autoscaling.keda.sh/paused-replicas: "0"`` while the target is at zero and resumed after;
an unknown autoscaler kind is refused.
"""

from __future__ import annotations

from typing import Any

import pytest

from serinus.errors import NotFoundError, UnknownProviderError
from serinus.kube import Kube
from serinus.targets.deployment import DeploymentTarget
from tests.targets.support import NS, create_canary, deployment, get, hpa, scaled_object_crd

HPA_REF = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": "podinfo"}
KEDA_REF = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": "podinfo"}


async def test_initialize_creates_a_primary_hpa_for_the_primary(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment())
    await kube.create(hpa(min_replicas=2, max_replicas=4))
    canary = await create_canary(kube, autoscalerRef=HPA_REF)
    await deployments.initialize(canary)

    primary = await get(kube, "HorizontalPodAutoscaler", "podinfo-primary")
    assert primary["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "podinfo-primary",
    }
    assert (primary["spec"]["minReplicas"], primary["spec"]["maxReplicas"]) == (2, 4)
    assert primary["spec"]["metrics"] == hpa()["spec"]["metrics"]
    assert primary["metadata"]["labels"] == {"team": "web"}
    assert primary["metadata"]["ownerReferences"][0]["uid"] == canary.metadata.uid
    target_hpa = await get(kube, "HorizontalPodAutoscaler", "podinfo")
    assert target_hpa["spec"]["scaleTargetRef"]["name"] == "podinfo"  # untouched

    version = primary["metadata"]["resourceVersion"]
    await deployments.initialize(canary)  # nothing changed: nothing written
    again = await get(kube, "HorizontalPodAutoscaler", "podinfo-primary")
    assert again["metadata"]["resourceVersion"] == version


async def test_the_primary_hpa_follows_changes_of_the_target_hpa(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment())
    await kube.create(hpa(max_replicas=4))
    canary = await create_canary(kube, autoscalerRef=HPA_REF)
    await deployments.initialize(canary)
    await kube.patch(
        "autoscaling/v2", "HorizontalPodAutoscaler", "podinfo", NS, {"spec": {"maxReplicas": 8}}
    )
    await deployments.promote(canary)
    assert (await get(kube, "HorizontalPodAutoscaler", "podinfo-primary"))["spec"][
        "maxReplicas"
    ] == 8
    await kube.patch(
        "autoscaling/v2", "HorizontalPodAutoscaler", "podinfo", NS, {"spec": {"maxReplicas": 6}}
    )
    await deployments.initialize(canary)  # no need to wait for a release
    assert (await get(kube, "HorizontalPodAutoscaler", "podinfo-primary"))["spec"][
        "maxReplicas"
    ] == 6


async def test_primary_scaler_replicas_bound_the_primary_hpa(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment())
    await kube.create(hpa(min_replicas=2, max_replicas=4))
    ref = {**HPA_REF, "primaryScalerReplicas": {"minReplicas": 3, "maxReplicas": 10}}
    canary = await create_canary(kube, autoscalerRef=ref)
    await deployments.initialize(canary)
    spec = (await get(kube, "HorizontalPodAutoscaler", "podinfo-primary"))["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 10)


@pytest.mark.parametrize(("min_replicas", "expected"), [(3, 3), (1, 1)])
async def test_scale_from_zero_with_an_hpa_uses_its_minimum_above_one(
    kube: Kube, deployments: DeploymentTarget, min_replicas: int, expected: int
) -> None:
    await kube.create(deployment(replicas=2))
    await kube.create(hpa(min_replicas=min_replicas, max_replicas=6))
    canary = await create_canary(kube, autoscalerRef=HPA_REF)
    await deployments.initialize(canary)
    await deployments.scale_to_zero(canary)
    assert (await get(kube, "Deployment", "podinfo"))["spec"]["replicas"] == 0
    target_hpa = await get(kube, "HorizontalPodAutoscaler", "podinfo")
    assert target_hpa["metadata"]["generation"] == 1  # the target's HPA is never edited
    await deployments.scale_from_zero(canary)
    assert (await get(kube, "Deployment", "podinfo"))["spec"]["replicas"] == expected


async def test_a_missing_hpa_is_named(kube: Kube, deployments: DeploymentTarget) -> None:
    await kube.create(deployment())
    canary = await create_canary(kube, autoscalerRef=HPA_REF)
    with pytest.raises(NotFoundError, match=r"^HorizontalPodAutoscaler prod/podinfo not found$"):
        await deployments.initialize(canary)


def scaled_object() -> dict[str, Any]:
    query = 'sum(rate(http_requests_total{deployment="podinfo"}[1m]))'
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "podinfo", "namespace": NS},
        "spec": {
            "scaleTargetRef": {"name": "podinfo"},
            "minReplicaCount": 2,
            "maxReplicaCount": 5,
            "triggers": [
                {
                    "type": "prometheus",
                    "name": "requests",
                    "metadata": {"serverAddress": "http://prometheus:9090", "query": query},
                },
                {
                    "type": "prometheus",
                    "name": "latency",
                    "metadata": {"serverAddress": "http://prometheus:9090", "query": query},
                },
            ],
        },
    }


async def test_a_scaled_object_gets_a_primary_copy_and_is_paused_at_zero(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(scaled_object_crd())
    await kube.create(deployment(replicas=2))
    await kube.create(scaled_object())
    ref = {**KEDA_REF, "primaryScalerQueries": {"latency": "vector(1)"}}
    canary = await create_canary(kube, autoscalerRef=ref)
    await deployments.initialize(canary)

    primary = await get(kube, "ScaledObject", "podinfo-primary")
    assert primary["spec"]["scaleTargetRef"] == {"name": "podinfo-primary"}
    requests, latency = primary["spec"]["triggers"]
    assert requests["metadata"]["query"] == (
        'sum(rate(http_requests_total{deployment="podinfo-primary"}[1m]))'
    )
    assert latency["metadata"]["query"] == "vector(1)"

    await deployments.scale_to_zero(canary)
    paused = await get(kube, "ScaledObject", "podinfo")
    assert paused["metadata"]["annotations"] == {"autoscaling.keda.sh/paused-replicas": "0"}
    assert (await get(kube, "Deployment", "podinfo"))["spec"]["replicas"] == 0
    # the pause annotation is the target's own state, not copied to the primary
    await deployments.initialize(canary)
    primary = await get(kube, "ScaledObject", "podinfo-primary")
    assert "autoscaling.keda.sh/paused-replicas" not in (
        primary["metadata"].get("annotations") or {}
    )

    await deployments.scale_from_zero(canary)
    resumed = await get(kube, "ScaledObject", "podinfo")
    assert "autoscaling.keda.sh/paused-replicas" not in (
        resumed["metadata"].get("annotations") or {}
    )
    assert (await get(kube, "Deployment", "podinfo"))["spec"]["replicas"] == 2  # minReplicaCount


async def test_an_unknown_autoscaler_kind_is_refused(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment())
    canary = await create_canary(
        kube, autoscalerRef={"apiVersion": "x/v1", "kind": "VerticalPodAutoscaler", "name": "p"}
    )
    with pytest.raises(UnknownProviderError, match="autoscaler kind VerticalPodAutoscaler"):
        await deployments.initialize(canary)
