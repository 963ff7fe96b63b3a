"""Scenarios of a release's life, tick by tick on the virtual clock.

Covers: initialization (primary, routes, target scaled to zero, no analysis on first deploy);
a new revision starting a run; a healthy run promoting (weights, Promoting, Finalising,
Succeeded, lastPromotedSpec); a primary that stops while promoted (a StatefulSet promoted from zero)
getting all traffic moved to the canary first, and one that keeps serving keeping its share; the
seed's rollback (Flagger's texts, cumulative failed checks);
skipAnalysis; a new revision mid-run restarting the analysis; the Promoted condition following
the phase; a restarted operator resuming from the status alone.
"""

from __future__ import annotations

import re

from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase
from tests.controller.support import Run, metric, new_canary


async def test_initialization_creates_primary_and_scales_target_to_zero() -> None:
    run = Run(new_canary())
    lines = await run.tick()
    assert lines == [
        "all the metrics providers are available!",
        "Scaling down Deployment podinfo.prod",
        "Initialization done! podinfo.prod",
    ]
    assert run.status.phase is CanaryPhase.INITIALIZED
    assert run.world.target.primary_exists
    assert run.world.target.canary_replicas == 0
    assert run.routes == (100, 0)
    assert run.status.last_applied_spec == run.status.last_promoted_spec == "rev-1"
    condition = run.status.condition("Promoted")
    assert condition is not None
    assert (condition.status, condition.reason) == ("True", "Initialized")
    assert condition.message == "Deployment initialization completed."
    assert [a.message for a in run.world.notifier.alerts] == [
        "New Deployment detected, initialization completed."
    ]


async def test_no_analysis_runs_on_first_deploy_or_without_a_change() -> None:
    run = Run(new_canary())
    await run.initialized()
    assert await run.ticks(3) == []
    assert run.status.phase is CanaryPhase.INITIALIZED
    assert run.world.metrics.measured == []


async def test_primary_not_ready_holds_initialization_and_target_keeps_serving() -> None:
    run = Run(new_canary())
    run.world.target.primary_ready = False
    lines = await run.tick()
    assert lines[-1] == "podinfo-primary.prod not ready: waiting for rollout to finish"
    assert run.status.phase is CanaryPhase.INITIALIZING
    assert run.world.target.canary_replicas == 1  # the target still serves
    run.world.target.primary_ready = True
    await run.tick()
    assert run.status.phase is CanaryPhase.INITIALIZED


async def test_new_revision_scales_up_the_canary_and_starts_progressing() -> None:
    run = Run(new_canary())
    lines = await run.release("rev-2")
    assert lines == ["New revision detected! Scaling up podinfo.prod"]
    assert run.status.phase is CanaryPhase.PROGRESSING
    assert run.world.target.canary_replicas == 1
    assert run.status.last_applied_spec == "rev-2"
    assert run.routes == (100, 0)
    assert run.status.condition("Promoted").message == (  # type: ignore[union-attr]
        "New revision detected, progressing canary analysis."
    )


async def test_healthy_release_is_promoted(seed_canary: Canary) -> None:
    run = Run(seed_canary)
    await run.release("rev-2")
    lines = await run.until(CanaryPhase.SUCCEEDED)
    advances = [line for line in lines if line.startswith("Advance")]
    assert advances == [f"Advance podinfo.prod canary weight {w}" for w in range(5, 101, 5)]
    assert lines[0] == "Starting canary analysis for podinfo.prod"
    assert lines[-3:] == [
        "Copying podinfo.prod template spec to podinfo-primary.prod",
        "Routing all traffic to primary",
        "Promotion completed! Scaling down podinfo.prod",
    ]
    assert run.world.target.primary_hash == "rev-2"
    assert run.status.last_promoted_spec == "rev-2"
    assert run.world.target.canary_replicas == 0
    assert run.routes == (100, 0)
    assert run.status.condition("Promoted").status == "True"  # type: ignore[union-attr]


async def test_promotion_passes_through_promoting_and_finalising(seed_canary: Canary) -> None:
    run = Run(seed_canary)
    await run.release()
    await run.until(CanaryPhase.PROMOTING)
    assert run.routes == (0, 100)  # the canary keeps the traffic while the primary rolls
    await run.tick()
    assert run.status.phase is CanaryPhase.FINALISING
    assert run.routes == (100, 0)
    assert run.world.target.canary_replicas == 1  # scaled down only once traffic moved
    await run.tick()
    assert run.status.phase is CanaryPhase.SUCCEEDED


async def test_a_primary_that_stops_while_promoted_gets_no_traffic_meanwhile() -> None:
    run = Run(new_canary(stepWeight=25, maxWeight=50))
    run.world.target.stops_primary = True
    await run.release()
    await run.until(CanaryPhase.PROMOTING)
    assert run.log[-2:] == [
        "Routing all traffic to canary",
        "Copying podinfo.prod template spec to podinfo-primary.prod",
    ]
    assert run.routes == (0, 100)
    assert run.status.canary_weight == 100
    await run.tick()
    assert run.routes == (100, 0)
    await run.tick()
    assert run.status.phase is CanaryPhase.SUCCEEDED


async def test_a_primary_that_keeps_serving_keeps_its_share_while_promoted() -> None:
    run = Run(new_canary(stepWeight=25, maxWeight=50))
    await run.release()
    await run.until(CanaryPhase.PROMOTING)
    assert "Routing all traffic to canary" not in run.log
    assert run.routes == (50, 50)


