"""DaemonSetTarget against a real API server.

Covers: initialize creates ``<target>-primary`` with ``-primary`` selector and pod labels, the
rollout settings and a flagger-id, owned by the Canary; scale to zero is the node selector
``flagger.app/scale-to-zero: "true"`` on the target, and scaling from zero removes it; neither
changes the revision, and the primary never gets the selector; readiness from the DaemonSet's
status (generation, updated and available pods, readyThreshold); promote copies the new image
and rolls the primary; finalize brings the target's pods back; an OnDelete strategy and an
autoscalerRef are refused.
"""

from __future__ import annotations

import pytest

from serinus.errors import TargetError
from serinus.kube import Kube
from serinus.targets.daemonset import DaemonSetTarget
from tests.targets.support import create_canary, daemonset, get, image_of, roll_out, set_status

SELECTOR = "flagger.app/scale-to-zero"


def node_selector(workload: dict[str, object]) -> dict[str, str]:
    spec = workload["spec"]["template"]["spec"]  # type: ignore[index]
    return dict(spec.get("nodeSelector") or {})


async def test_initialize_creates_the_primary_daemonset(
    kube: Kube, daemonsets: DaemonSetTarget
) -> None:
    await kube.create(daemonset(pod_spec={"nodeSelector": {"disk": "ssd"}}))
    canary = await create_canary(kube, "DaemonSet")
    await daemonsets.initialize(canary)
    primary = await get(kube, "DaemonSet", "podinfo-primary")
    assert primary["spec"]["selector"] == {"matchLabels": {"app": "podinfo-primary"}}
    assert primary["spec"]["template"]["metadata"]["labels"] == {"app": "podinfo-primary"}
    assert "flagger-id" in primary["spec"]["template"]["metadata"]["annotations"]
    assert primary["spec"]["updateStrategy"]["type"] == "RollingUpdate"
    assert primary["metadata"]["ownerReferences"][0]["uid"] == canary.metadata.uid
    assert node_selector(primary) == {"disk": "ssd"}


async def test_scaling_is_a_node_selector_and_not_a_new_revision(
    kube: Kube, daemonsets: DaemonSetTarget
) -> None:
    await kube.create(daemonset(pod_spec={"nodeSelector": {"disk": "ssd"}}))
    canary = await create_canary(kube, "DaemonSet")
    await daemonsets.initialize(canary)
    before = await daemonsets.revision(canary)

    await daemonsets.scale_to_zero(canary)
    assert node_selector(await get(kube, "DaemonSet", "podinfo")) == {
        "disk": "ssd",
        SELECTOR: "true",
    }
    assert await daemonsets.revision(canary) == before
    await roll_out(kube, kind="DaemonSet")  # no node matches: nothing scheduled
    assert (await daemonsets.is_canary_ready(canary)).ready

    await daemonsets.promote(canary)  # the primary never gets the selector
    assert node_selector(await get(kube, "DaemonSet", "podinfo-primary")) == {"disk": "ssd"}

    await daemonsets.scale_from_zero(canary)
    assert node_selector(await get(kube, "DaemonSet", "podinfo")) == {"disk": "ssd"}
    assert await daemonsets.revision(canary) == before


async def test_a_daemonset_without_node_selector_hashes_the_same_after_scaling(
    kube: Kube, daemonsets: DaemonSetTarget
) -> None:
    await kube.create(daemonset())
    canary = await create_canary(kube, "DaemonSet")
    before = await daemonsets.revision(canary)
    await daemonsets.scale_to_zero(canary)
    await daemonsets.scale_from_zero(canary)  # leaves an empty nodeSelector behind
    assert await daemonsets.revision(canary) == before


