"""The revertOnDeletion finalizer on a Canary, against a real API server.

Covers: sync adds ``finalizer.flagger.app`` when revertOnDeletion is set and removes it when it
is turned off, keeping other finalizers and writing nothing when nothing changes; a deleted
Canary waits for the finalizer (the primary is still there, so the target can be reverted) and
goes, with what it owns, once remove takes it off.
"""

from __future__ import annotations

from serinus.apis.canary import Canary
from serinus.kube import Kube
from serinus.targets import finalizer
from serinus.targets.deployment import DeploymentTarget
from tests.targets.support import NS, create_canary, deployment, get

CANARY = ("flagger.app/v1beta1", "Canary", "podinfo", NS)


async def read(kube: Kube) -> Canary:
    found = await kube.get(*CANARY)
    assert found is not None
    return Canary.model_validate(found)


async def test_sync_follows_revert_on_deletion(kube: Kube) -> None:
    canary = await create_canary(kube, revertOnDeletion=True)
    await finalizer.sync(kube, canary)
    canary = await read(kube)
    assert canary.metadata.finalizers == ["finalizer.flagger.app"]
    version = canary.metadata.resource_version
    await finalizer.sync(kube, canary)
    assert (await read(kube)).metadata.resource_version == version

    await kube.patch(
        *CANARY,
        {"metadata": {"finalizers": ["example.com/keep", *(canary.metadata.finalizers or [])]}},
    )
    await kube.patch(*CANARY, {"spec": {"revertOnDeletion": False}})
    await finalizer.sync(kube, await read(kube))
    assert (await read(kube)).metadata.finalizers == ["example.com/keep"]


async def test_a_deleted_canary_waits_for_the_revert(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment(replicas=2))
    canary = await create_canary(kube, revertOnDeletion=True)
    await finalizer.sync(kube, canary)
    await deployments.initialize(canary)
    await deployments.scale_to_zero(canary)

    await kube.delete(*CANARY)
    terminating = await read(kube)
    assert finalizer.is_terminating(terminating)
    await finalizer.sync(kube, terminating)  # never removed by sync while terminating
    assert finalizer.has_finalizer(await read(kube))

    await deployments.finalize(terminating)
    await finalizer.remove(kube, terminating)
    assert await kube.get(*CANARY) is None
    assert await kube.get("apps/v1", "Deployment", "podinfo-primary", NS) is None
    assert (await get(kube, "Deployment", "podinfo"))["spec"]["replicas"] == 2
