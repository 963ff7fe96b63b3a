"""Whose workload is it (issue 10, row 3), against a real API server.

Covers: a Canary's own target and primary pass; a target that is another Canary's primary, or
that any controller owns, is refused naming the owner; a primary that another Canary owns (a
second Canary on the same target) or that nobody owns (somebody's workload named
``<target>-primary``) is refused; ``registry.refusal`` reads both, answers None for a missing
target; ``initialize`` refuses with a permanent TargetError and writes
nothing: no ``app1-primary-primary``, the other primary's replicas untouched.
"""

from __future__ import annotations

from typing import Any

import pytest

from serinus.apis.canary import Canary
from serinus.errors import TargetError, is_retriable
from serinus.kube import Kube
from serinus.targets import registry
from serinus.targets.deployment import DeploymentTarget
from tests.support import manifests
from tests.targets.support import canary_manifest, create_canary, deployment, get


async def canary_named(kube: Kube, name: str, target: str) -> Canary:
    manifest = canary_manifest(name=target)
    manifest["metadata"]["name"] = name
    return Canary.model_validate(await kube.create(manifest))


def owned_by(manifest: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    manifest["metadata"]["ownerReferences"] = [
        {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "controller": True,
        }
    ]
    return manifest


async def test_a_canarys_own_target_and_primary_pass(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment())
    canary = await create_canary(kube)
    assert await registry.refusal(kube, canary) is None
    await deployments.initialize(canary)
    assert await registry.refusal(kube, canary) is None


async def test_another_canarys_primary_is_refused_and_left_alone(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment("app1"))
    app1 = await canary_named(kube, "app1", "app1")
    await deployments.initialize(app1)
    thief = await canary_named(kube, "thief", "app1-primary")

    reason = await registry.refusal(kube, thief)
    assert reason == (
        "spec.targetRef: Deployment prod/app1-primary is the primary copy that Canary prod/app1 "
        "keeps; a Canary releases the workload people deploy, so point spec.targetRef at that "
        "Canary's own target, or leave this workload to it"
    )
    with pytest.raises(TargetError) as caught:
        await deployments.initialize(thief)
    assert str(caught.value) == reason
    assert not is_retriable(caught.value)
    assert await kube.get("apps/v1", "Deployment", "app1-primary-primary", "prod") is None
    assert (await get(kube, "Deployment", "app1-primary"))["spec"]["replicas"] == 2


async def test_a_second_canary_on_the_same_target_is_refused(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment("app1"))
    await deployments.initialize(await canary_named(kube, "app1", "app1"))
    twin = await canary_named(kube, "twin", "app1")
    assert await registry.refusal(kube, twin) == (
        "spec.targetRef: Deployment prod/app1 is already released by Canary prod/app1, which "
        "owns Deployment prod/app1-primary; a workload can have one Canary only"
    )
    with pytest.raises(TargetError, match="already released by Canary prod/app1"):
        await deployments.initialize(twin)


async def test_a_target_another_controller_keeps_is_refused(kube: Kube) -> None:
    owner = await kube.create(manifests.configmap("web-app"))  # stands for any controller
    await kube.create(owned_by(deployment("web"), owner))
    canary = await canary_named(kube, "web", "web")
    assert await registry.refusal(kube, canary) == (
        "spec.targetRef: Deployment prod/web is controlled by ConfigMap prod/web-app (its "
        "ownerReferences); serinus releases only workloads that no other controller keeps"
    )


async def test_a_primary_nobody_owns_is_refused(kube: Kube) -> None:
    await kube.create(deployment("shop"))
    await kube.create(deployment("shop-primary"))  # somebody's own workload
    canary = await canary_named(kube, "shop", "shop")
    reason = await registry.refusal(kube, canary)
    assert reason is not None
    assert reason.startswith(
        "spec.targetRef: Deployment prod/shop-primary exists and is not owned by this Canary"
    )


async def test_nothing_to_say_without_a_target(kube: Kube) -> None:
    assert await registry.refusal(kube, await canary_named(kube, "ghost", "ghost")) is None


async def test_a_service_target_that_is_another_canarys_primary_is_refused(kube: Kube) -> None:
    app1 = await canary_named(kube, "app1", "app1")
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "app1-primary", "namespace": "prod"},
        "spec": {"selector": {"app": "app1-primary"}, "ports": [{"port": 80}]},
    }
    await kube.create(owned_by(service, app1.model_dump(by_alias=True, mode="json")))
    manifest = canary_manifest(name="app1-primary")
    manifest["metadata"]["name"] = "thief"
    manifest["spec"]["targetRef"] = {"apiVersion": "v1", "kind": "Service", "name": "app1-primary"}
    thief = Canary.model_validate(await kube.create(manifest))
    reason = await registry.refusal(kube, thief)
    assert reason is not None
    assert reason.startswith("spec.targetRef: Service prod/app1-primary is the primary copy")
