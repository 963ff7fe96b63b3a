"""The transitions of a release: initialize, start, restart, promote, finish, roll back.

Each function performs the world changes of one transition in the order that keeps traffic safe
(routes move before a workload is scaled down; a workload is scaled up before routes move to it),
then writes the status, then tells people. If the operator dies between two of these writes, the
next tick finds the same phase and repeats the transition; every step is idempotent.
"""

from __future__ import annotations

import contextlib

from serinus.apis.analysis import Severity
from serinus.apis.status import CanaryPhase, StatusChanges
from serinus.controller import hooks, manual, strategies
from serinus.controller.tick import Tick
from serinus.errors import TargetNotFoundError
from serinus.ports import Revision


async def finish_initialization(tick: Tick) -> None:
    """The primary serves: scale the target down and wait for a new revision."""
    kind = tick.canary.spec.target_ref.kind
    tick.log.info("Scaling down %s %s", kind, tick.target)
    await tick.world.target.scale_to_zero(tick.canary)
    revision = await tick.world.target.revision(tick.canary)
    await tick.update_status(
        phase=CanaryPhase.INITIALIZED,
        canary_weight=0,
        failed_checks=0,
        iterations=0,
        last_applied_spec=revision.spec_hash,
        last_promoted_spec=revision.spec_hash,
        tracked_configs=revision.configs,
        not_ready_since=None,
        message=None,
    )
    await tick.info(f"Initialization done! {tick.name}")
    await tick.alert(
        f"New {kind} detected, initialization completed.", severity=Severity.INFO, details=True
    )


async def start_run(tick: Tick, revision: Revision) -> None:
    """A new revision passed its confirm-rollout gates: scale it up and start the analysis."""
    await tick.info(f"New revision detected! Scaling up {tick.target}")
    await tick.alert(
        "New revision detected, progressing canary analysis.", severity=Severity.INFO, details=True
    )
    await tick.world.target.scale_from_zero(tick.canary)
    await _reset_run(tick, revision)


async def restart_run(tick: Tick, revision: Revision) -> None:
    """The target changed during the analysis: all traffic back to the primary, start over."""
    await tick.info(f"New revision detected! Restarting analysis for {tick.target}")
    await tick.world.router.set_routes(tick.canary, strategies.all_to_primary())
    await _reset_run(tick, revision)


async def _reset_run(tick: Tick, revision: Revision) -> None:
    await tick.update_status(
        control=manual.for_new_run(tick.status, revision.spec_hash),
        phase=CanaryPhase.PROGRESSING,
        canary_weight=0,
        failed_checks=0,
        iterations=0,
        last_applied_spec=revision.spec_hash,
        tracked_configs=revision.configs,
        metrics=None,
        judge=None,
        analysis_start_time=tick.timestamp(),
        not_ready_since=None,
        message=None,
        queued=None,
    )
    cookies = tick.canary.session_cookies()
    if cookies is not None:
        # the run's session-affinity cookies; a restarted run's are retired first
        await tick.update_status(
            session_affinity_cookie=cookies[0],
            primary_session_affinity_cookie=cookies[1],
            previous_session_affinity_cookie=_previous_cookie(tick),
        )


def _previous_cookie(tick: Tick) -> str | None:
    """The previous session-affinity cookie once the run ends: the run's own, which the routes
    now answer expired."""
    status = tick.status
    return status.session_affinity_cookie or status.previous_session_affinity_cookie


async def promote(tick: Tick) -> None:
    """Copy the canary's template to the primary; the primary's rollout starts.

    A primary that stops serving while it is promoted (a StatefulSet promoted from zero) first
    hands all traffic to the canary, which runs the same revision.
    """
    if await tick.world.target.promotion_stops_primary(tick.canary):
        routes = await tick.world.router.get_routes(tick.canary)
        if routes.canary < strategies.FULL_WEIGHT:
            await tick.info("Routing all traffic to canary")
            await tick.world.router.set_routes(tick.canary, strategies.all_to_canary())
            await tick.update_status(canary_weight=strategies.FULL_WEIGHT)
    await _copy_to_primary(tick)
    await tick.update_status(phase=CanaryPhase.PROMOTING)


