"""Running the webhooks of a Canary at the moments Flagger calls them.

Gates (confirm-rollout, confirm-traffic-increase, confirm-promotion) hold the run without counting
a failed check; pre-rollout and rollout hooks are checks (a failure counts); post-rollout hooks only
report; a rollback hook that *succeeds* asks for a rollback. Messages keep Flagger's wording.
"""

from __future__ import annotations

from serinus.apis.analysis import CanaryWebhook, HookType, Severity
from serinus.apis.status import CanaryPhase
from serinus.controller.tick import Tick
from serinus.errors import SerinusError


async def _first_failure(
    tick: Tick, hook_type: HookType, phase: CanaryPhase | None = None
) -> tuple[CanaryWebhook, str] | None:
    """Call every hook of a type in order; the first that fails, with why."""
    phase = phase or tick.phase or CanaryPhase.PROGRESSING
    for hook in tick.analysis.hooks(hook_type):
        try:
            await tick.world.webhooks.call(tick.canary, hook, phase)
        except SerinusError as error:
            return hook, str(error)
    return None


async def confirm_rollout(tick: Tick) -> bool:
    """Gate before a new revision is scaled up; a closed gate puts the Canary in Waiting."""
    failure = await _first_failure(tick, HookType.CONFIRM_ROLLOUT)
    if failure is None:
        for hook in tick.analysis.hooks(HookType.CONFIRM_ROLLOUT):
            await tick.info(f"Confirm-rollout check {hook.name} passed")
        return True
    hook, _ = failure
    if tick.phase is not CanaryPhase.WAITING:
        await tick.update_status(phase=CanaryPhase.WAITING)
        await tick.warning(f"Halt {tick.name} advancement waiting for approval {hook.name}")
        if not hook.mute_alert:
            await tick.alert("Canary is waiting for approval.", severity=Severity.WARN)
    return False


async def confirm_traffic_increase(tick: Tick) -> bool:
    """Gate before each weight increase (and the promotion step); a closed gate holds the weight.

    As in Flagger, each hook that lets the traffic grow says so, up to the first that does not.
    """
    failure = await _first_failure(tick, HookType.CONFIRM_TRAFFIC_INCREASE, CanaryPhase.PROGRESSING)
    for hook in tick.analysis.hooks(HookType.CONFIRM_TRAFFIC_INCREASE):
        if failure is not None and hook is failure[0]:
            break
        await tick.info(f"Confirm-traffic-increase check {hook.name} passed")
    if failure is None:
        return True
    hook, _ = failure
    await tick.warning(
        f"Halt {tick.name} advancement waiting for traffic increase approval {hook.name}"
    )
    if not hook.mute_alert:
        await tick.alert("Canary traffic increase is waiting for approval.", severity=Severity.WARN)
    return False


async def confirm_promotion(tick: Tick) -> bool:
    """Gate before promotion; a closed gate puts the Canary in WaitingPromotion."""
    failure = await _first_failure(tick, HookType.CONFIRM_PROMOTION, CanaryPhase.PROGRESSING)
    if failure is None:
        for hook in tick.analysis.hooks(HookType.CONFIRM_PROMOTION):
            await tick.info(f"Confirm-promotion check {hook.name} passed")
        return True
    hook, _ = failure
    if tick.phase is not CanaryPhase.WAITING_PROMOTION:
        await tick.update_status(phase=CanaryPhase.WAITING_PROMOTION)
        await tick.warning(
            f"Halt {tick.name} advancement waiting for promotion approval {hook.name}"
        )
        if not hook.mute_alert:
            await tick.alert("Canary promotion is waiting for approval.", severity=Severity.WARN)
    return False


async def pre_rollout(tick: Tick) -> bool:
    """Checks before the first traffic shift; a failure counts as a failed check."""
    return await _checks(tick, HookType.PRE_ROLLOUT, "pre-rollout check", "Pre-rollout check")


async def rollout(tick: Tick) -> bool:
    """Checks (load tests, external checks) at every analysis step; a failure counts."""
    return await _checks(tick, HookType.ROLLOUT, "external check", None)


async def _checks(tick: Tick, hook_type: HookType, what: str, passed: str | None) -> bool:
    """Run the check hooks of a type in order; say which failed (and, if asked, which passed)."""
    failure = await _first_failure(tick, hook_type, CanaryPhase.PROGRESSING)
    for hook in tick.analysis.hooks(hook_type):
        if failure is not None and hook is failure[0]:
            await tick.warning(
                f"Halt {tick.name} advancement {what} {hook.name} failed {failure[1]}"
            )
            return False
        if passed is not None:
            await tick.info(f"{passed} {hook.name} passed")
    return True


async def rollback_requested(tick: Tick) -> bool:
    """Whether a rollback hook answered with success, which asks for a rollback (each hook's
    answer is said in Flagger's words)."""
    phase = tick.phase or CanaryPhase.PROGRESSING
    for hook in tick.analysis.hooks(HookType.ROLLBACK):
        try:
            await tick.world.webhooks.call(tick.canary, hook, phase)
        except SerinusError:
            await tick.info(f"Rollback hook {hook.name} not signaling a rollback")
            continue
        await tick.warning(f"Rollback check {hook.name} passed")
        return True
    return False


async def post_rollout(tick: Tick) -> None:
    """Report the end of a run; failures are only logged."""
    phase = tick.phase or CanaryPhase.SUCCEEDED
    for hook in tick.analysis.hooks(HookType.POST_ROLLOUT):
        try:
            await tick.world.webhooks.call(tick.canary, hook, phase)
        except SerinusError as error:
            await tick.warning(f"Post-rollout hook {hook.name} failed {error}")
        else:
            await tick.info(f"Post-rollout check {hook.name} passed")
