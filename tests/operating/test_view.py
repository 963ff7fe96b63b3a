"""Covers: a rolled-back run shows the step it reached (3 of 10), not 0 of 10; the view lists
the Canary's Events oldest first, and two Events stamped in the same second in the order the API
server stored them (Kubernetes' timestamps have whole seconds, so a rollback's "Halt" and
"Rolling back" often share one), only this Canary's."""

from __future__ import annotations

import datetime

from serinus.apis.history import History, Point, Run
from serinus.apis.status import CanaryPhase, CanaryStatus
from serinus.operating import view
from tests.controller.support import new_canary


def event(name: str, message: str, *, at: str, version: str, about: str = "podinfo") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": "prod", "resourceVersion": version},
        "involvedObject": {"kind": "Canary", "name": about, "namespace": "prod"},
        "type": "Normal",
        "reason": "Synced",
        "message": message,
        "lastTimestamp": at,
    }


def test_events_stamped_in_the_same_second_keep_the_order_they_were_written():
    canary = new_canary()
    second = "2026-12-06T10:00:07Z"
    events = [
        event("c", "Canary failed! Scaling down podinfo.prod", at=second, version="104"),
        event("b", "Rolling back podinfo.prod failed checks threshold reached 5", at=second,
              version="99"),
        event("a", "Halt podinfo.prod advancement", at="2026-12-06T10:00:05Z", version="120"),
        event("x", "another canary's", at="2026-12-06T10:00:06Z", version="100", about="other"),
    ]  # fmt: skip

    shown = view.build(
        canary, events=events, history=None, now=datetime.datetime.now(datetime.UTC)
    ).events

    assert [e.message.split()[0] for e in shown] == ["Halt", "Rolling", "Canary"]


def test_a_rolled_back_run_counts_its_steps_where_it_stopped():
    status = CanaryStatus(phase=CanaryPhase.FAILED, canary_weight=0, last_applied_spec="abc")
    canary = new_canary(stepWeight=10, maxWeight=100).model_copy(update={"status": status})
    points = [
        Point(at="2026-12-06T10:00:00Z", phase="Progressing", weight=weight)
        for weight in (10, 20, 30)
    ]
    points.append(Point(at="2026-12-06T10:00:40Z", phase="Failed", weight=0))
    history = History(runs=[Run(revision="abc", started="2026-12-06T10:00:00Z", points=points)])

    shown = view.build(canary, events=[], history=history, now=datetime.datetime.now(datetime.UTC))

    assert (shown.phase, shown.weight, shown.step, shown.steps) == ("Failed", 0, 3, 10)
    assert shown.time_left is None
