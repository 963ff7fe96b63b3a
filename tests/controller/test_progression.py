"""Scenarios of traffic movement: canary weights, A/B testing, blue/green, mirroring, promotion.

Covers: stepWeight up to maxWeight (never beyond it, a deliberate difference from Flagger that
``serinus validate`` notes); stepWeights, including Flagger's last step above 100, which routes
everything to the canary; stepWeightPromotion stepping the
primary back; A/B testing (match + iterations: routes 0/100 under the match, one iteration per
step); blue/green (iterations, then all traffic to the canary, then promotion); the kubernetes
provider forcing blue/green with 10 iterations and saying so; mirroring before shifting.
"""

from __future__ import annotations

from serinus.apis.status import CanaryPhase
from serinus.ports import Routes
from tests.controller.support import Run, new_canary


async def test_step_weight_stops_at_max_weight_before_promotion() -> None:
    run = Run(new_canary(stepWeight=20, maxWeight=50))
    await run.release()
    lines = await run.until(CanaryPhase.PROMOTING)
    weights = [line for line in lines if line.startswith("Advance")]
    assert weights == [f"Advance podinfo.prod canary weight {w}" for w in (20, 40, 50)]
    assert max(r.canary for r in run.world.router.history) == 50


async def test_step_weights_are_followed_and_the_last_is_the_maximum() -> None:
    run = Run(new_canary(stepWeight=None, stepWeights=[1, 2, 10, 80]))
    await run.release()
    lines = await run.until(CanaryPhase.PROMOTING)
    weights = [line.rsplit(" ", 1)[1] for line in lines if line.startswith("Advance")]
    assert weights == ["1", "2", "10", "80"]
    assert run.world.router.history[:4] == [
        Routes(99, 1),
        Routes(98, 2),
        Routes(90, 10),
        Routes(20, 80),
    ]


async def test_a_last_step_weight_above_100_routes_all_traffic_to_the_canary() -> None:
    run = Run(new_canary(stepWeight=None, stepWeights=[1, 2, 10, 200]))
    await run.release()
    lines = await run.until(CanaryPhase.PROMOTING)
    weights = [line.rsplit(" ", 1)[1] for line in lines if line.startswith("Advance")]
    assert weights == ["1", "2", "10", "100"]
    assert run.world.router.history[:4] == [
        Routes(99, 1),
        Routes(98, 2),
        Routes(90, 10),
        Routes(0, 100),
    ]


async def test_step_weight_promotion_moves_traffic_back_step_by_step() -> None:
    run = Run(new_canary(stepWeight=50, stepWeightPromotion=30))
    await run.release()
    await run.until(CanaryPhase.PROMOTING)
    assert run.routes == (0, 100)
    assert await run.tick() == ["Advance podinfo.prod primary weight 30"]
    assert run.routes == (30, 70)
    await run.tick()
    await run.tick()
    assert run.routes == (90, 10)
    assert await run.tick() == ["Advance podinfo.prod primary weight 100"]
    assert run.status.phase is CanaryPhase.FINALISING
    await run.tick()
    assert run.status.phase is CanaryPhase.SUCCEEDED


async def test_ab_testing_routes_matched_traffic_for_each_iteration() -> None:
    match = [{"headers": {"x-canary": {"exact": "insider"}}}]
    run = Run(new_canary(stepWeight=None, iterations=3, match=match))
    await run.release()
    lines = await run.until(CanaryPhase.PROMOTING)
    assert [line for line in lines if line.startswith("Advance")] == [
        "Advance podinfo.prod canary iteration 1/3",
        "Advance podinfo.prod canary iteration 2/3",
        "Advance podinfo.prod canary iteration 3/3",
    ]
    assert run.world.router.history[0] == Routes(0, 100)
    await run.until(CanaryPhase.SUCCEEDED)
    assert run.routes == (100, 0)


async def test_blue_green_routes_everything_to_the_canary_before_promotion() -> None:
    run = Run(new_canary(stepWeight=None, iterations=2))
    await run.release()
    lines = await run.until(CanaryPhase.PROMOTING)
    assert lines == [
        "Starting canary analysis for podinfo.prod",
        "Advance podinfo.prod canary iteration 1/2",
        "Advance podinfo.prod canary iteration 2/2",
        "Routing all traffic to canary",
        "Copying podinfo.prod template spec to podinfo-primary.prod",
    ]
    assert run.routes == (0, 100)
    await run.until(CanaryPhase.SUCCEEDED)
    assert run.routes == (100, 0)
    assert run.world.target.canary_replicas == 0


async def test_kubernetes_provider_forces_blue_green_with_ten_iterations() -> None:
    match = [{"headers": {"x-canary": {"exact": "insider"}}}]
    run = Run(new_canary(stepWeight=5, match=match), provider="kubernetes")
    await run.release()
    lines = await run.until(CanaryPhase.PROMOTING)
    assert "A/B testing is not supported when using the kubernetes provider" in lines
    assert "Progressive traffic is not supported when using the kubernetes provider" in lines
    assert "Setting canaryAnalysis.iterations: 10" in lines
    assert "Advance podinfo.prod canary iteration 10/10" in lines
    assert run.world.router.history == []  # no traffic object to move
    await run.until(CanaryPhase.SUCCEEDED)


async def test_mirroring_comes_before_the_first_weight() -> None:
    run = Run(new_canary(stepWeight=50, mirror=True))
    await run.release()
    assert await run.tick() == [
        "Starting canary analysis for podinfo.prod",
        "Running mirror step 100/0/True",
        "Advance podinfo.prod canary weight 0",
    ]
    assert run.world.router.routes == Routes(100, 0, mirrored=True)
    assert await run.tick() == [
        "Running mirror step 50/50/False",
        "Advance podinfo.prod canary weight 50",
    ]
    assert run.world.router.routes == Routes(50, 50)
