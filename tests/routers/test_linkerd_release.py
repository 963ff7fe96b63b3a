"""A whole release through the real state machine with the linkerd router and a real API server.

Covers: ``serinus.controller.advance`` ticking a Canary (stepWeight 20, maxWeight 50) with the
linkerd router writing to a local API server, and in-memory target, metrics, webhooks and clock:
initialization creates the three Services and the TrafficSplit at 100/0; the split's weights then
follow the steps (80/20, 60/40, 50/50), go back to 100/0 on promotion, and the run succeeds; the
weights the controller reads back are the split's, so it never runs past the maximum.
"""

from __future__ import annotations

from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase
from serinus.controller.advance import advance
from serinus.controller.memory import (
    MemoryEvents,
    MemoryMetrics,
    MemoryNotifier,
    MemoryStore,
    MemoryTarget,
    MemoryWebhooks,
    VirtualClock,
)
from serinus.ports import World
from serinus.routers.registry import router_for
from tests.routers.support import NAMESPACE, CountingKube, get, new_canary, service


async def split_weights(kube: CountingKube) -> tuple[int, int]:
    written = await get(kube, "split.smi-spec.io/v1alpha1", "TrafficSplit", "podinfo")
    weights = {b["service"]: int(b["weight"]) for b in written["spec"]["backends"]}
    return weights["podinfo-primary"], weights["podinfo-canary"]


def world_for(
    canary: Canary, kube: CountingKube, clock: VirtualClock
) -> tuple[World, MemoryStore, MemoryTarget]:
    store = MemoryStore(canary)
    target = MemoryTarget()
    world = World(
        target=target,
        router=router_for("linkerd", kube),
        metrics=MemoryMetrics(clock=clock),
        webhooks=MemoryWebhooks(),
        notifier=MemoryNotifier(),
        events=MemoryEvents(),
        store=store,
        clock=clock,
        provider="linkerd",
    )
    return world, store, target


async def test_split_weights_follow_the_steps_and_end_at_100_0(kube: CountingKube) -> None:
    canary = await new_canary(kube, analysis={"stepWeight": 20, "maxWeight": 50})
    clock = VirtualClock()
    world, store, target = world_for(canary, kube, clock)

    async def tick() -> CanaryPhase | None:
        await advance(world, store.stored(NAMESPACE, "podinfo"))
        clock.advance(10)
        return store.status(NAMESPACE, "podinfo").phase

    assert await tick() is CanaryPhase.INITIALIZED
    assert (await service(kube, "podinfo"))["spec"]["selector"] == {"app": "podinfo-primary"}
    assert (await service(kube, "podinfo-canary"))["spec"]["selector"] == {"app": "podinfo"}
    assert await split_weights(kube) == (100, 0)

    target.spec_hash = "rev-2"
    assert await tick() is CanaryPhase.PROGRESSING
    seen = [await split_weights(kube)]
    for _ in range(20):
        phase = await tick()
        weights = await split_weights(kube)
        if weights != seen[-1]:
            seen.append(weights)
        if phase is CanaryPhase.SUCCEEDED:
            break
    assert seen == [(100, 0), (80, 20), (60, 40), (50, 50), (100, 0)]
    assert store.status(NAMESPACE, "podinfo").phase is CanaryPhase.SUCCEEDED
    assert target.promotions == 1
