"""DeploymentTarget against a real API server.

Covers: initialize creates ``<target>-primary`` (name, labels filtered by include prefixes, Flux
metadata dropped, selector and pod labels with ``-primary``, a ``flagger-id`` UUID, the Canary
as controlling owner, the target's replicas or 1) once, leaving an existing primary alone;
deleting the Canary deletes the primary; a target without a selector label and a missing target
are errors that name what is wrong; readiness messages of the primary and the canary; promote
copies the image, env, rollout settings and metadata and rolls the pods with a new flagger-id;
replicas are copied on promotion only without an autoscaler; scale to zero and from zero (own
replicas, the primary's, 1); finalize gives the target the primary's replicas back, and says
when the target is gone.
"""

from __future__ import annotations

import uuid

import pytest

from serinus.errors import NotFoundError, TargetError, TargetNotFoundError
from serinus.kube import Kube
from serinus.targets.deployment import DeploymentTarget
from tests.targets.support import (
    create_canary,
    deployment,
    get,
    hpa,
    image_of,
    roll_out,
    set_status,
)


async def test_initialize_creates_the_primary_as_a_copy_of_the_target(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(
        deployment(
            replicas=3,
            labels={"app": "podinfo", "team": "web", "kustomize.toolkit.fluxcd.io/name": "apps"},
            annotations={"owner": "web", "kustomize.toolkit.fluxcd.io/checksum": "abc"},
            pod_annotations={"prometheus.io/scrape": "true"},
        )
    )
    canary = await create_canary(kube)
    await deployments.initialize(canary)

    primary = await get(kube, "Deployment", "podinfo-primary")
    meta = primary["metadata"]
    assert meta["labels"] == {"app": "podinfo-primary", "team": "web"}
    assert meta["annotations"] == {"owner": "web"}
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "Canary",
            "name": "podinfo",
            "uid": canary.metadata.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    spec = primary["spec"]
    assert spec["replicas"] == 3
    assert spec["selector"] == {"matchLabels": {"app": "podinfo-primary"}}
    template = spec["template"]
    assert template["metadata"]["labels"] == {"app": "podinfo-primary"}
    assert template["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert uuid.UUID(template["metadata"]["annotations"]["flagger-id"]).version == 4
    assert image_of(primary) == "ghcr.io/stefanprodan/podinfo:6.0.0"
    assert spec["progressDeadlineSeconds"] == 600  # rollout settings come along
    target = await get(kube, "Deployment", "podinfo")
    assert target["spec"]["replicas"] == 3  # the target is scaled down later, by the controller


async def test_include_label_prefixes_choose_the_copied_metadata(kube: Kube) -> None:
    await kube.create(
        deployment(
            labels={"app": "podinfo", "team": "web", "cost-center": "42"},
            annotations={"team/owner": "web", "other": "x"},
        )
    )
    canary = await create_canary(kube)
    await DeploymentTarget(kube, include_label_prefixes=("team",)).initialize(canary)
    meta = (await get(kube, "Deployment", "podinfo-primary"))["metadata"]
    assert meta["labels"] == {"team": "web", "app": "podinfo-primary"}
    assert meta["annotations"] == {"team/owner": "web"}


async def test_the_primary_gets_one_replica_when_the_target_has_none(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment(replicas=0))
    canary = await create_canary(kube)
    await deployments.initialize(canary)
    assert (await get(kube, "Deployment", "podinfo-primary"))["spec"]["replicas"] == 1


async def test_initialize_leaves_an_existing_primary_alone(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment())
    canary = await create_canary(kube)
    await deployments.initialize(canary)
    first = await get(kube, "Deployment", "podinfo-primary")
    await kube.patch(
        "apps/v1",
        "Deployment",
        "podinfo",
        "prod",
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "podinfod", "image": "ghcr.io/stefanprodan/podinfo:6.0.1"}
                        ]
                    }
                }
            }
        },
        patch_type="strategic",
    )
    await deployments.initialize(canary)
    again = await get(kube, "Deployment", "podinfo-primary")
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert image_of(again) == "ghcr.io/stefanprodan/podinfo:6.0.0"


