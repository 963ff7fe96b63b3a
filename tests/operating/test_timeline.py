"""Covers: the run history recorded tick by tick from the real state machine: one run per
release with a point per tick (weights 10, 20 ... then back), closed with its outcome; a second
release starts a second run; idle ticks between runs record nothing; a retry of the same revision
(a new analysis start) is a run of its own; requests made by hand are kept once; the bounds: at
most MAX_POINTS points a run with every change of weight kept, MAX_RUNS runs, MAX_BYTES in all,
whatever is thrown at it."""

from __future__ import annotations

import datetime

from serinus.apis.control import Action, ControlRecord, ControlStatus
from serinus.apis.history import MAX_BYTES, MAX_POINTS, MAX_RUNS, History, MetricPoint, Point, Run
from serinus.apis.status import CanaryPhase
from serinus.operating import timeline
from tests.controller.support import Run as Driver
from tests.controller.support import new_canary


async def _play(driver: Driver, history: History) -> tuple[History, int]:
    """Tick until the run ends, recording each tick; the history and how many ticks wrote."""
    writes = 0
    for _ in range(60):
        await driver.tick()
        canary = driver.world.store.canaries[("prod", "podinfo")]
        at = driver.world.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        updated = timeline.record(history, canary, at=at)
        if updated is not None:
            history, writes = updated, writes + 1
        if driver.status.phase in (CanaryPhase.SUCCEEDED, CanaryPhase.FAILED):
            return history, writes
    raise AssertionError("the run never ended")


async def test_a_release_is_one_run_with_a_point_per_tick():
    driver = Driver(new_canary(stepWeight=20))
    await driver.release()
    history = History(canary="podinfo.prod")
    history, writes = await _play(driver, history)
    assert len(history.runs) == 1
    run = history.runs[0]
    assert run.outcome == "Succeeded"
    assert run.ended is not None
    assert run.revision == "rev-2"
    assert run.interval_seconds == 10.0
    weights = [p.weight for p in run.points]
    assert weights[:6] == [20, 40, 60, 80, 100, 100]
    assert run.points[-1].phase == "Succeeded"
    assert writes == len(run.points)

    # idle ticks after the run write nothing
    for _ in range(3):
        await driver.tick()
        canary = driver.world.store.canaries[("prod", "podinfo")]
        assert timeline.record(history, canary, at="2030-01-01T00:00:00Z") is None

    driver.world.target.spec_hash = "rev-3"
    await driver.tick()
    history, _ = await _play(driver, history)
    assert [r.revision for r in history.runs] == ["rev-2", "rev-3"]


async def test_a_new_analysis_of_the_same_revision_is_a_new_run():
    driver = Driver(new_canary(stepWeight=50))
    await driver.release()
    history, _ = await _play(driver, History())
    canary = driver.world.store.canaries[("prod", "podinfo")]
    later = (driver.world.clock.now() + datetime.timedelta(minutes=5)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    status = canary.status.model_copy(
        update={"phase": CanaryPhase.PROGRESSING, "analysis_start_time": later, "canary_weight": 0}
    )
    retried = timeline.record(history, canary.model_copy(update={"status": status}), at=later)
    assert retried is not None
    assert [r.revision for r in retried.runs] == ["rev-2", "rev-2"]
    assert retried.runs[-1].started == later
    assert retried.runs[-1].ended is None


async def test_a_request_is_kept_once_with_who_asked():
    driver = Driver(new_canary(stepWeight=10))
    await driver.release()
    history, _ = await _play(driver, History())
    canary = driver.world.store.canaries[("prod", "podinfo")]
    record = ControlRecord(
        action=Action.PAUSE, id="x1", by="alice", at="a", handled_at="2100-01-01T00:00:00Z"
    )
    status = canary.status.model_copy(
        update={"phase": CanaryPhase.PROGRESSING, "control": ControlStatus(last=record)}
    )
    history = History(runs=[history.runs[0].model_copy(update={"ended": None})])
    paused = canary.model_copy(update={"status": status})
    once = timeline.record(history, paused, at="2100-01-01T00:00:01Z")
    assert once is not None
    assert [(r.action, r.by) for r in once.runs[-1].requests] == [("pause", "alice")]
    again = timeline.record(once, paused, at="2100-01-01T00:00:02Z")
    assert again is None  # same point, same request: nothing new


def _point(second: int, weight: int) -> Point:
    metric = MetricPoint(name="request-success-rate", value=99.5, min=99.0, verdict="pass")
    stamp = f"2030-01-01T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"
    return Point(at=stamp, phase="Progressing", weight=weight, metrics=[metric] * 10)


def test_a_long_run_is_thinned_keeping_every_change_of_weight():
    points = [_point(s, weight=(s // 100) * 5) for s in range(MAX_POINTS * 3)]
    kept = timeline._thinned(points, MAX_POINTS)
    assert len(kept) <= MAX_POINTS
    assert kept[0] == points[0]
    assert kept[-1] == points[-1]
    changes = {p.weight for p in points}
    assert {p.weight for p in kept} == changes


def test_the_history_stays_within_its_bounds():
    runs = [
        Run(revision=f"r{i}", started="2030", ended="2031", outcome="Failed",
            points=[_point(s, s % 100) for s in range(MAX_POINTS)])
        for i in range(MAX_RUNS * 2)
    ]  # fmt: skip
    history = timeline.bounded(History(canary="x", runs=runs))
    assert len(history.runs) <= MAX_RUNS
    assert timeline.size(history) <= MAX_BYTES
    assert history.runs[-1].revision == f"r{MAX_RUNS * 2 - 1}"  # the newest is kept
    assert len(history.runs[-1].points) == MAX_POINTS  # and kept whole when it fits
