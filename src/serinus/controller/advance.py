"""``advance()``: one tick of one Canary, as a short list of named steps.

The steps follow Flagger's ``advanceCanary`` (reference §2): make sure the primary and the routes
exist, decide whether there is anything to do, wait for the workloads, then move the run one step:
start it, restart it on a new revision, roll it back, promote it, or judge the current step and
shift traffic. Two deliberate differences: the failed-checks threshold is checked before waiting for
readiness (so a failing run is rolled back within one tick), and the controller enforces
``progressDeadlineSeconds`` itself (:mod:`serinus.controller.readiness`), also for a target
deleted mid-run, which fails the run with a message once the deadline has passed.

Errors from the world are caught in one place (:func:`advance`): a log line and a Warning event;
the next tick tries again. A permanent error (an unknown provider, an invalid template) is also
written to the Promoted condition, so ``kubectl describe canary`` shows it.
"""

from __future__ import annotations

import contextlib

from serinus.apis.analysis import Severity
from serinus.apis.canary import Canary
from serinus.apis.status import ACTIVE_PHASES, CanaryPhase
from serinus.controller import (
    checks,
    control,
    hooks,
    lifecycle,
    manual,
    progression,
    queue,
    readiness,
    revision,
)
from serinus.controller.tick import Tick
from serinus.errors import SerinusError, TargetNotFoundError, is_retriable
from serinus.ports import Revision, World

_ANALYSING = (CanaryPhase.PROGRESSING, CanaryPhase.WAITING_PROMOTION)
_SUSPENDED = "skipping canary run as object is suspended"


async def advance(world: World, canary: Canary) -> Canary:
    """Run one tick of ``canary`` as the caller read it; the Canary as the tick left it.

    Never raises for errors of the world: they are told, and a permanent one is shown on the
    Promoted condition.
    """
    tick = Tick(world, canary)
    try:
        await _advance(tick)
        await tick.flush()
    except SerinusError as error:
        await tick.warning(str(error))
        if not is_retriable(error):
            await _show_permanent_error(tick, str(error))
        with contextlib.suppress(SerinusError):  # what was measured before the error
            await tick.flush()
    return tick.canary


async def _advance(tick: Tick) -> None:
    # a request made by hand (serinus promote, abort, pause...): refused, or recorded
    await control.take_request(tick)
    if tick.canary.spec.suspend:
        await _suspended(tick)
        return
    if tick.status.message == _SUSPENDED:
        await tick.update_status(message=None)
    # create the -canary/-primary Services, then the primary workload
    try:
        initialized = await _initialize(tick)
    except TargetNotFoundError as error:
        if tick.phase not in ACTIVE_PHASES:
            raise
        # the target was deleted mid-run: wait for it until the deadline, then roll back
        await _target_missing(tick, str(error))
        return
    if not initialized:
        return
    # nothing to do unless a run is under way or the target changed
    current = await tick.world.target.revision(tick.canary)
    if not await _should_advance(tick, current):
        return
    # the target changed during the analysis: start over
    if tick.phase in _ANALYSING and revision.changed(tick.status, current):
        await lifecycle.restart_run(tick, current)
        return
    # asked by hand: roll back or promote now, or hold the run where it is
    if await control.act(tick):
        return
    # too many failed checks: roll back at once, without waiting for any workload
    if tick.phase in _ANALYSING and tick.status.failed_checks >= tick.analysis.effective_threshold:
        await lifecycle.rollback(tick)
        return
    # the primary must serve before anything moves
    if not await _primary_ready(tick):
        return
    # a new revision: gate it, scale it up, start the analysis next tick
    if tick.phase not in (*_ANALYSING, CanaryPhase.PROMOTING, CanaryPhase.FINALISING):
        if not await hooks.confirm_rollout(tick):
            await queue.leave(tick)
        elif await queue.admitted(tick):  # --max-concurrent-runs: wait in order for a slot
            await lifecycle.start_run(tick, current)
        return
    await _move(tick)


