"""How traffic moves from one step to the next: pure functions of the analysis and the routes.

Progressive canary: ``stepWeight`` added per step, or the next of ``stepWeights``, never above the
maximum weight (Flagger lets the last step overshoot ``maxWeight``; serinus does not). With
``mirror``, the first step only mirrors traffic to the canary. The strategy itself is derived as
Flagger derives it: match + iterations is A/B testing, iterations alone blue/green, and a router
that cannot split by weight (the kubernetes provider's) always blue/green with 10 iterations by
default.
"""

from __future__ import annotations

from serinus.apis.analysis import CanaryAnalysis, Strategy
from serinus.capabilities import Capabilities
from serinus.ports import Routes

FULL_WEIGHT = 100
KUBERNETES_DEFAULT_ITERATIONS = 10
EARLY_PROMOTION_WEIGHT = 50
"""From this canary weight on, a clear pass of every judged metric promotes at once."""


def notes(analysis: CanaryAnalysis | None) -> list[str]:
    """Where serinus's steps knowingly differ from Flagger's for this analysis (for ``validate``).

    The one difference: the last progressive step never overshoots ``maxWeight``.
    """
    if analysis is None or analysis.iterations or analysis.step_weights or not analysis.step_weight:
        return []
    step, maximum = analysis.step_weight, analysis.effective_max_weight
    if step <= 0 or maximum >= FULL_WEIGHT or maximum % step == 0:
        return []
    flagger = min(FULL_WEIGHT, (maximum // step + 1) * step)
    return [
        f"spec.analysis.maxWeight: {maximum} is not a multiple of stepWeight {step}; serinus's "
        f"last step routes {FULL_WEIGHT - maximum}/{maximum} (primary/canary), where Flagger "
        f"steps past the maximum to {FULL_WEIGHT - flagger}/{flagger}"
    ]


def strategy(analysis: CanaryAnalysis, can: Capabilities) -> Strategy:
    if not can.weights:
        return Strategy.BLUE_GREEN
    return analysis.strategy


def iterations(analysis: CanaryAnalysis, can: Capabilities) -> int:
    if not can.weights and not analysis.iterations:
        return KUBERNETES_DEFAULT_ITERATIONS
    return analysis.iterations or 0


def next_weight(analysis: CanaryAnalysis, current: int) -> int:
    """The canary weight of the next step (the current one when at the maximum)."""
    maximum = analysis.effective_max_weight
    if current >= maximum:
        return current
    if analysis.step_weight and analysis.step_weight > 0:
        return min(current + analysis.step_weight, maximum)
    for weight in analysis.step_weights or []:
        if weight > current:
            return min(weight, maximum)
    return maximum


def next_canary_routes(analysis: CanaryAnalysis, routes: Routes) -> Routes:
    """Routes of the next progressive step, with the mirror step first when mirroring."""
    if analysis.mirror and routes.canary == 0 and not routes.mirrored:
        return Routes(primary=FULL_WEIGHT, canary=0, mirrored=True)
    weight = next_weight(analysis, routes.canary)
    return Routes(primary=FULL_WEIGHT - weight, canary=weight)


def next_promotion_routes(analysis: CanaryAnalysis, routes: Routes) -> Routes:
    """Routes of the next step back to the primary after promotion."""
    step = analysis.step_weight_promotion or 0
    if step <= 0:
        return Routes(primary=FULL_WEIGHT, canary=0)
    primary = min(FULL_WEIGHT, routes.primary + step)
    return Routes(primary=primary, canary=FULL_WEIGHT - primary)


def all_to_primary() -> Routes:
    return Routes(primary=FULL_WEIGHT, canary=0)


def all_to_canary() -> Routes:
    return Routes(primary=0, canary=FULL_WEIGHT)
