"""StatefulSetTarget against a real API server, the StatefulSet controller's part played by hand.

Covers: initialize creates ``<target>-primary`` with the ``-primary`` selector, the target's claim
templates, serviceName and update strategy (without a partition), owned by the Canary; the revision
covers the pod template and the claim templates, not the replicas; OnDelete and a partition on the
target are refused naming the field; readiness from the StatefulSet's status (generation, pods at
the update revision, ready pods against readyThreshold, a rollout not complete); promote copies the
new image and keeps the primary object, or replaces it (orphaning its pods, keeping its claims)
when the claim templates changed; ``unreadyPods: delete`` deletes the pods that are not ready and
not at the update revision, and nothing else, never a claim; ``scaleFromZero`` scales the primary
to zero with the new template, waits for its pods to stop, scales it back up, and asks for all
traffic on the canary first.
"""

from __future__ import annotations

from typing import Any

import pytest

from serinus.apis.canary import Canary
from serinus.errors import TargetError
from serinus.kube import Kube
from serinus.targets import statefulset as statefulset_module
from serinus.targets.statefulset import RESTORE, StatefulSetTarget
from tests.targets.support import NS, create_canary, deployment, image_of, set_status

APPS = "apps/v1"
CLAIM: dict[str, Any] = {
    "metadata": {"name": "data"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
}
BIGGER = {**CLAIM, "spec": {**CLAIM["spec"], "resources": {"requests": {"storage": "5Gi"}}}}
"""New claim templates, which Kubernetes refuses as an update of a StatefulSet."""


def statefulset(**spec: Any) -> dict[str, Any]:
    found = deployment(kind="StatefulSet", replicas=None)
    found["spec"].update(
        {"replicas": 3, "serviceName": "podinfo-headless", "volumeClaimTemplates": [CLAIM], **spec}
    )
    return found


@pytest.fixture
def statefulsets(kube: Kube) -> StatefulSetTarget:
    return StatefulSetTarget(kube)


async def initialized(kube: Kube, statefulsets: StatefulSetTarget) -> Canary:
    """The podinfo StatefulSet and its Canary, initialized: ``podinfo-primary`` exists."""
    await kube.create(statefulset())
    canary = await create_canary(kube, "StatefulSet")
    await statefulsets.initialize(canary)
    return canary


async def set_new_image(kube: Kube) -> None:
    """The target's container at ``podinfo:6.0.1``: a new revision to promote."""
    container = {"name": "podinfod", "image": "podinfo:6.0.1"}
    patch = {"spec": {"template": {"spec": {"containers": [container]}}}}
    await kube.patch(APPS, "StatefulSet", "podinfo", NS, patch, patch_type="strategic")


async def recreate_with_claims(kube: Kube, claims: list[dict[str, Any]]) -> None:
    """What a user does to change a StatefulSet's claim templates, which Kubernetes refuses to
    update: delete it leaving its pods (``--cascade=orphan``) and create it again."""
    await kube.delete(APPS, "StatefulSet", "podinfo", NS, cascade="orphan")
    await kube.create(statefulset(volumeClaimTemplates=claims))


async def get_sts(kube: Kube, name: str = "podinfo-primary") -> dict[str, Any]:
    found = await kube.get(APPS, "StatefulSet", name, NS)
    assert found is not None
    return found


async def roll_out(
    kube: Kube, name: str, *, revision: str = "rev-1", ready: int | None = None
) -> None:
    obj = await get_sts(kube, name)
    replicas = obj["spec"].get("replicas", 1)
    await set_status(
        kube,
        "StatefulSet",
        name,
        observedGeneration=obj["metadata"]["generation"],
        replicas=replicas,
        readyReplicas=replicas if ready is None else ready,
        updatedReplicas=replicas,
        currentReplicas=replicas,
        currentRevision=revision,
        updateRevision=revision,
    )


async def test_initialize_creates_the_primary_statefulset(
    kube: Kube, statefulsets: StatefulSetTarget
) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
    await kube.create(statefulset(updateStrategy=strategy, podManagementPolicy="OrderedReady"))
    canary = await create_canary(kube, "StatefulSet")
    await statefulsets.initialize(canary)
    primary = await get_sts(kube)
    assert primary["spec"]["selector"] == {"matchLabels": {"app": "podinfo-primary"}}
    assert primary["spec"]["template"]["metadata"]["labels"] == {"app": "podinfo-primary"}
    assert primary["spec"]["volumeClaimTemplates"] == [CLAIM]
    assert primary["spec"]["serviceName"] == "podinfo-headless"
    assert primary["spec"]["replicas"] == 3
    assert primary["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] == 1
    assert primary["metadata"]["ownerReferences"][0]["uid"] == canary.metadata.uid


async def test_revision_covers_template_and_claim_templates(
    kube: Kube, statefulsets: StatefulSetTarget
) -> None:
    await kube.create(statefulset())
    canary = await create_canary(kube, "StatefulSet")
    first = await statefulsets.revision(canary)
    await kube.patch(APPS, "StatefulSet", "podinfo", NS, {"spec": {"replicas": 5}})
    assert await statefulsets.revision(canary) == first
    bigger = {**CLAIM, "spec": {**CLAIM["spec"], "resources": {"requests": {"storage": "2Gi"}}}}
    await recreate_with_claims(kube, [bigger])
    second = await statefulsets.revision(canary)
    assert second.spec_hash != first.spec_hash
    patch = {"spec": {"template": {"metadata": {"annotations": {"restartedAt": "now"}}}}}
    await kube.patch(APPS, "StatefulSet", "podinfo", NS, patch)
    assert (await statefulsets.revision(canary)).spec_hash != second.spec_hash


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        ({"type": "OnDelete"}, "spec.updateStrategy.type must be RollingUpdate, found OnDelete"),
        (
            {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
            "spec.updateStrategy.rollingUpdate.partition must be 0 or unset, found 2",
        ),
    ],
)
async def test_targets_that_would_not_roll_are_refused(
    kube: Kube, statefulsets: StatefulSetTarget, strategy: dict[str, Any], message: str
) -> None:
    await kube.create(statefulset(updateStrategy=strategy))
    canary = await create_canary(kube, "StatefulSet")
    with pytest.raises(TargetError) as caught:
        await statefulsets.initialize(canary)
    assert str(caught.value).startswith(f"StatefulSet prod/podinfo: {message}")
    assert not caught.value.is_retriable


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ({"observedGeneration": 0}, "observed statefulset generation less than desired generation"),
        ({"updatedReplicas": 2, "updateRevision": "r2"}, "2 out of 3 pods are at revision r2"),
        ({"readyReplicas": 1}, "1 of 3 (readyThreshold 100%) pods are ready"),
        (
            {"currentRevision": "r1", "updateRevision": "r2"},
            "statefulset rolling update to revision r2 is not complete",
        ),
    ],
)
async def test_readiness_from_the_status(
    kube: Kube, statefulsets: StatefulSetTarget, status: dict[str, Any], message: str
) -> None:
    canary = await initialized(kube, statefulsets)
    await roll_out(kube, "podinfo-primary")
    assert (await statefulsets.is_primary_ready(canary)).ready
    await set_status(kube, "StatefulSet", "podinfo-primary", **status)
    found = await statefulsets.is_primary_ready(canary)
    assert not found.ready
    assert (
        found.message == f"podinfo-primary.prod not ready: waiting for rollout to finish: {message}"
    )


