"""Covers: a history held between ticks (serinus.operator.held) writes the very bytes the whole
history would (stdlib JSON, non-ASCII and control characters escaped, NaN and huge or tiny
floats as the stdlib writes them), and recording ticks on it gives, tick after tick, the history
that timeline.record on the whole gives: through long runs thinned at MAX_POINTS, histories
pushed over MAX_BYTES by long messages, new runs past MAX_RUNS, retries, requests and endings."""

from __future__ import annotations

import json
import random

from serinus.apis.control import Action, ControlRecord, ControlStatus
from serinus.apis.history import MAX_POINTS, MAX_RUNS, History, MetricPoint, Point, Request, Run
from serinus.apis.status import CanaryPhase, CanaryStatus, Comparison, MetricStatus
from serinus.kube.history import text
from serinus.operating import timeline
from serinus.operator.held import Held
from tests.controller.support import new_canary

TRICKY = [
    "plain",
    "naïve \u2013 ünïcode ✓",
    "tab\there\nnewline \x01\x1f \x7f",
    "𝄞 astral",
    '"q" \\ /',
]
FLOATS = [0.0, 99.5, float("nan"), float("inf"), float("-inf"), 1e20, 1.2345e-5, -3.0, 1e16]


def _stamp(second: int) -> str:
    day, rest = divmod(second, 86400)
    return f"2030-01-{1 + day:02d}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}Z"


def test_its_text_is_the_whole_historys_byte_for_byte():
    points = [
        Point(at=_stamp(i), phase="Progressing", weight=i, message=TRICKY[i % len(TRICKY)],
              metrics=[MetricPoint(name=TRICKY[j], value=FLOATS[(i + j) % len(FLOATS)],
                                   min=FLOATS[j], verdict="pass", judge="not-yet", ratio=1e-7)
                       for j in range(3)])
        for i in range(12)
    ]  # fmt: skip
    requests = [Request(at=_stamp(3), action="pause", by=TRICKY[1], message=TRICKY[2])]
    shapes = [
        History(),
        History(canary=TRICKY[3]),
        History(canary="p.prod", runs=[Run(revision="r1", started="s")]),
        History(canary="p.prod", runs=[Run(revision="r1", started="s", points=points[:1])]),
        History(
            canary="p.prod",
            runs=[
                Run(revision="r0", started="s0", ended="e", outcome="Failed", points=points[:5]),
                Run(
                    revision=TRICKY[2],
                    started="s",
                    interval_seconds=10.0,
                    threshold=2,
                    max_weight=50,
                    points=points,
                    requests=requests,
                ),
            ],
        ),
    ]
    for history in shapes:
        held = Held.of(history)
        assert held.text() == text(history)
        assert text(held.whole()) == text(history)  # (NaN != NaN: compared as text)
        assert held.extra + timeline.size(held.window) == timeline.size(history)


def _status(rng: random.Random, tick: int, revision: str, start: str) -> CanaryStatus:
    phase = rng.choice([CanaryPhase.PROGRESSING] * 6 + [CanaryPhase.WAITING, CanaryPhase.PROMOTING])
    long = tick > MAX_POINTS and rng.random() < 0.5  # large once the long run was thinned
    metrics = [
        MetricStatus(
            name=rng.choice(TRICKY) + ("-" + "m" * 280 if long else ""),
            value=rng.choice(FLOATS),
            max=rng.choice(FLOATS),
            verdict=rng.choice(["pass", "fail", "nodata"]),
            comparison=Comparison(outcome="not-yet", reason="r", ratio=rng.choice(FLOATS))
            if rng.random() < 0.5
            else None,
        )
        for _ in range(rng.choice([0, 2, 20 if long else 3]))
    ]
    control = None
    if rng.random() < 0.05:
        record = ControlRecord(
            action=Action.PAUSE,
            id=f"x{tick}",
            by=rng.choice(TRICKY),
            at="a",
            handled_at=_stamp(tick * 10),
            message=rng.choice(TRICKY),
        )
        control = ControlStatus(last=record)
    return CanaryStatus(
        phase=phase,
        canary_weight=rng.choice([tick % 100, 10, 10, 20]),
        iterations=rng.choice([0, 0, 1]),
        failed_checks=rng.choice([0, 0, 0, 1]),
        metrics=metrics,
        message=rng.choice(TRICKY) * (40 if long else 1),
        last_applied_spec=revision,
        analysis_start_time=start,
        control=control,
    )


def test_recording_on_it_gives_what_recording_on_the_whole_gives():
    """A long random walk: every tick's text equals the whole history's, whichever way it went."""
    rng = random.Random(15)
    canary = new_canary()
    whole = History(canary=canary.key)
    held = Held.of(whole)
    revision, start = "r0", _stamp(0)
    ends = {MAX_POINTS + 40, MAX_POINTS + 190, MAX_POINTS + 195}  # a long run, then shorter
    windowed = longest = 0
    for tick in range(MAX_POINTS + 260):
        status = _status(rng, tick, revision, start)
        if tick in ends:
            ended = rng.choice([CanaryPhase.SUCCEEDED, CanaryPhase.FAILED])
            status = status.model_copy(update={"phase": ended})
            revision, start = f"r{tick}", _stamp(tick * 10)
        elif tick == MAX_POINTS + 60:
            start = _stamp(tick * 10)  # a retry of the same revision
        at = _stamp(tick * 10)
        current = canary.model_copy(update={"status": status})
        expected = timeline.record(whole, current, at=at)
        before = held
        found = held.record(current, at=at)
        assert (found is None) == (expected is None), tick
        if expected is not None and found is not None:
            whole, held = expected, found
            assert held.text() == text(whole), tick
            assert held.landmark()[0] == len(whole.runs)
            longest = max(longest, len(whole.runs[-1].points))
            windowed += bool(before.frozen) and held.frozen[: len(before.frozen)] == before.frozen
    assert windowed > MAX_POINTS / 2  # most ticks went the cheap way
    assert longest == MAX_POINTS  # the long run was thinned on the way
    assert len(whole.runs[0].points) <= 60  # over MAX_BYTES: the long run was thinned again


def test_many_runs_are_dropped_as_the_whole_would_drop_them():
    canary = new_canary()
    whole = History(canary=canary.key)
    held = Held.of(whole)
    for run in range(MAX_RUNS + 5):
        for tick in range(3):
            status = CanaryStatus(
                phase=CanaryPhase.SUCCEEDED if tick == 2 else CanaryPhase.PROGRESSING,
                canary_weight=tick * 10,
                last_applied_spec=f"r{run}",
                analysis_start_time=_stamp(run * 100),
            )
            current = canary.model_copy(update={"status": status})
            at = _stamp(run * 100 + tick)
            whole = timeline.record(whole, current, at=at) or whole
            held = held.record(current, at=at) or held
            assert held.text() == text(whole)
    assert len(json.loads(held.text())["runs"]) == MAX_RUNS
