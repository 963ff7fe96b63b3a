"""Requests made by hand, tick by tick on the state machine.

Covers: ``abort`` mid-run rolls back on the next tick (all traffic to the primary, the canary
scaled to zero, Failed), with Events naming who asked and Flagger's rollback wording, and the
same request seen again does nothing; ``promote`` mid-run goes through Promoting and Finalising
to Succeeded with the canary's revision on the primary; ``pause`` holds the weight for three
ticks without measuring anything or counting a failed check, ``resume`` continues from there;
``retry`` of a Failed run runs the same revision again from zero; ``skip-analysis`` promotes a
run under way without judging it, and on a Failed run starts it again and promotes it;
``promote`` on a Succeeded Canary is refused with the reason, in the status and a Warning event,
and changes nothing; a suspended Canary refuses every request; an unreadable annotation is
reported once; an intent recorded before a crash is carried out by the next tick; a new revision
while paused restarts the run unpaused.
"""

from __future__ import annotations

import itertools

from serinus.apis.control import ANNOTATION, Action, ControlRequest, ControlStatus, Intent
from serinus.apis.status import CanaryPhase
from tests.controller.support import Run, metric, new_canary

KEY = ("prod", "podinfo")
ids = itertools.count(1)


def ask(run: Run, action: Action, *, by: str = "alice") -> str:
    """Write a request on the stored Canary, as the CLI's annotation does."""
    request = ControlRequest(action=action, id=f"r{next(ids)}", by=by, at="2026-01-01T00:00:00Z")
    stored = run.world.store.canaries[KEY]
    metadata = stored.metadata.model_copy(
        update={"annotations": {ANNOTATION: request.annotation()}}
    )
    run.world.store.canaries[KEY] = stored.model_copy(update={"metadata": metadata})
    return request.id


def messages(run: Run) -> list[tuple[str, str]]:
    return [(e.event_type, e.message) for e in run.world.events.events]


async def running(**analysis) -> Run:
    run = Run(new_canary(**analysis))
    await run.release()
    await run.ticks(2)
    assert run.status.phase is CanaryPhase.PROGRESSING
    assert run.routes == (80, 20)
    return run


async def failed() -> Run:
    """A run of rev-2 rolled back: its success rate fell to 50% (threshold 1)."""
    run = Run(
        new_canary(
            threshold=1, metrics=[metric("request-success-rate", thresholdRange={"min": 99})]
        )
    )
    await run.release()
    run.world.metrics.values["request-success-rate"] = 50.0
    await run.until(CanaryPhase.FAILED, limit=10)
    return run


async def test_abort_rolls_back_on_the_next_tick_and_says_who_asked():
    run = await running()
    ask(run, Action.ABORT)
    await run.tick()
    assert run.status.phase is CanaryPhase.FAILED
    assert run.routes == (100, 0)
    assert run.world.target.canary_replicas == 0
    said = messages(run)[-3:]
    assert said[0] == ("Normal", "Rollback of podinfo.prod requested by alice")
    assert said[1] == ("Warning", "Rolling back podinfo.prod manual abort requested by alice")
    assert said[2] == ("Warning", "Canary failed! Scaling down podinfo.prod")
    last = run.status.control.last
    assert (last.action, last.by, last.accepted) == (Action.ABORT, "alice", True)
    before = len(messages(run))
    await run.ticks(2)
    assert len(messages(run)) == before  # the same request is never handled twice
    assert run.status.phase is CanaryPhase.FAILED


async def test_promote_goes_through_the_promotion_steps():
    run = await running()
    ask(run, Action.PROMOTE)
    await run.tick()
    assert run.status.phase is CanaryPhase.PROMOTING
    assert run.world.target.primary_hash == "rev-2"
    await run.until(CanaryPhase.SUCCEEDED, limit=5)
    assert run.routes == (100, 0)
    assert ("Normal", "Promotion completed! Scaling down podinfo.prod") in messages(run)


async def test_pause_holds_the_weight_without_judging_and_resume_continues():
    run = await running(metrics=[metric("request-success-rate", thresholdRange={"min": 99})])
    ask(run, Action.PAUSE)
    await run.tick()
    assert run.status.control.paused.by == "alice"
    run.world.metrics.values["request-success-rate"] = 50.0  # would fail a check if judged
    measured = len(run.world.metrics.measured)
    for _ in range(3):
        await run.tick()
        assert run.routes == (80, 20)
        assert run.status.failed_checks == 0
    assert len(run.world.metrics.measured) == measured
    assert ("Normal", "Pause of podinfo.prod at canary weight 20 requested by alice") in messages(
        run
    )
    run.world.metrics.values["request-success-rate"] = 100.0
    ask(run, Action.RESUME, by="bob")
    await run.tick()  # the run continues on the same tick
    assert run.status.control.paused is None
    assert run.routes == (70, 30)
    assert run.status.failed_checks == 0