async def test_promote_keeps_the_primary_object_and_copies_the_image(
    kube: Kube, statefulsets: StatefulSetTarget
) -> None:
    canary = await initialized(kube, statefulsets)
    before = await get_sts(kube)
    await set_new_image(kube)
    await statefulsets.promote(canary)
    after = await get_sts(kube)
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert image_of(after) == "podinfo:6.0.1"
    assert not await statefulsets.promotion_stops_primary(canary)


async def test_new_claim_templates_replace_the_primary_object_and_orphan_its_pods(
    kube: Kube, statefulsets: StatefulSetTarget
) -> None:
    canary = await initialized(kube, statefulsets)
    before = await get_sts(kube)
    await kube.create(pod("podinfo-primary-0", before, revision="rev-1", ready=True))
    await kube.create(claim("data-podinfo-primary-0"))
    await recreate_with_claims(kube, [BIGGER])
    await statefulsets.promote(canary)
    after = await get_sts(kube)
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    assert after["spec"]["volumeClaimTemplates"] == [BIGGER]
    orphan = await kube.get("v1", "Pod", "podinfo-primary-0", NS)
    assert orphan is not None
    assert not orphan["metadata"].get("ownerReferences")
    assert await kube.get("v1", "PersistentVolumeClaim", "data-podinfo-primary-0", NS) is not None