async def test_deleting_the_canary_deletes_the_primary(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment())
    canary = await create_canary(kube)
    await deployments.initialize(canary)
    await kube.delete("flagger.app/v1beta1", "Canary", "podinfo", "prod")
    assert await kube.get("apps/v1", "Deployment", "podinfo-primary", "prod") is None
    assert await kube.get("apps/v1", "Deployment", "podinfo", "prod") is not None


async def test_a_target_without_a_selector_label_is_refused_naming_the_labels(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment(selector={"component": "web"}))
    canary = await create_canary(kube)
    with pytest.raises(TargetError) as caught:
        await deployments.initialize(canary)
    assert str(caught.value) == (
        "Deployment prod/podinfo: spec.selector.matchLabels must contain one of app, name, "
        "app.kubernetes.io/name, found {'component': 'web'}"
    )
    assert not caught.value.is_retriable
    assert await kube.get("apps/v1", "Deployment", "podinfo-primary", "prod") is None


async def test_custom_selector_labels_are_honoured(kube: Kube) -> None:
    await kube.create(deployment(selector={"component": "web"}))
    canary = await create_canary(kube)
    await DeploymentTarget(kube, selector_labels=("component",)).initialize(canary)
    primary = await get(kube, "Deployment", "podinfo-primary")
    assert primary["spec"]["selector"]["matchLabels"] == {"component": "web-primary"}


