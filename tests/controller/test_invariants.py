"""Properties of the state machine over random worlds (hypothesis, 500 examples per invariant).

Each example is a random Canary (progressive with stepWeight or stepWeights, A/B, blue/green,
mirroring, the kubernetes provider, any threshold and deadline) played for up to 40 ticks against
a random world: metric values that pass, fail or have no data; gates and checks that open and
close; rollback hooks; canary and primary readiness coming and going; stuck rollouts; new
revisions. After every tick these must hold:

1. the canary weight stays within [0, maxWeight] (100 for A/B and blue/green);
2. no traffic is routed to a workload scaled to zero;
3. a run ends Succeeded only after every check of its last step passed;
4. failedChecks >= threshold leads to Failed within one tick (unless a new revision restarts it);
5. after Failed or Succeeded the canary is scaled to zero and the primary has 100%.

One deliberate exception to 5 (and to 1 when maxWeight < 100): when the promoted primary never
becomes ready, the ready canary (which runs the same revision) keeps all traffic and the run is
Failed, as Flagger 1.44 does (#1898); routing to a primary that cannot serve would be an outage.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase, CanaryStatus
from serinus.controller.advance import advance
from serinus.controller.memory import MemoryWorld
from serinus.routers import registry as routers
from tests.controller.support import hook, metric, new_canary

EXAMPLES = settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclasses.dataclass(frozen=True)
class Moment:
    """What the world looks like at one tick."""

    success_rate: float | None
    duration: float
    gates: tuple[bool, bool, bool]  # confirm-rollout, confirm-traffic-increase, confirm-promotion
    checks: tuple[bool, bool]  # pre-rollout, rollout
    rollback: bool
    canary_ready: bool
    primary_ready: bool
    stuck: bool
    new_revision: bool


moments = st.builds(
    Moment,
    success_rate=st.sampled_from([100.0, 99.9, 99.2, 97.0, 40.0, None]),
    duration=st.sampled_from([120.0, 480.0, 900.0]),
    gates=st.tuples(*(st.booleans() | st.just(True) for _ in range(3))),
    checks=st.tuples(*(st.just(True) | st.booleans() for _ in range(2))),
    rollback=st.sampled_from([False] * 15 + [True]),
    canary_ready=st.sampled_from([True] * 4 + [False]),
    primary_ready=st.sampled_from([True] * 5 + [False]),
    stuck=st.sampled_from([False] * 30 + [True]),
    new_revision=st.sampled_from([False] * 12 + [True]),
)


@st.composite
def canaries(draw: st.DrawFn) -> tuple[Canary, str]:
    shape = draw(st.sampled_from(["step", "steps", "ab", "bluegreen", "mirror"]))
    analysis: dict[str, Any] = {
        "threshold": draw(st.integers(1, 5)),
        "stepWeight": None,
        "metrics": [
            metric("request-success-rate", thresholdRange={"min": 99}),
            metric("request-duration", thresholdRange={"max": 500}),
        ],
        "webhooks": [
            hook("approve-rollout", "confirm-rollout"),
            hook("more", "confirm-traffic-increase"),
            hook("approve", "confirm-promotion"),
            hook("smoke", "pre-rollout"),
            hook("load", "rollout"),
            hook("abort", "rollback"),
        ],
    }
    if draw(st.booleans()):
        analysis["stepWeightPromotion"] = draw(st.integers(1, 100))
    if shape in ("step", "mirror"):
        analysis["stepWeight"] = draw(st.integers(1, 60))
        analysis["maxWeight"] = draw(st.integers(1, 100))
        analysis["mirror"] = shape == "mirror"
    elif shape == "steps":
        weights = draw(st.lists(st.integers(1, 100), min_size=1, max_size=5, unique=True))
        analysis["stepWeights"] = sorted(weights)
    else:
        analysis["iterations"] = draw(st.integers(1, 4))
        if shape == "ab":
            analysis["match"] = [{"headers": {"x-canary": {"exact": "insider"}}}]
    deadline = draw(st.sampled_from([20, 60, 600]))
    canary = new_canary(spec={"progressDeadlineSeconds": deadline}, **analysis)
    provider = draw(st.sampled_from(["linkerd"] * 4 + ["kubernetes"]))
    return canary, provider


@dataclasses.dataclass
class Observation:
    """The world after one tick."""

    phase: CanaryPhase | None
    failed_checks: int
    status_weight: int
    routes: tuple[int, int, bool]
    canary_replicas: int
    primary_replicas: int
    promoted_with: list[str] | None  # metric verdicts of the tick that promoted, if it did
    new_revision_before: bool
    failed_promotion: bool


def simulate(canary: Canary, provider: str, script: list[Moment]) -> list[Observation]:
    return asyncio.run(_simulate(canary, provider, script))


async def _simulate(canary: Canary, provider: str, script: list[Moment]) -> list[Observation]:
    world = MemoryWorld.for_canary(canary)
    world.provider = provider
    world.router.can = routers.capabilities_for(provider)(canary)
    observations: list[Observation] = []
    revision = 1
    failed_promotion = False
    for moment in script:
        _apply(world, moment)
        if moment.new_revision:
            revision += 1
            world.target.spec_hash = f"rev-{revision}"
        before = world.store.status("prod", "podinfo").phase
        events = len(world.events.events)
        stamp = world.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        await advance(world.ports, world.store.stored("prod", "podinfo"))
        world.clock.advance(10)
        status = world.store.status("prod", "podinfo")
        said = [e.message for e in world.events.events[events:]]
        failed_promotion = failed_promotion or any("Promotion of" in m for m in said)
        if status.phase in (CanaryPhase.PROGRESSING, CanaryPhase.INITIALIZED):
            failed_promotion = False
        promoted = status.phase is CanaryPhase.PROMOTING and before is not CanaryPhase.PROMOTING
        observations.append(
            Observation(
                phase=status.phase,
                failed_checks=status.failed_checks,
                status_weight=status.canary_weight,
                routes=(
                    world.router.routes.primary,
                    world.router.routes.canary,
                    world.router.routes.mirrored,
                ),
                canary_replicas=world.target.canary_replicas,
                primary_replicas=world.target.primary_replicas,
                promoted_with=_verdicts_of_this_tick(status, stamp) if promoted else None,
                new_revision_before=moment.new_revision,
                failed_promotion=failed_promotion,
            )
        )
    return observations


def _apply(world: MemoryWorld, moment: Moment) -> None:
    world.metrics.values["request-success-rate"] = moment.success_rate
    world.metrics.values["request-duration"] = moment.duration
    names = ("approve-rollout", "more", "approve")
    for name, answer in zip(names, moment.gates, strict=True):
        world.webhooks.answers[name] = answer
    world.webhooks.answers["smoke"], world.webhooks.answers["load"] = moment.checks
    world.webhooks.answers["abort"] = moment.rollback
    world.target.canary_ready = moment.canary_ready
    world.target.primary_ready = moment.primary_ready
    world.target.canary_stuck = moment.stuck


def _verdicts_of_this_tick(status: CanaryStatus, stamp: str) -> list[str]:
    """The verdicts written during the tick at ``stamp``; older ones count as "stale"."""
    return [m.verdict if m.last_update_time == stamp else "stale" for m in status.metrics or []]


def _max_weight(canary: Canary, provider: str) -> int:
    analysis = canary.spec.effective_analysis
    assert analysis is not None
    if provider == "kubernetes" or analysis.iterations:
        return 100
    return analysis.effective_max_weight


scripts = st.lists(moments, min_size=5, max_size=40)


@EXAMPLES
@given(canaries(), scripts)
def test_canary_weight_stays_within_zero_and_max_weight(
    shaped: tuple[Canary, str], script: list[Moment]
) -> None:
    canary, provider = shaped
    maximum = _max_weight(canary, provider)
    for seen in simulate(canary, provider, script):
        if seen.failed_promotion:
            continue
        assert 0 <= seen.routes[1] <= maximum, seen
        assert 0 <= seen.status_weight <= maximum, seen


@EXAMPLES
@given(canaries(), scripts)
def test_no_traffic_is_routed_to_a_workload_scaled_to_zero(
    shaped: tuple[Canary, str], script: list[Moment]
) -> None:
    for seen in simulate(*shaped, script):
        primary, canary, mirrored = seen.routes
        if canary > 0 or mirrored:
            assert seen.canary_replicas > 0, seen
        if primary > 0:
            assert seen.primary_replicas > 0, seen


@EXAMPLES
@given(canaries(), scripts)
def test_a_run_succeeds_only_after_every_check_of_its_last_step_passed(
    shaped: tuple[Canary, str], script: list[Moment]
) -> None:
    observations = simulate(*shaped, script)
    promoted_cleanly = False
    for seen in observations:
        if seen.promoted_with is not None:
            assert seen.promoted_with, seen
            assert set(seen.promoted_with) == {"pass"}, seen
            promoted_cleanly = True
        if seen.phase in (CanaryPhase.PROGRESSING, CanaryPhase.WAITING_PROMOTION):
            promoted_cleanly = False
        if seen.phase is CanaryPhase.SUCCEEDED:
            assert promoted_cleanly, seen


@EXAMPLES
@given(canaries(), scripts)
def test_failed_checks_reaching_the_threshold_fail_the_run_within_one_tick(
    shaped: tuple[Canary, str], script: list[Moment]
) -> None:
    canary, provider = shaped
    analysis = canary.spec.effective_analysis
    assert analysis is not None
    observations = simulate(canary, provider, script)
    for before, after in itertools.pairwise(observations):
        analysing = before.phase in (CanaryPhase.PROGRESSING, CanaryPhase.WAITING_PROMOTION)
        if analysing and before.failed_checks >= analysis.effective_threshold:
            if after.new_revision_before:
                continue  # a new revision restarts the analysis instead
            assert after.phase is CanaryPhase.FAILED, (before, after)


@EXAMPLES
@given(canaries(), scripts)
def test_after_failed_or_succeeded_the_canary_is_down_and_the_primary_has_all_traffic(
    shaped: tuple[Canary, str], script: list[Moment]
) -> None:
    for seen in simulate(*shaped, script):
        if seen.phase in (CanaryPhase.FAILED, CanaryPhase.SUCCEEDED) and not seen.failed_promotion:
            assert seen.canary_replicas == 0, seen
            assert seen.routes[:2] == (100, 0), seen