async def _copy_to_primary(tick: Tick) -> None:
    target = tick.canary.spec.target_ref.name
    await tick.info(
        f"Copying {tick.target} template spec to {target}-primary.{tick.canary.namespace}"
    )
    await tick.world.target.promote(tick.canary)


async def finish_promotion(tick: Tick) -> None:
    """The primary runs the new revision and has all traffic: scale the canary down."""
    await _succeed(tick)
    await tick.info(f"Promotion completed! Scaling down {tick.name}")
    await tick.alert(
        "Canary analysis completed successfully, promotion finished.", severity=Severity.INFO
    )


async def skip_analysis(tick: Tick) -> None:
    """skipAnalysis: promote a ready canary at once."""
    await tick.world.router.set_routes(tick.canary, strategies.all_to_primary())
    await _copy_to_primary(tick)
    await _succeed(tick)
    await tick.info(f"Promotion completed! Canary analysis was skipped for {tick.target}")
    await tick.alert("Canary analysis was skipped, promotion finished.", severity=Severity.INFO)


async def _succeed(tick: Tick) -> None:
    """The canary down, the run Succeeded, the post-rollout hooks told."""
    await tick.world.target.scale_to_zero(tick.canary)
    await tick.update_status(
        phase=CanaryPhase.SUCCEEDED,
        canary_weight=0,
        last_promoted_spec=tick.status.last_applied_spec,
        not_ready_since=None,
        session_affinity_cookie=None,
        previous_session_affinity_cookie=_previous_cookie(tick),
    )
    await hooks.post_rollout(tick)


async def rollback(tick: Tick, *, message: str | None = None) -> None:
    """All traffic back to the primary, the canary scaled down, the run failed (``message`` on
    the status says why, when the reason is not the failed checks)."""
    threshold = tick.analysis.effective_threshold
    if tick.status.failed_checks >= threshold:
        await tick.warning(f"Rolling back {tick.name} failed checks threshold reached {threshold}")
        await tick.alert(f"Failed checks threshold reached {threshold}", severity=Severity.ERROR)
    await tick.world.router.set_routes(tick.canary, strategies.all_to_primary())
    await tick.warning(f"Canary failed! Scaling down {tick.name}")
    with contextlib.suppress(TargetNotFoundError):  # deleted: nothing left to scale down
        await tick.world.target.scale_to_zero(tick.canary)
    # Flagger's failed status starts from zero: no weight, no failed checks, no iterations.
    changes: StatusChanges = {
        "phase": CanaryPhase.FAILED,
        "canary_weight": 0,
        "failed_checks": 0,
        "iterations": 0,
        "not_ready_since": None,
        "session_affinity_cookie": None,
        "previous_session_affinity_cookie": _previous_cookie(tick),
    }
    if message is not None:
        changes["message"] = message
    await tick.update_status(**changes)
    await hooks.post_rollout(tick)


async def roll_back_stuck(tick: Tick, message: str) -> None:
    """The canary (or the primary) never became ready within the progress deadline: say why in
    the workload's own words, as Flagger does, then roll back."""
    await tick.warning(message)
    await tick.alert(f"Progress deadline exceeded {message}", severity=Severity.ERROR)
    await rollback(tick, message=f"Progress deadline exceeded: {message}")


async def roll_back_regression(tick: Tick, metric: str, reason: str) -> None:
    """The sequential judge found the canary worse than the primary: roll back now."""
    await tick.warning(f"Rolling back {tick.name} canary regression on {metric}")
    await tick.alert(f"Canary regression on {metric}: {reason}", severity=Severity.ERROR)
    await rollback(tick)


async def fail_promotion(tick: Tick, message: str) -> None:
    """The primary cannot take the traffic back: keep it on the canary, which runs the same
    revision and is ready, and fail the run (Flagger 1.44, #1898)."""
    text = f"Promotion of {tick.target} failed, primary not ready: {message}"
    await tick.warning(text)
    await tick.alert(text, severity=Severity.ERROR)
    await tick.world.router.set_routes(tick.canary, strategies.all_to_canary())
    await tick.update_status(
        phase=CanaryPhase.FAILED,
        canary_weight=strategies.FULL_WEIGHT,
        not_ready_since=None,
        session_affinity_cookie=None,
        previous_session_affinity_cookie=_previous_cookie(tick),
    )
    await hooks.post_rollout(tick)
