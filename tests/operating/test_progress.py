"""Covers: step n of N and the ticks left, checked against the state machine itself: for a
progressive canary (stepWeight, stepWeights, maxWeight, stepWeightPromotion), A/B testing and
blue/green, the ticks predicted when a run starts are exactly the ticks the controller takes to
reach Succeeded, and the prediction counts down by one at every tick; the deadline of a run
(ticks, threshold and twice the progress deadline after the analysis started), none while
paused or waiting for a gate."""

from __future__ import annotations

import datetime

import pytest

from serinus.apis.base import parse_time
from serinus.apis.control import Action, ControlRecord, ControlStatus
from serinus.apis.status import CanaryPhase
from serinus.operating import progress
from tests.controller.support import Run, new_canary

RUNS = [
    pytest.param({"stepWeight": 10}, "weight", 10, id="stepWeight 10 to 100"),
    pytest.param({"stepWeight": 5, "maxWeight": 50}, "weight", 10, id="stepWeight 5 to 50"),
    pytest.param({"stepWeight": None, "stepWeights": [1, 10, 50]}, "weight", 3, id="stepWeights"),
    pytest.param(
        {"stepWeight": 20, "maxWeight": 60, "stepWeightPromotion": 25}, "weight", 3,
        id="stepWeightPromotion",
    ),
    pytest.param({"stepWeight": None, "iterations": 4}, "iteration", 4, id="blue/green"),
    pytest.param(
        {"stepWeight": None, "iterations": 3, "match": [{"headers": {"x": {"exact": "1"}}}]},
        "iteration", 3, id="A/B testing",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("analysis", "unit", "steps"), RUNS)
async def test_the_ticks_predicted_are_the_ticks_the_controller_takes(analysis, unit, steps):
    run = Run(new_canary(**analysis))
    await run.release()
    assert run.status.phase is CanaryPhase.PROGRESSING
    predicted = []
    taken = 0
    while run.status.phase is not CanaryPhase.SUCCEEDED:
        canary = run.world.store.canaries[("prod", "podinfo")]
        found = progress.progress(canary, provider="linkerd")
        assert found is not None
        assert (found.unit, found.steps) == (unit, steps)
        predicted.append(found.ticks_left)
        await run.tick()
        taken += 1
        assert taken < 100
    assert predicted[0] == taken
    assert predicted == list(range(taken, 0, -1))  # one less at every tick


def test_time_left_subtracts_the_time_already_spent_in_the_step():
    found = progress.Progress(
        step=2, steps=10, unit="weight", ticks_left=10, ticks=13, interval=10.0
    )
    assert progress.time_left(found, in_step=0) == 100
    assert progress.time_left(found, in_step=4) == 96
    assert progress.time_left(found, in_step=40) == 90  # at most one interval is ever spent


async def test_the_deadline_counts_from_the_analysis_start():
    run = Run(new_canary(stepWeight=10, threshold=5, interval="10s"))
    await run.release()
    canary = run.world.store.canaries[("prod", "podinfo")]
    started = parse_time(run.status.analysis_start_time)
    assert started is not None
    # 10 steps + promote + back + finish = 13 ticks, + 5 failed ones, at 10 s; + 2 x 600 s
    expected = started + datetime.timedelta(seconds=18 * 10 + 1200)
    assert progress.deadline(canary) == expected


async def test_no_deadline_while_paused_or_waiting_for_a_person():
    run = Run(new_canary())
    await run.release()
    canary = run.world.store.canaries[("prod", "podinfo")]
    assert progress.deadline(canary) is not None
    paused = ControlRecord(action=Action.PAUSE, id="1", by="alice")
    status = canary.status.model_copy(update={"control": ControlStatus(paused=paused)})
    assert progress.deadline(canary.model_copy(update={"status": status})) is None
    waiting = canary.status.model_copy(update={"phase": CanaryPhase.WAITING_PROMOTION})
    assert progress.deadline(canary.model_copy(update={"status": waiting})) is None


def test_the_weights_of_each_plan_are_its_own_however_often_asked():
    plans = [
        ({"stepWeight": 10}, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),
        ({"stepWeight": 10, "maxWeight": 30}, [10, 20, 30]),
        ({"stepWeight": 40, "maxWeight": 90}, [40, 80, 90]),
        ({"stepWeight": None, "stepWeights": [1, 10, 50]}, [1, 10, 50]),
        ({"stepWeight": None, "stepWeights": [1, 10, 60]}, [1, 10, 60]),
    ]
    for _ in range(2):
        for fields, expected in plans:
            analysis = new_canary(**fields).spec.effective_analysis
            found = progress.weights(analysis)
            assert found == expected
            found.append(1000)  # the caller's list: the next ask is not changed
