"""Requests made by hand, in a tick: take the request on the Canary, then act on what it asks.

:func:`take_request` reads the ``serinus.io/request`` annotation and handles each request once
(by its id): a request that makes no sense now (:func:`serinus.controller.manual.refusal`) is
recorded as refused with the reason, in the status and a Warning event naming who asked; one that
does is recorded with what it asks for, as an intent for the current revision, in one status
write, and an Event says who asked for what. :func:`act` then does what the intents ask of a run
under way, on this tick and any later one until it is done: roll back (abort), promote, or hold
(pause). Retry and skip-analysis act through :func:`serinus.controller.manual.rerun` and
:func:`serinus.controller.manual.skips_analysis`, where the tick decides whether to start a run
and whether to judge it.
"""

from __future__ import annotations

from serinus.apis.analysis import Severity
from serinus.apis.control import Action, ControlRecord, ControlStatus, Intent, read_request
from serinus.apis.status import CanaryStatus
from serinus.controller import lifecycle
from serinus.controller.manual import UNDER_WAY, control_of, refusal, wanted
from serinus.controller.tick import Tick

_WHAT = {
    Action.PROMOTE: "Promotion of {name} requested by {by}",
    Action.ABORT: "Rollback of {name} requested by {by}",
    Action.PAUSE: "Pause of {name} at canary weight {weight} requested by {by}",
    Action.RESUME: "Resume of {name} requested by {by}",
    Action.RETRY: "Retry of {name} revision {revision} requested by {by}",
    Action.SKIP_ANALYSIS: "Skipping the analysis of {name} revision {revision}, requested by {by}",
}


async def take_request(tick: Tick) -> None:
    """Handle the request on the Canary, once: refuse it, or record what it asks for."""
    found = read_request(tick.canary.metadata.annotations)
    if found is None:
        return
    control = control_of(tick.status)
    if isinstance(found, str):
        if control.last is None or control.last.message != found:
            await tick.warning(f"Request on {tick.name} ignored: {found}")
            record = ControlRecord(
                id="", accepted=False, message=found, handled_at=tick.timestamp()
            )
            await tick.update_status(control=control.model_copy(update={"last": record}))
        return
    if control.last is not None and control.last.id == found.id:
        return
    by = found.by or "someone"
    reason = refusal(tick.status, found.action)
    if tick.canary.spec.suspend:
        reason = "the Canary is suspended (spec.suspend)"
    record = ControlRecord(
        action=found.action, id=found.id, by=found.by, at=found.at,
        handled_at=tick.timestamp(), accepted=reason is None, message=reason,
    )  # fmt: skip
    if reason is not None:
        await tick.warning(
            f"{found.action.value} of {tick.name} requested by {by} refused: {reason}"
        )
        await tick.update_status(control=control.model_copy(update={"last": record}))
        return
    text = _WHAT[found.action].format(
        name=tick.name, by=by, weight=tick.status.canary_weight,
        revision=tick.status.last_applied_spec or "?",
    )  # fmt: skip
    record.message = text
    await tick.update_status(control=_intended(control, record, tick.status))
    await tick.info(text)


def _intended(control: ControlStatus, record: ControlRecord, status: CanaryStatus) -> ControlStatus:
    """The control status once the accepted request is recorded."""
    changes: dict[str, object] = {"last": record}
    intent = Intent(revision=status.last_applied_spec or "", by=record.by)
    action = record.action
    if action is Action.PAUSE:
        changes["paused"] = record
    elif action is Action.RESUME:
        changes["paused"] = None
    elif action is Action.PROMOTE:
        changes.update(promote=intent, paused=None)
    elif action is Action.ABORT:
        changes.update(abort=intent, paused=None)
    elif action is Action.RETRY:
        changes["retry"] = intent
    elif action is Action.SKIP_ANALYSIS:
        changes.update(skip_analysis=intent, paused=None)
    return control.model_copy(update=changes)


async def act(tick: Tick) -> bool:
    """Do what recorded requests ask of a run under way; True when the tick ends here."""
    status = tick.status
    if status.phase not in UNDER_WAY:
        return False
    control = control_of(status)
    revision = status.last_applied_spec
    if wanted(control.abort, revision):
        assert control.abort is not None
        await tick.warning(f"Rolling back {tick.name} manual abort requested by {control.abort.by}")
        await tick.alert(
            f"Rolling back, abort requested by {control.abort.by}", severity=Severity.WARN
        )
        await lifecycle.rollback(tick)
        return True
    if wanted(control.promote, revision):
        await lifecycle.promote(tick)
        return True
    if control.paused is not None:
        tick.log.info(
            "%s paused by %s, holding canary weight %d",
            tick.name, control.paused.by or "someone", status.canary_weight,
        )  # fmt: skip
        return True
    return False
