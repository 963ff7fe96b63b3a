"""A whole release through the real state machine with DeploymentTarget on a real API server.

``serinus.controller.advance`` ticks one Canary whose target port is :class:`DeploymentTarget`
talking to the local API server over HTTP; the router, metrics, webhooks, notifier, events and
status store are the in-memory ports. The test plays the kubelet by writing Deployment status.

Covers: initialization waits for the primary's rollout, then scales the target to zero; a new
image starts a run that scales the target back up to the primary's replicas; the analysis moves
the weight, the canary's template is copied to the primary (new image, new flagger-id), the run
waits for the primary's rollout, then finishes with the primary on the new image, the target at
zero and the Canary Succeeded with the new revision promoted.
"""

from __future__ import annotations

import dataclasses

from serinus.apis.status import CanaryPhase, CanaryStatus
from serinus.controller.advance import advance
from serinus.controller.memory import MemoryStore, MemoryWorld
from serinus.kube import Kube
from serinus.targets.deployment import DeploymentTarget
from tests.targets.support import NS, create_canary, deployment, get, image_of, roll_out

NEW_IMAGE = "ghcr.io/stefanprodan/podinfo:6.0.1"


class Release:
    """One Canary ticked by the real controller, its target port backed by the API server."""

    def __init__(self, kube: Kube, world: MemoryWorld, target: DeploymentTarget) -> None:
        self.kube = kube
        self.world = world
        self.ports = dataclasses.replace(world.ports, target=target)

    async def tick(self) -> list[str]:
        before = len(self.world.events.events)
        await advance(self.ports, self.world.store.stored(NS, "podinfo"))
        self.world.clock.advance(10)
        return [event.message for event in self.world.events.events[before:]]

    @property
    def status(self) -> CanaryStatus:
        return self.world.store.status(NS, "podinfo")

    def phase(self) -> CanaryPhase | None:
        return self.status.phase


async def test_a_new_image_is_released_to_the_primary(kube: Kube) -> None:
    await kube.create(deployment(replicas=2))
    await roll_out(kube, "podinfo")
    canary = await create_canary(kube)
    world = MemoryWorld(store=MemoryStore(canary))
    release = Release(kube, world, DeploymentTarget(kube, clock=world.clock))

    # initialization: the primary exists but has not rolled out yet
    assert await release.tick() == [
        "all the metrics providers are available!",
        "podinfo-primary.prod not ready: waiting for rollout to finish: observed deployment "
        "generation less than desired generation",
    ]
    assert release.phase() is CanaryPhase.INITIALIZING
    await roll_out(kube, "podinfo-primary")
    assert await release.tick() == ["Initialization done! podinfo.prod"]
    assert release.phase() is CanaryPhase.INITIALIZED
    assert (await get(kube, "Deployment", "podinfo"))["spec"]["replicas"] == 0
    await roll_out(kube, "podinfo")
    assert await release.tick() == []  # nothing changed, nothing to do

    # a new image: the run starts and the target gets the primary's replicas back
    target = await get(kube, "Deployment", "podinfo")
    target["spec"]["template"]["spec"]["containers"][0]["image"] = NEW_IMAGE
    await kube.replace(target)
    assert await release.tick() == ["New revision detected! Scaling up podinfo.prod"]
    assert release.phase() is CanaryPhase.PROGRESSING
    assert (await get(kube, "Deployment", "podinfo"))["spec"]["replicas"] == 2
    waiting = await release.tick()
    assert waiting == [
        "canary deployment podinfo.prod not ready: waiting for rollout to finish: "
        "observed deployment generation less than desired generation"
    ]
    await roll_out(kube, "podinfo")

    # the analysis: two steps of 50%, then promotion
    assert await release.tick() == [
        "Starting canary analysis for podinfo.prod",
        "Advance podinfo.prod canary weight 50",
    ]
    before = await get(kube, "Deployment", "podinfo-primary")
    assert await release.tick() == ["Advance podinfo.prod canary weight 100"]
    assert await release.tick() == ["Copying podinfo.prod template spec to podinfo-primary.prod"]
    assert release.phase() is CanaryPhase.PROMOTING
    promoted = await get(kube, "Deployment", "podinfo-primary")
    assert image_of(promoted) == NEW_IMAGE
    annotations = promoted["spec"]["template"]["metadata"]["annotations"]
    assert (
        annotations["flagger-id"]
        != before["spec"]["template"]["metadata"]["annotations"]["flagger-id"]
    )

    # the primary rolls out the new version before traffic goes back to it
    assert (await release.tick())[0].startswith("podinfo-primary.prod not ready:")
    await roll_out(kube, "podinfo-primary")
    assert await release.tick() == ["Routing all traffic to primary"]
    assert await release.tick() == ["Promotion completed! Scaling down podinfo.prod"]

    assert release.phase() is CanaryPhase.SUCCEEDED
    revision = await release.ports.target.revision(canary)
    assert release.status.last_promoted_spec == revision.spec_hash
    assert image_of(await get(kube, "Deployment", "podinfo-primary")) == NEW_IMAGE
    assert (await get(kube, "Deployment", "podinfo"))["spec"]["replicas"] == 0
    assert world.router.routes.primary == 100
