"""Scenarios of the eight webhook types and what each does to the run.

Covers: confirm-rollout holding a new revision in Waiting (no failed check, one warning, one
alert) until it opens; pre-rollout and rollout failures counting failed checks; a closed
confirm-traffic-increase gate holding the weight, and holding the run at the maximum weight, each
open gate saying "Confirm-traffic-increase check NAME passed" as in Flagger; a closed
confirm-promotion gate holding the run in
WaitingPromotion while the analysis keeps running (and can still fail it); post-rollout hooks called
with the final phase; a rollback hook not signaling a rollback on each tick, and one answering 2xx
rolling back ("Rollback check NAME passed"); event hooks receiving every event;
muteAlert silencing gate alerts.
"""

from __future__ import annotations

from serinus.apis.status import CanaryPhase
from serinus.controller.memory import HookCall
from tests.controller.support import Run, hook, metric, new_canary


async def test_confirm_rollout_holds_a_new_revision_in_waiting() -> None:
    run = Run(new_canary(webhooks=[hook("gate", "confirm-rollout")]))
    run.world.webhooks.answers["gate"] = False
    lines = await run.release()
    assert lines == ["Halt podinfo.prod advancement waiting for approval gate"]
    assert run.status.phase is CanaryPhase.WAITING
    assert run.world.target.canary_replicas == 0
    assert await run.ticks(3) == []  # said once, not every tick
    assert run.status.failed_checks == 0
    assert [a.message for a in run.world.notifier.alerts][-1] == "Canary is waiting for approval."
    run.world.webhooks.answers["gate"] = True
    assert await run.tick() == [
        "Confirm-rollout check gate passed",
        "New revision detected! Scaling up podinfo.prod",
    ]
    assert run.status.phase is CanaryPhase.PROGRESSING


async def test_pre_rollout_failure_counts_a_failed_check_and_is_retried() -> None:
    run = Run(new_canary(webhooks=[hook("smoke", "pre-rollout")]))
    await run.release()
    run.world.webhooks.answers["smoke"] = "token not found"
    lines = await run.tick()
    assert lines == [
        "Starting canary analysis for podinfo.prod",
        "Halt podinfo.prod advancement pre-rollout check smoke failed token not found",
    ]
    assert run.status.failed_checks == 1
    assert run.routes == (100, 0)
    run.world.webhooks.answers["smoke"] = True
    assert await run.tick() == [
        "Starting canary analysis for podinfo.prod",
        "Pre-rollout check smoke passed",
        "Advance podinfo.prod canary weight 10",
    ]


async def test_rollout_hook_failure_counts_and_holds_the_weight() -> None:
    run = Run(new_canary(webhooks=[hook("load-test", "rollout")]))
    await run.release()
    await run.tick()
    run.world.webhooks.answers["load-test"] = "connection refused"
    assert await run.tick() == [
        "Halt podinfo.prod advancement external check load-test failed connection refused"
    ]
    assert (run.status.failed_checks, run.routes) == (1, (90, 10))
    assert run.world.metrics.measured == []  # checks stop at the failed hook


async def test_confirm_traffic_increase_holds_the_weight_without_failing() -> None:
    run = Run(new_canary(webhooks=[hook("more", "confirm-traffic-increase")]))
    await run.release()
    await run.tick()
    run.world.webhooks.answers["more"] = False
    assert await run.tick() == [
        "Halt podinfo.prod advancement waiting for traffic increase approval more"
    ]
    assert (run.routes, run.status.failed_checks) == ((90, 10), 0)
    run.world.webhooks.answers["more"] = True
    assert await run.tick() == [
        "Confirm-traffic-increase check more passed",
        "Advance podinfo.prod canary weight 20",
    ]


async def test_a_traffic_gate_closed_at_the_maximum_weight_holds_the_run() -> None:
    gates = [hook("first", "confirm-traffic-increase"), hook("more", "confirm-traffic-increase")]
    run = Run(new_canary(stepWeight=25, maxWeight=50, webhooks=gates))
    await run.release()
    await run.ticks(2)  # weights 25, 50
    assert run.routes == (50, 50)
    run.world.webhooks.answers["more"] = False
    for _ in range(3):
        assert await run.tick() == [
            "Confirm-traffic-increase check first passed",
            "Halt podinfo.prod advancement waiting for traffic increase approval more",
        ]
    assert run.status.phase is CanaryPhase.PROGRESSING
    assert run.routes == (50, 50)
    assert run.world.target.promotions == 0
    run.world.webhooks.answers["more"] = True
    assert await run.tick() == [
        "Confirm-traffic-increase check first passed",
        "Confirm-traffic-increase check more passed",
        "Copying podinfo.prod template spec to podinfo-primary.prod",
    ]
    assert run.status.phase is CanaryPhase.PROMOTING


