"""The rehearsal player: timeline changes applied at their tick or time, and when it stops.

Covers: moments at a tick and at a time; hooks, readiness, suspend and configs changes from a
timeline; values holding until changed; the play stopping after a release ends unless a later
revision is scripted; traffic split by the routes the controller set.
"""

from __future__ import annotations

from tests.controller.support import hook, metric, new_canary

from serinus.apis.status import CanaryPhase
from serinus.rehearsal.player import play
from serinus.rehearsal.timeline import Timeline


def _canary() -> object:
    return new_canary(
        stepWeight=50,
        metrics=[metric("request-success-rate", threshold=99)],
        webhooks=[hook("gate", "confirm-rollout")],
    )


async def test_a_gate_opened_at_a_time_lets_the_release_through() -> None:
    timeline = Timeline.model_validate(
        {
            "ticks": 30,
            "start": {"hooks": {"gate": "fail"}},
            "at": [{"tick": 2, "revision": "v2"}, {"time": "50s", "hooks": {"gate": "pass"}}],
        }
    )
    result = await play(_canary(), timeline)  # type: ignore[arg-type]
    messages = [line.message for line in result.lines]
    assert "Halt podinfo.prod advancement waiting for approval gate" in messages
    gate = next(
        line for line in result.lines if line.message == "Confirm-rollout check gate passed"
    )
    assert gate.seconds == 50
    assert result.status.phase is CanaryPhase.SUCCEEDED


async def test_the_play_stops_when_the_release_ends_unless_another_is_scripted() -> None:
    one = Timeline.model_validate({"ticks": 50, "at": [{"tick": 2, "revision": "v2"}]})
    result = await play(new_canary(stepWeight=50), one)
    assert result.status.phase is CanaryPhase.SUCCEEDED
    assert result.ticks < 10
    two = Timeline.model_validate(
        {"ticks": 50, "at": [{"tick": 2, "revision": "v2"}, {"tick": 20, "revision": "v3"}]}
    )
    result = await play(new_canary(stepWeight=50), two)
    assert result.status.last_promoted_spec == "v3"


async def test_readiness_and_suspend_from_the_timeline() -> None:
    timeline = Timeline.model_validate(
        {
            "ticks": 12,
            "at": [
                {"tick": 2, "revision": "v2"},
                {"tick": 3, "ready": {"canary": False}, "suspend": True},
                {"tick": 6, "suspend": False},
            ],
        }
    )
    result = await play(new_canary(stepWeight=50), timeline)
    messages = [line.message for line in result.lines]
    assert "skipping canary run as object is suspended" in messages
    assert messages[-1] == "canary deployment podinfo.prod not ready: waiting for rollout to finish"
    assert result.status.phase is CanaryPhase.PROGRESSING