async def _move(tick: Tick) -> None:
    """Move a run that is under way by one step."""
    if tick.phase is CanaryPhase.PROMOTING:
        await progression.route_back_to_primary(tick)
        return
    if tick.phase is CanaryPhase.FINALISING:
        await lifecycle.finish_promotion(tick)
        return
    # the canary must serve before it is judged
    if not await _canary_ready(tick):
        return
    if tick.skip_analysis:
        await lifecycle.skip_analysis(tick)
        return
    # a rollback webhook that answers 2xx asks for a rollback
    if await hooks.rollback_requested(tick):
        await tick.warning(f"Rolling back {tick.name} manual webhook invoked")
        await tick.alert("Rolling back manual webhook invoked", severity=Severity.WARN)
        await lifecycle.rollback(tick)
        return
    # judge the step: pre-rollout hooks on the first, checks on the others
    routes = await tick.world.router.get_routes(tick.canary)
    mirroring = bool(tick.analysis.mirror) and routes.mirrored
    if routes.canary == 0 and tick.status.iterations == 0 and not mirroring:
        await tick.info(f"Starting canary analysis for {tick.target}")
        if not await hooks.pre_rollout(tick):
            await tick.update_status(failed_checks=tick.status.failed_checks + 1)
            return
    else:
        result = await checks.run_analysis(tick)
        if result.outcome is checks.StepOutcome.REGRESSION:
            await lifecycle.roll_back_regression(tick, result.metric, result.reason)
            return
        if result.outcome is checks.StepOutcome.FAIL:
            await tick.update_status(failed_checks=tick.status.failed_checks + 1)
        if result.outcome is not checks.StepOutcome.PASS:
            return
        if result.clear_pass:
            await progression.step(tick, routes, early=True)
            return
    await progression.step(tick, routes)


async def _initialize(tick: Tick) -> bool:
    """Primary, Services and routes exist; during initialization, also finish it."""
    world, canary = tick.world, tick.canary
    initializing = tick.phase in (None, CanaryPhase.INITIALIZING)
    await world.router.initialize(canary)
    if initializing and tick.phase is None:
        await tick.update_status(phase=CanaryPhase.INITIALIZING)
        if not tick.skip_analysis:
            await _check_metric_providers(tick)
    await world.target.initialize(canary)
    if initializing and not tick.skip_analysis:
        primary = await readiness.check(tick, "primary")
        if not primary.ready:
            await _initialization_waits(tick, primary.message, stuck=not primary.retriable)
            return False
    await world.router.reconcile(canary)
    if initializing:
        await lifecycle.finish_initialization(tick)
        return False
    return True


async def _initialization_waits(tick: Tick, message: str, *, stuck: bool) -> None:
    """The primary is not ready yet; the target keeps serving meanwhile, so nothing is lost."""
    if not stuck:
        await tick.warning(message)
        return
    prefix = f"Initialization of {tick.name} is stuck, the target keeps serving: "
    if not (tick.status.message or "").startswith(prefix):
        text = prefix + message
        await tick.warning(text)
        await tick.alert(text, severity=Severity.ERROR)
        await tick.update_status(message=text)


async def _check_metric_providers(tick: Tick) -> None:
    try:
        await tick.world.metrics.check_online(tick.canary)
    except SerinusError as error:
        await tick.warning(f"Error checking metric providers: {error}")
    else:
        await tick.info("all the metrics providers are available!")


async def _should_advance(tick: Tick, current: Revision) -> bool:
    if tick.phase in ACTIVE_PHASES:
        return True
    if revision.changed(tick.status, current) or manual.rerun(tick.status, current.spec_hash):
        return True
    if tick.phase is CanaryPhase.FAILED and tick.status.last_applied_spec != current.spec_hash:
        # follow the target, so that re-applying the failed revision later starts a new run
        await tick.update_status(last_applied_spec=current.spec_hash)
    return False


async def _primary_ready(tick: Tick) -> bool:
    if tick.skip_analysis:
        return True
    primary = await readiness.check(tick, "primary")
    if primary.ready:
        return True
    if primary.retriable:
        await tick.warning(primary.message)
    elif tick.phase in (CanaryPhase.PROMOTING, CanaryPhase.FINALISING):
        await lifecycle.fail_promotion(tick, primary.message)
    elif tick.phase in ACTIVE_PHASES:
        await lifecycle.roll_back_stuck(tick, primary.message)
    else:
        await tick.warning(primary.message)
    return False


async def _target_missing(tick: Tick, message: str) -> None:
    missing = await readiness.missing(tick, message)
    if missing.retriable:
        await tick.warning(f"{message}; the run fails unless it is back within the deadline")
    else:
        await lifecycle.roll_back_stuck(tick, missing.message)


async def _canary_ready(tick: Tick) -> bool:
    canary = await readiness.check(tick, "canary")
    if canary.ready:
        return True
    if canary.retriable:
        await tick.warning(canary.message)
    else:
        await lifecycle.roll_back_stuck(tick, canary.message)
    return False


async def _suspended(tick: Tick) -> None:
    if tick.status.message != _SUSPENDED:
        await tick.info(_SUSPENDED)
        await tick.update_status(message=_SUSPENDED)


async def _show_permanent_error(tick: Tick, message: str) -> None:
    try:
        await tick.show_permanent_error(message)
    except SerinusError as error:
        tick.log.warning("Status could not be written: %s", error)