async def test_readiness_follows_the_daemon_pods(kube: Kube, daemonsets: DaemonSetTarget) -> None:
    await kube.create(daemonset())
    canary = await create_canary(
        kube,
        "DaemonSet",
        analysis={"interval": "10s", "threshold": 2, "stepWeight": 50, "canaryReadyThreshold": 50},
    )
    await daemonsets.initialize(canary)
    assert (await daemonsets.is_primary_ready(canary)).message == (
        "primary daemonset podinfo-primary.prod not ready: waiting for rollout to finish: "
        "observed daemonset generation less than desired generation"
    )
    await set_status(
        kube,
        "DaemonSet",
        "podinfo",
        observedGeneration=1,
        desiredNumberScheduled=4,
        updatedNumberScheduled=3,
        numberAvailable=3,
    )
    assert (await daemonsets.is_canary_ready(canary)).message == (
        "canary daemonset podinfo.prod not ready: waiting for rollout to finish: "
        "3 out of 4 new pods have been updated"
    )
    await set_status(
        kube,
        "DaemonSet",
        "podinfo",
        updatedNumberScheduled=4,
        numberAvailable=1,
        numberUnavailable=3,
    )
    assert (await daemonsets.is_canary_ready(canary)).message == (
        "canary daemonset podinfo.prod not ready: waiting for rollout to finish: "
        "1 of 2 (readyThreshold 50%) updated pods are available (3 unavailable)"
    )
    await set_status(kube, "DaemonSet", "podinfo", numberAvailable=2, numberUnavailable=2)
    assert (await daemonsets.is_canary_ready(canary)).ready  # 2 of 4 is 50%


async def test_promote_rolls_the_primary_to_the_new_image(
    kube: Kube, daemonsets: DaemonSetTarget
) -> None:
    await kube.create(daemonset())
    canary = await create_canary(kube, "DaemonSet")
    await daemonsets.initialize(canary)
    before = await get(kube, "DaemonSet", "podinfo-primary")
    target = await get(kube, "DaemonSet", "podinfo")
    target["spec"]["template"]["spec"]["containers"][0]["image"] = "podinfo:6.0.1"
    target["spec"]["minReadySeconds"] = 3
    await kube.replace(target)
    await daemonsets.promote(canary)
    after = await get(kube, "DaemonSet", "podinfo-primary")
    assert image_of(after) == "podinfo:6.0.1"
    assert after["spec"]["minReadySeconds"] == 3
    old_id = before["spec"]["template"]["metadata"]["annotations"]["flagger-id"]
    assert after["spec"]["template"]["metadata"]["annotations"]["flagger-id"] != old_id


async def test_finalize_brings_the_target_back(kube: Kube, daemonsets: DaemonSetTarget) -> None:
    await kube.create(daemonset())
    canary = await create_canary(kube, "DaemonSet", revertOnDeletion=True)
    await daemonsets.initialize(canary)
    await daemonsets.scale_to_zero(canary)
    await daemonsets.finalize(canary)
    assert SELECTOR not in node_selector(await get(kube, "DaemonSet", "podinfo"))


async def test_an_on_delete_strategy_is_refused(kube: Kube, daemonsets: DaemonSetTarget) -> None:
    manifest = daemonset()
    manifest["spec"]["updateStrategy"] = {"type": "OnDelete"}
    await kube.create(manifest)
    canary = await create_canary(kube, "DaemonSet")
    with pytest.raises(TargetError) as caught:
        await daemonsets.initialize(canary)
    assert str(caught.value) == (
        "DaemonSet prod/podinfo: spec.updateStrategy.type must be RollingUpdate, found OnDelete"
    )
    assert await kube.get("apps/v1", "DaemonSet", "podinfo-primary", "prod") is None


async def test_an_autoscaler_is_refused(kube: Kube, daemonsets: DaemonSetTarget) -> None:
    await kube.create(daemonset())
    canary = await create_canary(
        kube, "DaemonSet", autoscalerRef={"kind": "HorizontalPodAutoscaler", "name": "podinfo"}
    )
    with pytest.raises(TargetError, match=r"spec\.autoscalerRef must be empty for a DaemonSet"):
        await daemonsets.initialize(canary)
