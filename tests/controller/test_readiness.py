"""Scenarios of waiting for workloads, and the progress deadline serinus enforces itself.

Covers: a canary that is not ready yet holds the run (no failed check); a canary whose rollout
Kubernetes declared stuck is rolled back at once, the log saying why in the workload's words, as
Flagger's does; a canary that never becomes ready is rolled back
once it waited longer than progressDeadlineSeconds (Flagger waits for ever: #523, #1247); the wait
is measured from the status, so it survives restarts; a primary that does not come back during
promotion fails the promotion while the ready canary keeps the traffic; a primary never ready at
initialization is reported once the deadline passes while the target keeps serving; a target
deleted mid-run is waited for like a canary that is not ready, then rolled back with a message
naming it (issue 10, row 13), and one that comes back in time lets the run go on.
"""

from __future__ import annotations

from serinus.apis.status import CanaryPhase
from tests.controller.support import Run, new_canary


async def test_a_canary_not_ready_yet_holds_the_run() -> None:
    run = Run(new_canary())
    await run.release()
    run.world.target.canary_ready = False
    assert await run.tick() == [
        "canary deployment podinfo.prod not ready: waiting for rollout to finish"
    ]
    assert (run.status.failed_checks, run.routes) == (0, (100, 0))
    run.world.target.canary_ready = True
    assert (await run.tick())[-1] == "Advance podinfo.prod canary weight 10"


async def test_a_stuck_canary_is_rolled_back_at_once() -> None:
    run = Run(new_canary())
    await run.release()
    await run.tick()
    run.world.target.canary_stuck = True
    lines = await run.tick()
    assert lines == [
        'canary deployment podinfo.prod not ready: deployment "podinfo" exceeded its progress '
        "deadline",
        "Canary failed! Scaling down podinfo.prod",
    ]
    assert run.status.phase is CanaryPhase.FAILED
    assert run.routes == (100, 0)


async def test_a_canary_never_ready_is_rolled_back_after_the_progress_deadline() -> None:
    run = Run(new_canary(spec={"progressDeadlineSeconds": 60}))
    await run.release()
    run.world.target.canary_ready = False
    for _ in range(7):  # 0 s .. 60 s: still within the deadline
        await run.tick()
        assert run.status.phase is CanaryPhase.PROGRESSING
    lines = await run.tick()  # 70 s
    assert lines[0].startswith("canary deployment podinfo.prod not ready: ")
    assert lines[0].endswith("(not ready for 70s, progressDeadlineSeconds is 60)")
    assert run.status.phase is CanaryPhase.FAILED
    assert run.world.target.canary_replicas == 0


async def test_the_wait_is_counted_from_the_status_across_restarts() -> None:
    run = Run(new_canary(spec={"progressDeadlineSeconds": 30}))
    await run.release()
    run.world.target.canary_ready = False
    await run.tick()
    since = run.status.not_ready_since
    assert since is not None
    assert since.canary is not None
    resumed = Run(run.canary)  # a new operator over the same world
    resumed.world = run.world
    await resumed.ticks(3)
    assert resumed.status.phase is CanaryPhase.PROGRESSING
    await resumed.tick()
    assert resumed.status.phase is CanaryPhase.FAILED


async def test_readiness_coming_back_resets_the_wait() -> None:
    run = Run(new_canary(spec={"progressDeadlineSeconds": 30}))
    await run.release()
    run.world.target.canary_ready = False
    await run.ticks(3)
    run.world.target.canary_ready = True
    await run.tick()
    assert run.status.not_ready_since is None or run.status.not_ready_since.canary is None
    run.world.target.canary_ready = False
    await run.ticks(4)
    assert run.status.phase is CanaryPhase.PROGRESSING


async def test_a_primary_that_does_not_come_back_fails_the_promotion() -> None:
    run = Run(new_canary(stepWeight=100, spec={"progressDeadlineSeconds": 20}))
    await run.release()
    await run.until(CanaryPhase.PROMOTING)
    run.world.target.primary_ready = False
    await run.ticks(3)
    assert run.status.phase is CanaryPhase.PROMOTING
    assert run.routes == (0, 100)
    lines = await run.tick()
    assert lines[0].startswith("Promotion of podinfo.prod failed, primary not ready: ")
    assert run.status.phase is CanaryPhase.FAILED
    assert run.routes == (0, 100)  # the canary runs the same revision and is ready
    assert run.world.target.canary_replicas == 1


async def test_a_primary_never_ready_at_initialization_is_reported_once() -> None:
    run = Run(new_canary(spec={"progressDeadlineSeconds": 20}))
    run.world.target.primary_ready = False
    await run.ticks(4)
    assert run.log[-1].startswith(
        "Initialization of podinfo.prod is stuck, the target keeps serving: "
    )
    await run.ticks(3)
    assert sum("is stuck" in line for line in run.log) == 1
    assert run.status.phase is CanaryPhase.INITIALIZING
    assert run.world.target.canary_replicas == 1
    run.world.target.primary_ready = True
    await run.tick()
    assert run.status.phase is CanaryPhase.INITIALIZED


async def test_a_target_deleted_mid_run_fails_the_run_after_the_deadline() -> None:
    run = Run(new_canary(spec={"progressDeadlineSeconds": 30}))
    await run.release()
    await run.tick()  # weight 10
    run.world.target.exists = False
    assert await run.tick() == [
        "Deployment prod/podinfo not found; the run fails unless it is back within the deadline"
    ]
    await run.ticks(3)  # 10 s .. 30 s
    assert run.status.phase is CanaryPhase.PROGRESSING
    lines = await run.tick()  # 40 s
    assert lines[0] == (
        "Deployment prod/podinfo not found (not ready for 40s, progressDeadlineSeconds is 30)"
    )
    assert run.status.phase is CanaryPhase.FAILED
    assert run.status.message == (
        "Progress deadline exceeded: Deployment prod/podinfo not found (not ready for 40s, "
        "progressDeadlineSeconds is 30)"
    )
    assert run.routes == (100, 0)
    assert run.world.target.primary_replicas == 1  # the primary keeps serving


async def test_a_target_back_within_the_deadline_lets_the_run_go_on() -> None:
    run = Run(new_canary(spec={"progressDeadlineSeconds": 30}))
    await run.release()
    await run.tick()
    run.world.target.exists = False
    await run.ticks(2)
    run.world.target.exists = True
    assert (await run.tick())[-1] == "Advance podinfo.prod canary weight 20"
    assert run.status.phase is CanaryPhase.PROGRESSING