async def test_seed_rollback_log_and_cumulative_failed_checks(seed_canary: Canary) -> None:
    run = Run(seed_canary)
    await run.release()
    await run.ticks(3)  # weights 5, 10, 15
    metrics = run.world.metrics.values
    for rate in (69.17, 61.39, 55.06):
        metrics["request-success-rate"] = rate
        await run.tick()
    metrics["request-success-rate"] = 99.5
    await run.tick()  # a passing step does not reset the failed checks
    assert run.status.failed_checks == 3
    assert run.routes == (80, 20)
    for duration in (1200, 1450):
        metrics["request-duration"] = duration
        await run.tick()
    assert run.status.failed_checks == 5
    lines = await run.tick()
    assert lines == [
        "Rolling back podinfo.prod failed checks threshold reached 5",
        "Canary failed! Scaling down podinfo.prod",
    ]
    assert run.log[-8:] == [
        "Halt podinfo.prod advancement success rate 69.17% < 99%",
        "Halt podinfo.prod advancement success rate 61.39% < 99%",
        "Halt podinfo.prod advancement success rate 55.06% < 99%",
        "Advance podinfo.prod canary weight 20",
        "Halt podinfo.prod advancement request duration 1.20s > 0.5s",
        "Halt podinfo.prod advancement request duration 1.45s > 0.5s",
        "Rolling back podinfo.prod failed checks threshold reached 5",
        "Canary failed! Scaling down podinfo.prod",
    ]
    assert run.status.phase is CanaryPhase.FAILED
    assert run.routes == (100, 0)
    assert run.world.target.canary_replicas == 0
    assert run.world.target.primary_hash == "rev-1"
    assert [a.message for a in run.world.notifier.alerts][-1] == "Failed checks threshold reached 5"
    # as in Flagger, the finished run's status starts from zero
    status = run.status
    assert (status.canary_weight, status.failed_checks, status.iterations) == (0, 0, 0)


async def test_a_rolled_back_ab_run_resets_its_iterations() -> None:
    match = [{"headers": {"x-canary": {"exact": "insider"}}}]
    success = [metric("request-success-rate", thresholdRange={"min": 99})]
    canary = new_canary(stepWeight=None, iterations=5, threshold=2, match=match, metrics=success)
    run = Run(canary, provider="istio")
    await run.release()
    await run.ticks(3)
    assert run.status.iterations == 3
    run.world.metrics.values["request-success-rate"] = 50
    await run.until(CanaryPhase.FAILED)
    status = run.status
    assert (status.canary_weight, status.failed_checks, status.iterations) == (0, 0, 0)


async def test_skip_analysis_promotes_a_ready_canary_at_once() -> None:
    run = Run(new_canary(spec={"skipAnalysis": True}))
    await run.release("rev-2")
    lines = await run.tick()
    assert lines == [
        "Copying podinfo.prod template spec to podinfo-primary.prod",
        "Promotion completed! Canary analysis was skipped for podinfo.prod",
    ]
    assert run.status.phase is CanaryPhase.SUCCEEDED
    assert run.world.target.primary_hash == "rev-2"
    assert run.world.metrics.measured == []


async def test_skip_analysis_still_rolls_back_a_stuck_canary() -> None:
    run = Run(new_canary(spec={"skipAnalysis": True}))
    await run.release("rev-2")
    run.world.target.canary_stuck = True
    lines = await run.tick()
    assert lines[0].startswith("canary deployment podinfo.prod not ready: ")
    assert run.status.phase is CanaryPhase.FAILED
    assert run.world.target.primary_hash == "rev-1"


async def test_new_revision_mid_run_restarts_the_analysis(seed_canary: Canary) -> None:
    run = Run(seed_canary)
    await run.release("rev-2")
    await run.ticks(3)
    run.world.metrics.values["request-success-rate"] = 50
    await run.tick()
    assert run.status.failed_checks == 1
    run.world.metrics.values["request-success-rate"] = 99.9
    run.world.target.spec_hash = "rev-3"
    lines = await run.tick()
    assert lines == ["New revision detected! Restarting analysis for podinfo.prod"]
    assert run.routes == (100, 0)
    assert (run.status.phase, run.status.failed_checks, run.status.canary_weight) == (
        CanaryPhase.PROGRESSING,
        0,
        0,
    )
    assert run.status.last_applied_spec == "rev-3"
    assert await run.tick() == [
        "Starting canary analysis for podinfo.prod",
        "Advance podinfo.prod canary weight 5",
    ]


async def test_a_restarted_operator_resumes_from_the_status_alone(seed_canary: Canary) -> None:
    run = Run(seed_canary)
    await run.release()
    await run.ticks(4)
    assert run.routes == (80, 20)
    # a new operator: fresh ports over the same stored objects (store, routes, workloads)
    resumed = Run(seed_canary)
    resumed.world.store = run.world.store
    resumed.world.router = run.world.router
    resumed.world.target = run.world.target
    resumed.world.clock = run.world.clock
    assert await resumed.tick() == ["Advance podinfo.prod canary weight 25"]
    await resumed.until(CanaryPhase.SUCCEEDED)


async def test_session_affinity_cookies_live_in_the_status_for_one_run() -> None:
    sticky = {"cookieName": "canary-cookie", "primaryCookieName": "primary-cookie"}
    run = Run(new_canary(stepWeight=50, sessionAffinity=sticky), provider="istio")
    await run.release()
    first = run.status.session_affinity_cookie
    assert first is not None
    assert re.fullmatch(r"canary-cookie=[A-Za-z]{10}", first)
    assert re.fullmatch(
        r"primary-cookie=[A-Za-z]{10}", run.status.primary_session_affinity_cookie or ""
    )
    await run.until(CanaryPhase.SUCCEEDED)
    assert run.status.session_affinity_cookie is None
    assert run.status.previous_session_affinity_cookie == first
    await run.release("rev-3")
    second = run.status.session_affinity_cookie
    assert second is not None
    assert second != first
    assert run.status.previous_session_affinity_cookie == first
