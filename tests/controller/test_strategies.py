"""The pure weight rules: next weights, mirror steps, promotion steps, derived strategy (from
what the router can do: the istio and kubernetes routers' own capabilities)."""

from __future__ import annotations

from serinus.apis.analysis import CanaryAnalysis, Strategy
from serinus.controller import strategies
from serinus.ports import Routes
from serinus.routers import istio as istio_router
from serinus.routers import kubernetes as kubernetes_router


def _analysis(**fields: object) -> CanaryAnalysis:
    return CanaryAnalysis.model_validate(fields)


def test_step_weight_adds_and_stops_at_max_weight() -> None:
    analysis = _analysis(stepWeight=30, maxWeight=80)
    assert [strategies.next_weight(analysis, w) for w in (0, 30, 60, 80)] == [30, 60, 80, 80]


def test_step_weights_pick_the_next_listed_weight() -> None:
    analysis = _analysis(stepWeights=[1, 5, 25, 60])
    assert [strategies.next_weight(analysis, w) for w in (0, 1, 3, 25, 60)] == [1, 5, 5, 60, 60]
    assert analysis.effective_max_weight == 60


def test_mirror_step_comes_first_then_weights() -> None:
    analysis = _analysis(stepWeight=10, mirror=True)
    assert strategies.next_canary_routes(analysis, Routes(100, 0)) == Routes(100, 0, True)
    assert strategies.next_canary_routes(analysis, Routes(100, 0, True)) == Routes(90, 10)


def test_promotion_steps_back_to_the_primary() -> None:
    assert strategies.next_promotion_routes(_analysis(stepWeight=5), Routes(0, 100)) == Routes(
        100, 0
    )
    stepped = _analysis(stepWeight=5, stepWeightPromotion=40)
    assert strategies.next_promotion_routes(stepped, Routes(0, 100)) == Routes(40, 60)
    assert strategies.next_promotion_routes(stepped, Routes(80, 20)) == Routes(100, 0)


def test_strategy_is_derived_and_a_router_without_weights_forces_blue_green() -> None:
    istio, kubernetes = istio_router.CAPABILITIES, kubernetes_router.CAPABILITIES
    assert strategies.strategy(_analysis(stepWeight=5), istio) is Strategy.CANARY
    assert strategies.strategy(_analysis(iterations=3), istio) is Strategy.BLUE_GREEN
    ab = _analysis(iterations=3, match=[{"headers": {}}])
    assert strategies.strategy(ab, istio) is Strategy.AB_TESTING
    assert strategies.strategy(ab, kubernetes) is Strategy.BLUE_GREEN
    assert strategies.iterations(_analysis(stepWeight=5), kubernetes) == 10