async def test_confirm_promotion_waits_while_the_analysis_keeps_running() -> None:
    canary = new_canary(
        stepWeight=50,
        metrics=[metric("request-success-rate", thresholdRange={"min": 99})],
        webhooks=[hook("approve", "confirm-promotion")],
    )
    run = Run(canary)
    run.world.webhooks.answers["approve"] = False
    await run.release()
    await run.ticks(2)
    assert run.routes == (0, 100)
    assert await run.tick() == [
        "Halt podinfo.prod advancement waiting for promotion approval approve"
    ]
    assert run.status.phase is CanaryPhase.WAITING_PROMOTION
    measured = len(run.world.metrics.measured)
    await run.ticks(2)
    assert len(run.world.metrics.measured) == measured + 2
    assert run.status.phase is CanaryPhase.WAITING_PROMOTION
    run.world.webhooks.answers["approve"] = True
    assert await run.tick() == [
        "Confirm-promotion check approve passed",
        "Copying podinfo.prod template spec to podinfo-primary.prod",
    ]
    assert run.status.phase is CanaryPhase.PROMOTING


async def test_failing_metrics_roll_back_a_run_waiting_for_promotion() -> None:
    canary = new_canary(
        stepWeight=100,
        threshold=2,
        metrics=[metric("request-success-rate", thresholdRange={"min": 99})],
        webhooks=[hook("approve", "confirm-promotion")],
    )
    run = Run(canary)
    run.world.webhooks.answers["approve"] = False
    await run.release()
    await run.ticks(2)
    assert run.status.phase is CanaryPhase.WAITING_PROMOTION
    run.world.metrics.values["request-success-rate"] = 80
    await run.ticks(3)
    assert run.status.phase is CanaryPhase.FAILED
    assert run.world.target.primary_hash == "rev-1"


async def test_post_rollout_hooks_get_the_final_phase() -> None:
    canary = new_canary(stepWeight=100, webhooks=[hook("report", "post-rollout")])
    run = Run(canary)
    await run.release()
    await run.until(CanaryPhase.SUCCEEDED)
    assert run.world.webhooks.calls == [HookCall("report", "Succeeded")]
    assert run.log[-2] == "Post-rollout check report passed"


async def test_a_rollback_hook_that_answers_ok_rolls_back() -> None:
    run = Run(new_canary(webhooks=[hook("abort", "rollback")]))
    await run.release()
    assert await run.tick() == [
        "Rollback hook abort not signaling a rollback",
        "Starting canary analysis for podinfo.prod",
        "Advance podinfo.prod canary weight 10",
    ]
    run.world.webhooks.answers["abort"] = True
    assert await run.tick() == [
        "Rollback check abort passed",
        "Rolling back podinfo.prod manual webhook invoked",
        "Canary failed! Scaling down podinfo.prod",
    ]
    assert run.status.phase is CanaryPhase.FAILED
    assert "Rolling back manual webhook invoked" in [a.message for a in run.world.notifier.alerts]


async def test_event_hooks_receive_every_event() -> None:
    run = Run(new_canary(stepWeight=100, webhooks=[hook("events", "event")]))
    await run.release()
    events = [call.event for call in run.world.webhooks.calls if call.phase == "event"]
    assert events == [
        "all the metrics providers are available!",
        "Initialization done! podinfo.prod",
        "New revision detected! Scaling up podinfo.prod",
    ]
    assert [e.message for e in run.world.events.events] == events


async def test_mute_alert_silences_the_gate_alert() -> None:
    run = Run(new_canary(webhooks=[hook("gate", "confirm-rollout", muteAlert=True)]))
    run.world.webhooks.answers["gate"] = False
    await run.release()
    assert run.status.phase is CanaryPhase.WAITING
    assert "Canary is waiting for approval." not in [a.message for a in run.world.notifier.alerts]
