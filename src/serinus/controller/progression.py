"""Moving traffic after a step passed: progressive canary, A/B testing, blue/green, and back.

Called by :mod:`serinus.controller.advance` once the step's checks passed. Each strategy either
takes one more step (more weight, or one more iteration) or, at the end, asks the confirm-promotion
gates and promotes. After promotion, :func:`route_back_to_primary` returns the traffic to the
primary in one step or by ``stepWeightPromotion``. The weights come from
:mod:`serinus.controller.strategies`.
"""

from __future__ import annotations

from serinus.apis.analysis import Strategy
from serinus.apis.status import CanaryPhase
from serinus.capabilities import Capabilities
from serinus.controller import hooks, judging, lifecycle, strategies
from serinus.controller.tick import Tick
from serinus.ports import Routes


async def step(tick: Tick, routes: Routes, *, early: bool = False) -> None:
    """One step of the run's strategy; ``early`` (a clear pass) may skip ahead."""
    can = tick.world.router.capabilities(tick.canary)
    strategy = strategies.strategy(tick.analysis, can)
    if not can.weights and tick.status.iterations == 0:
        await _blue_green_notices(tick)
    if strategy is Strategy.AB_TESTING:
        await _ab_testing(tick, routes, can)
    elif strategy is Strategy.BLUE_GREEN:
        await _blue_green(tick, routes, can)
    else:
        await _canary(tick, routes, early=early)


async def _canary(tick: Tick, routes: Routes, *, early: bool = False) -> None:
    analysis = tick.analysis
    if early and routes.canary >= strategies.EARLY_PROMOTION_WEIGHT and not routes.mirrored:
        await tick.info(f"Clear pass: promoting {tick.name} early at canary weight {routes.canary}")
        if await hooks.confirm_promotion(tick):
            await lifecycle.promote(tick)
        return
    if routes.canary < analysis.effective_max_weight:
        target = strategies.next_canary_routes(analysis, routes)
        if early and not target.mirrored:
            target = strategies.next_canary_routes(analysis, target)
        increases = target.canary > routes.canary and not routes.mirrored
        if increases and not await hooks.confirm_traffic_increase(tick):
            return
        if target.mirrored or routes.mirrored:
            tick.log.info(
                "Running mirror step %d/%d/%s", target.primary, target.canary, target.mirrored
            )
        await tick.world.router.set_routes(tick.canary, target, current=routes)
        await tick.update_status(canary_weight=target.canary)
        await tick.info(f"Advance {tick.name} canary weight {target.canary}")
        return
    if not await judging.settled(tick):
        # The judge reads each interval after a lag; promote once it has read them all.
        tick.log.info("Waiting for the judge to read the last intervals before promotion")
        return
    # As in Flagger, the traffic gate is asked before the promotion step too: a closed gate at
    # the maximum weight holds the run there.
    gated = not routes.mirrored and tick.phase is CanaryPhase.PROGRESSING
    if gated and not await hooks.confirm_traffic_increase(tick):
        return
    if await hooks.confirm_promotion(tick):
        await lifecycle.promote(tick)


async def _ab_testing(tick: Tick, routes: Routes, can: Capabilities) -> None:
    total = strategies.iterations(tick.analysis, can)
    done = tick.status.iterations
    if done < total:
        await tick.world.router.set_routes(tick.canary, strategies.all_to_canary(), current=routes)
        await tick.update_status(iterations=done + 1)
        await tick.info(f"Advance {tick.name} canary iteration {done + 1}/{total}")
        return
    if await hooks.confirm_promotion(tick):
        await lifecycle.promote(tick)


async def _blue_green(tick: Tick, routes: Routes, can: Capabilities) -> None:
    total = strategies.iterations(tick.analysis, can)
    done = tick.status.iterations
    shifts_traffic = can.weights  # without weights, traffic moves at promotion only
    if done < total:
        if shifts_traffic and tick.analysis.mirror and not routes.mirrored:
            tick.log.info("Start traffic mirroring")
            mirror = Routes(100, 0, mirrored=True)
            await tick.world.router.set_routes(tick.canary, mirror, current=routes)
        await tick.update_status(iterations=done + 1)
        await tick.info(f"Advance {tick.name} canary iteration {done + 1}/{total}")
        return
    if done == total:
        if not await hooks.confirm_promotion(tick):
            return
        if shifts_traffic:
            if tick.analysis.mirror:
                await tick.info("Stop traffic mirroring and route all traffic to canary")
            else:
                await tick.info("Routing all traffic to canary")
            all_to_canary = strategies.all_to_canary()
            await tick.world.router.set_routes(tick.canary, all_to_canary, current=routes)
        await tick.update_status(iterations=done + 1)
        return
    await lifecycle.promote(tick)


async def route_back_to_primary(tick: Tick) -> None:
    """Promoting: the primary runs the new revision and is ready; give it the traffic back."""
    if not tick.world.router.capabilities(tick.canary).weights:
        # all or nothing: the traffic goes back to the primary in one step
        await tick.world.router.set_routes(tick.canary, strategies.all_to_primary())
        await tick.update_status(phase=CanaryPhase.FINALISING, canary_weight=0)
        return
    routes = await tick.world.router.get_routes(tick.canary)
    target = strategies.next_promotion_routes(tick.analysis, routes)
    if target.primary >= strategies.FULL_WEIGHT and not tick.analysis.step_weight_promotion:
        await tick.info("Routing all traffic to primary")
    await tick.world.router.set_routes(tick.canary, target, current=routes)
    if target.primary < strategies.FULL_WEIGHT or tick.analysis.step_weight_promotion:
        await tick.info(f"Advance {tick.name} primary weight {target.primary}")
    if target.primary >= strategies.FULL_WEIGHT:
        await tick.update_status(phase=CanaryPhase.FINALISING, canary_weight=0)
    else:
        await tick.update_status(canary_weight=target.canary)


async def _blue_green_notices(tick: Tick) -> None:
    """What a router without weights ignores, in Flagger's words (the kubernetes provider's)."""
    provider = tick.world.provider
    if tick.analysis.match:
        await tick.warning(f"A/B testing is not supported when using the {provider} provider")
    if not tick.analysis.iterations:
        await tick.warning(
            f"Progressive traffic is not supported when using the {provider} provider"
        )
        await tick.warning(
            f"Setting canaryAnalysis.iterations: {strategies.KUBERNETES_DEFAULT_ITERATIONS}"
        )
