"""Covers: when a request made by hand makes sense: every action against every phase (and a
paused run), and the refusals name the phase or the person who paused, in plain words."""

from __future__ import annotations

import pytest

from serinus.apis.control import Action, ControlRecord, ControlStatus
from serinus.apis.status import CanaryPhase, CanaryStatus
from serinus.controller.manual import refusal

P = CanaryPhase
ALLOWED = {
    Action.PROMOTE: {P.PROGRESSING, P.WAITING, P.WAITING_PROMOTION},
    Action.ABORT: {P.PROGRESSING, P.WAITING, P.WAITING_PROMOTION},
    Action.PAUSE: {P.PROGRESSING, P.WAITING, P.WAITING_PROMOTION},
    Action.RESUME: set(),  # only a paused run
    Action.RETRY: {P.FAILED},
    Action.SKIP_ANALYSIS: {P.PROGRESSING, P.WAITING, P.WAITING_PROMOTION, P.FAILED},
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("phase", [None, *CanaryPhase])
def test_each_action_makes_sense_only_in_its_phases(action, phase):
    reason = refusal(CanaryStatus(phase=phase), action)
    if phase in ALLOWED[action]:
        assert reason is None
    else:
        assert reason, f"{action} in {phase} should be refused"
        assert len(reason) < 200


def test_promote_on_a_succeeded_canary_says_there_is_nothing_to_promote():
    assert refusal(CanaryStatus(phase=P.SUCCEEDED), Action.PROMOTE) == (
        "the run Succeeded already: nothing to promote"
    )


def test_abort_while_promoting_is_too_late():
    reason = refusal(CanaryStatus(phase=P.PROMOTING), Action.ABORT)
    assert reason is not None
    assert "too late to abort" in reason


def test_a_paused_run_can_be_resumed_and_not_paused_twice():
    paused = ControlStatus(paused=ControlRecord(action=Action.PAUSE, id="1", by="alice"))
    status = CanaryStatus(phase=P.PROGRESSING, control=paused)
    assert refusal(status, Action.RESUME) is None
    assert refusal(status, Action.PAUSE) == "the run is paused already (by alice)"
    assert refusal(status, Action.ABORT) is None
    assert refusal(CanaryStatus(phase=P.PROGRESSING), Action.RESUME) == "the run is not paused"