async def test_retry_runs_the_failed_revision_again_from_zero():
    run = await failed()
    started = run.status.analysis_start_time
    run.world.metrics.values["request-success-rate"] = 100.0
    ask(run, Action.RETRY)
    await run.tick()
    assert run.status.phase is CanaryPhase.PROGRESSING
    assert (run.status.last_applied_spec, run.status.failed_checks, run.status.canary_weight) == (
        "rev-2",
        0,
        0,
    )
    assert run.status.analysis_start_time != started
    assert run.world.target.canary_replicas > 0
    assert run.status.control.retry is None  # done: a second failure is not retried by itself
    await run.until(CanaryPhase.SUCCEEDED)
    assert run.world.target.primary_hash == "rev-2"


async def test_skip_analysis_promotes_a_run_without_judging_it():
    run = await running(metrics=[metric("request-success-rate", thresholdRange={"min": 99})])
    ask(run, Action.SKIP_ANALYSIS)
    measured = len(run.world.metrics.measured)
    await run.until(CanaryPhase.SUCCEEDED, limit=3)
    assert len(run.world.metrics.measured) == measured
    assert run.world.target.primary_hash == "rev-2"
    assert any("Canary analysis was skipped" in m for _, m in messages(run))


async def test_skip_analysis_on_a_failed_run_starts_it_again_and_promotes_it():
    run = await failed()
    ask(run, Action.SKIP_ANALYSIS)
    await run.until(CanaryPhase.SUCCEEDED, limit=4)
    assert run.world.target.primary_hash == "rev-2"


async def test_promote_on_a_succeeded_canary_is_refused_and_changes_nothing():
    run = Run(new_canary(stepWeight=50))
    await run.release()
    await run.until(CanaryPhase.SUCCEEDED)
    ask(run, Action.PROMOTE, by="carol")
    await run.tick()
    last = run.status.control.last
    assert (last.accepted, last.message) == (False, "the run Succeeded already: nothing to promote")
    assert messages(run)[-1] == (
        "Warning",
        "promote of podinfo.prod requested by carol refused: the run Succeeded already: nothing to "
        "promote",
    )
    assert run.status.phase is CanaryPhase.SUCCEEDED


async def test_an_unreadable_request_is_reported_once():
    run = await running()
    stored = run.world.store.canaries[KEY]
    metadata = stored.metadata.model_copy(
        update={"annotations": {ANNOTATION: '{"action": "nuke"}'}}
    )
    run.world.store.canaries[KEY] = stored.model_copy(update={"metadata": metadata})
    await run.ticks(3)
    warnings = [m for t, m in messages(run) if m.startswith("Request on podinfo.prod ignored")]
    assert len(warnings) == 1
    assert "action" in warnings[0]
    assert run.routes == (50, 50)  # the run went on


async def test_an_intent_recorded_before_a_crash_is_carried_out_next_tick():
    run = await running()
    status = run.status.model_copy(
        update={"control": ControlStatus(abort=Intent(revision="rev-2", by="dave"))}
    )
    run.world.store.canaries[KEY] = run.world.store.canaries[KEY].model_copy(
        update={"status": status}
    )
    await run.tick()
    assert run.status.phase is CanaryPhase.FAILED
    assert ("Warning", "Rolling back podinfo.prod manual abort requested by dave") in messages(run)


async def test_a_new_revision_while_paused_restarts_the_run_unpaused():
    run = await running()
    ask(run, Action.PAUSE)
    await run.tick()
    run.world.target.spec_hash = "rev-3"
    await run.tick()
    assert run.status.last_applied_spec == "rev-3"
    assert run.status.control.paused is None
    await run.ticks(2)
    assert run.routes[1] > 0


async def test_a_suspended_canary_refuses_requests():
    run = await running()
    run.set_spec(suspend=True)
    ask(run, Action.ABORT)
    await run.tick()
    last = run.status.control.last
    assert (last.accepted, last.message) == (False, "the Canary is suspended (spec.suspend)")
    assert run.status.phase is CanaryPhase.PROGRESSING