async def test_a_missing_target_is_not_found_by_name(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    canary = await create_canary(kube)
    with pytest.raises(NotFoundError, match=r"^Deployment prod/podinfo not found$"):
        await deployments.initialize(canary)
    with pytest.raises(NotFoundError, match=r"^Deployment prod/podinfo not found$"):
        await deployments.revision(canary)


async def test_primary_readiness_follows_its_rollout(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment(replicas=2))
    canary = await create_canary(kube)
    await deployments.initialize(canary)
    waiting = await deployments.is_primary_ready(canary)
    assert not waiting.ready
    assert waiting.retriable
    assert waiting.message == (
        "podinfo-primary.prod not ready: waiting for rollout to finish: "
        "observed deployment generation less than desired generation"
    )
    await set_status(
        kube,
        "Deployment",
        "podinfo-primary",
        observedGeneration=1,
        replicas=2,
        updatedReplicas=1,
        availableReplicas=1,
    )
    assert (await deployments.is_primary_ready(canary)).message == (
        "podinfo-primary.prod not ready: waiting for rollout to finish: "
        "1 out of 2 new replicas have been updated"
    )
    await roll_out(kube, "podinfo-primary")
    assert (await deployments.is_primary_ready(canary)).ready


async def test_canary_readiness_reports_a_stuck_rollout_as_final(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment(replicas=2))
    canary = await create_canary(kube)
    await set_status(
        kube,
        "Deployment",
        "podinfo",
        observedGeneration=1,
        replicas=2,
        updatedReplicas=2,
        availableReplicas=0,
        conditions=[
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
        ],
    )
    stuck = await deployments.is_canary_ready(canary)
    assert (stuck.ready, stuck.retriable) == (False, False)
    assert stuck.message == (
        'canary deployment podinfo.prod not ready: deployment "podinfo" exceeded its '
        "progress deadline"
    )


async def test_promote_copies_the_target_and_rolls_the_primary(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment(replicas=2, labels={"app": "podinfo"}))
    canary = await create_canary(kube)
    await deployments.initialize(canary)
    before = await get(kube, "Deployment", "podinfo-primary")

    target = await get(kube, "Deployment", "podinfo")
    target["metadata"]["labels"]["release"] = "6.0.1"
    target["spec"]["replicas"] = 4
    target["spec"]["minReadySeconds"] = 5
    pod = target["spec"]["template"]["spec"]["containers"][0]
    pod["image"] = "ghcr.io/stefanprodan/podinfo:6.0.1"
    pod["env"] = [{"name": "PODINFO_UI_COLOR", "value": "#34577c"}]
    await kube.replace(target)
    await deployments.promote(canary)

    after = await get(kube, "Deployment", "podinfo-primary")
    assert image_of(after) == "ghcr.io/stefanprodan/podinfo:6.0.1"
    assert after["spec"]["template"]["spec"]["containers"][0]["env"] == pod["env"]
    assert after["spec"]["minReadySeconds"] == 5
    assert after["spec"]["replicas"] == 4
    assert after["metadata"]["labels"] == {"app": "podinfo-primary", "release": "6.0.1"}
    assert after["spec"]["template"]["metadata"]["labels"] == {"app": "podinfo-primary"}
    old_id = before["spec"]["template"]["metadata"]["annotations"]["flagger-id"]
    new_id = after["spec"]["template"]["metadata"]["annotations"]["flagger-id"]
    assert new_id != old_id
    assert after["metadata"]["generation"] > before["metadata"]["generation"]


async def test_promote_keeps_the_primary_replicas_when_an_autoscaler_decides_them(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment(replicas=2))
    await kube.create(hpa())
    canary = await create_canary(
        kube,
        autoscalerRef={
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "name": "podinfo",
        },
    )
    await deployments.initialize(canary)
    await kube.patch("apps/v1", "Deployment", "podinfo-primary", "prod", {"spec": {"replicas": 3}})
    await kube.patch("apps/v1", "Deployment", "podinfo", "prod", {"spec": {"replicas": 1}})
    await deployments.promote(canary)
    assert (await get(kube, "Deployment", "podinfo-primary"))["spec"]["replicas"] == 3


async def test_scale_to_zero_and_back_to_the_targets_own_replicas(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment(replicas=3))
    canary = await create_canary(kube)
    await deployments.initialize(canary)
    await deployments.scale_to_zero(canary)
    assert (await get(kube, "Deployment", "podinfo"))["spec"]["replicas"] == 0
    version = (await get(kube, "Deployment", "podinfo"))["metadata"]["resourceVersion"]
    await deployments.scale_to_zero(canary)  # nothing left to do: nothing written
    assert (await get(kube, "Deployment", "podinfo"))["metadata"]["resourceVersion"] == version

    await deployments.scale_from_zero(canary)  # the primary has 3
    assert (await get(kube, "Deployment", "podinfo"))["spec"]["replicas"] == 3
    await kube.patch("apps/v1", "Deployment", "podinfo", "prod", {"spec": {"replicas": 5}})
    await deployments.scale_from_zero(canary)
    assert (await get(kube, "Deployment", "podinfo"))["spec"]["replicas"] == 5


async def test_scale_from_zero_falls_back_to_one_replica(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment(replicas=0))
    canary = await create_canary(kube)
    await deployments.scale_from_zero(canary)  # no primary yet either
    assert (await get(kube, "Deployment", "podinfo"))["spec"]["replicas"] == 1


async def test_finalize_gives_the_target_the_primary_replicas(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment(replicas=2))
    canary = await create_canary(kube, revertOnDeletion=True)
    await deployments.initialize(canary)
    await deployments.scale_to_zero(canary)
    await kube.patch("apps/v1", "Deployment", "podinfo-primary", "prod", {"spec": {"replicas": 4}})
    await deployments.finalize(canary)
    assert (await get(kube, "Deployment", "podinfo"))["spec"]["replicas"] == 4
    await deployments.finalize(canary)  # idempotent
    assert (await get(kube, "Deployment", "podinfo"))["spec"]["replicas"] == 4


async def test_finalize_without_a_primary_scales_the_target_up(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment(replicas=0))
    canary = await create_canary(kube, revertOnDeletion=True)
    await deployments.finalize(canary)
    assert (await get(kube, "Deployment", "podinfo"))["spec"]["replicas"] == 1


async def test_finalize_of_a_deleted_target_says_it_is_gone(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    canary = await create_canary(kube, revertOnDeletion=True)
    with pytest.raises(TargetNotFoundError, match=r"^Deployment prod/podinfo not found$"):
        await deployments.finalize(canary)
    assert await kube.get("apps/v1", "Deployment", "podinfo", "prod") is None