async def test_a_replaced_primary_still_being_deleted_is_waited_for(
    kube: Kube, statefulsets: StatefulSetTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real garbage collector takes a moment to let an orphaning delete's object go (its
    ``orphan`` finalizer); played here by a finalizer of the test's own."""
    monkeypatch.setattr(statefulset_module, "GONE_WAIT_SECONDS", 0.3)
    canary = await initialized(kube, statefulsets)
    hold = {"metadata": {"finalizers": ["example.com/hold"]}}
    await kube.patch(APPS, "StatefulSet", "podinfo-primary", NS, hold)
    before = await get_sts(kube)
    await recreate_with_claims(kube, [BIGGER])
    with pytest.raises(TargetError, match="still being deleted") as caught:
        await statefulsets.promote(canary)
    assert caught.value.is_retriable
    waiting = await get_sts(kube)
    assert waiting["metadata"]["uid"] == before["metadata"]["uid"]
    assert waiting["metadata"]["deletionTimestamp"]
    assert waiting["spec"] == before["spec"], "a primary being deleted was written"
    await kube.patch(APPS, "StatefulSet", "podinfo-primary", NS, {"metadata": {"finalizers": []}})
    await statefulsets.promote(canary)
    after = await get_sts(kube)
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    assert after["spec"]["volumeClaimTemplates"] == [BIGGER]


def pod(name: str, owner: dict[str, Any], *, revision: str, ready: bool) -> dict[str, Any]:
    meta = owner["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": {"app": meta["name"], "controller-revision-hash": revision},
            "ownerReferences": [
                {
                    "apiVersion": APPS,
                    "kind": "StatefulSet",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": {"containers": [{"name": "podinfod", "image": "podinfo"}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def claim(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": NS},
        "spec": CLAIM["spec"],
    }


async def create_pod(kube: Kube, manifest: dict[str, Any]) -> None:
    status = manifest.pop("status")
    await kube.create(manifest)
    await kube.patch_status("v1", "Pod", manifest["metadata"]["name"], NS, {"status": status})


async def test_unready_pods_at_an_old_revision_are_deleted(
    kube: Kube, statefulsets: StatefulSetTarget
) -> None:
    canary = await initialized(kube, statefulsets)
    primary = await get_sts(kube)
    await create_pod(kube, pod("podinfo-primary-2", primary, revision="new", ready=False))
    await create_pod(kube, pod("podinfo-primary-1", primary, revision="old", ready=False))
    await create_pod(kube, pod("podinfo-primary-0", primary, revision="old", ready=True))
    await kube.create(claim("data-podinfo-primary-1"))
    await roll_out(kube, "podinfo-primary", ready=1)
    await set_status(
        kube, "StatefulSet", "podinfo-primary", currentRevision="old", updateRevision="new"
    )
    found = await statefulsets.is_primary_ready(canary)
    assert not found.ready
    left = sorted(p["metadata"]["name"] for p in await kube.list("v1", "Pod", NS))
    assert left == ["podinfo-primary-0", "podinfo-primary-2"]
    assert await kube.get("v1", "PersistentVolumeClaim", "data-podinfo-primary-1", NS) is not None


async def test_scale_from_zero_promotion(kube: Kube, statefulsets: StatefulSetTarget) -> None:
    await kube.create(statefulset())
    canary = await create_canary(kube, "StatefulSet", statefulSet={"unreadyPods": "scaleFromZero"})
    assert await statefulsets.promotion_stops_primary(canary)
    await statefulsets.initialize(canary)
    await roll_out(kube, "podinfo-primary")
    primary = await get_sts(kube)
    await create_pod(kube, pod("podinfo-primary-0", primary, revision="old", ready=False))
    await set_new_image(kube)
    await statefulsets.promote(canary)
    promoted = await get_sts(kube)
    assert (promoted["spec"]["replicas"], image_of(promoted)) == (0, "podinfo:6.0.1")
    assert promoted["metadata"]["annotations"][RESTORE] == "3"
    await set_status(
        kube,
        "StatefulSet",
        "podinfo-primary",
        observedGeneration=promoted["metadata"]["generation"],
        replicas=1,
    )
    waiting = await statefulsets.is_primary_ready(canary)
    assert (
        waiting.message
        == "podinfo-primary.prod not ready: waiting for its 1 pods at the old revision to stop"
    )
    assert await kube.get("v1", "Pod", "podinfo-primary-0", NS) is not None, (
        "scaleFromZero deletes no pod"
    )
    await set_status(kube, "StatefulSet", "podinfo-primary", replicas=0)
    starting = await statefulsets.is_primary_ready(canary)
    assert starting.message == "podinfo-primary.prod not ready: starting 3 pods from zero"
    restored = await get_sts(kube)
    assert restored["spec"]["replicas"] == 3
    assert RESTORE not in (restored["metadata"].get("annotations") or {})
    await roll_out(kube, "podinfo-primary", revision="new")
    assert (await statefulsets.is_primary_ready(canary)).ready
