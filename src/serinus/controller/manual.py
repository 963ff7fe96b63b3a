"""Requests made by hand: when each makes sense, and what it does to the run.

:func:`refusal` says why a request makes no sense for a Canary in its present state (None when it
does). It is pure, so the CLI and the dashboard ask it before writing a request (a clear answer at
once, without a round trip), and the operator asks it again when it handles the request, because
the run may have moved meanwhile.

The effects, applied by :mod:`serinus.controller.control` at the start of a tick (after the
primary and the routes are in place, before anything is judged); the rest of this module are the
pure rules that decide them:

* ``promote``: Flagger's promotion steps, now: the canary's template is copied to the primary
  (Promoting), traffic goes back to it (Finalising), the canary is scaled down (Succeeded). The
  confirm-promotion gates are not asked: the person is the gate.
* ``abort``: Flagger's rollback, now: all traffic to the primary, the canary scaled to zero,
  Failed, post-rollout hooks told.
* ``pause`` / ``resume``: while paused, the tick keeps the primary and routes in place and does
  nothing else: the weight holds, no check runs, no failed check is counted and no deadline runs.
  A new revision still restarts the run (and ends the pause: it is another release).
* ``retry``: a Failed run starts again for the same revision, as if it were new (the
  confirm-rollout gates are asked, the canary is scaled up, the analysis starts from zero).
* ``skip-analysis``: the current revision is promoted without analysis once the canary is ready
  (``spec.skipAnalysis`` for this revision only); on a Failed run it starts the run again first.
"""

from __future__ import annotations

from serinus.apis.control import Action, ControlStatus, Intent
from serinus.apis.status import CanaryPhase, CanaryStatus

UNDER_WAY = (CanaryPhase.PROGRESSING, CanaryPhase.WAITING, CanaryPhase.WAITING_PROMOTION)
PROMOTING = (CanaryPhase.PROMOTING, CanaryPhase.FINALISING)


def refusal(status: CanaryStatus | None, action: Action) -> str | None:
    """Why ``action`` makes no sense now; None when it does."""
    status = status or CanaryStatus()
    phase = status.phase
    control = status.control or ControlStatus()
    if phase is None or phase is CanaryPhase.INITIALIZING:
        return "the Canary is not initialized yet"
    if phase in (CanaryPhase.TERMINATING, CanaryPhase.TERMINATED):
        return "the Canary is being deleted"
    if action is Action.RESUME:
        return None if control.paused is not None else "the run is not paused"
    if action is Action.PAUSE and control.paused is not None:
        return f"the run is paused already (by {control.paused.by or 'someone'})"
    if action is Action.RETRY:
        return (
            None
            if phase is CanaryPhase.FAILED
            else f"only a Failed run can be retried; {_is(phase)}"
        )
    if phase in PROMOTING:
        if action is Action.ABORT:
            return (
                "the primary runs the new revision already (the canary passed its analysis): "
                "too late to abort; release the previous version instead"
            )
        return f"the new revision is being promoted already ({phase.value})"
    if phase in UNDER_WAY:
        return None
    return _idle(phase, action)


def _idle(phase: CanaryPhase, action: Action) -> str | None:
    """Between runs: Initialized, Succeeded or Failed."""
    if phase is CanaryPhase.FAILED:
        if action is Action.SKIP_ANALYSIS:
            return None
        if action is Action.PROMOTE:
            return (
                "the run Failed; retry runs the revision again, skip-analysis promotes it "
                "without analysis"
            )
        return f"no run is under way; {_is(phase)}"
    if action is Action.SKIP_ANALYSIS:
        return f"the primary runs the current revision already; {_is(phase)}"
    if action is Action.PROMOTE and phase is CanaryPhase.SUCCEEDED:
        return "the run Succeeded already: nothing to promote"
    return f"no run is under way; {_is(phase)}"


def _is(phase: CanaryPhase) -> str:
    return f"the Canary is {phase.value}"


def control_of(status: CanaryStatus) -> ControlStatus:
    return status.control or ControlStatus()


def wanted(intent: Intent | None, revision: str | None) -> bool:
    """Whether an intent is about this revision."""
    return intent is not None and revision is not None and intent.revision == revision


def rerun(status: CanaryStatus, revision: str) -> bool:
    """A Failed run of ``revision`` is asked to run again (retry, or skip-analysis)."""
    control = control_of(status)
    return status.phase is CanaryPhase.FAILED and (
        wanted(control.retry, revision) or wanted(control.skip_analysis, revision)
    )


def skips_analysis(status: CanaryStatus) -> bool:
    """The current revision is to be promoted without analysis."""
    return wanted(control_of(status).skip_analysis, status.last_applied_spec)


def for_new_run(status: CanaryStatus, revision: str) -> ControlStatus | None:
    """The control status a new run of ``revision`` starts with: the requests about earlier
    runs are done, a skip-analysis for this revision still holds."""
    control = status.control
    if control is None:
        return None
    skip = control.skip_analysis if wanted(control.skip_analysis, revision) else None
    if control.last is None and skip is None:
        return None
    return ControlStatus(last=control.last, skip_analysis=skip)
