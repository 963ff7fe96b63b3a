"""Covers: the timeline drawing and the standalone report: a panel for the weight and one per
metric (plus the judge's ratio when it compares), verdict dots coloured by verdict, requests made
by hand as marks; text written into the history by anyone who may edit the ConfigMap (metric
names, who asked, messages) is escaped, never markup; the page loads nothing and runs no script;
run numbers count from the oldest kept, negative from the newest, and a wrong one is named."""

from __future__ import annotations

import re

import pytest

from serinus.apis.history import History, MetricPoint, Point, Request, Run
from serinus.operating import charts, report

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def run(outcome: str | None = "Failed") -> Run:
    points = [
        Point(at=f"2030-01-01T00:00:{s:02d}Z", phase="Progressing", weight=s,
              metrics=[MetricPoint(name=HOSTILE, value=99.0 + s / 100, min=99, verdict="pass"),
                       MetricPoint(name="latency", value=100, max=500,
                                   verdict="fail" if s > 20 else "pass", ratio=1.2, bound=2.0)],
              message=HOSTILE)
        for s in range(0, 40, 10)
    ]  # fmt: skip
    requests = [Request(at="2030-01-01T00:00:25Z", action="abort", by=HOSTILE)]
    return Run(revision=HOSTILE, started="2030-01-01T00:00:00Z", ended="2030-01-01T00:00:40Z",
               outcome=outcome, points=points, requests=requests)  # fmt: skip


def test_the_drawing_has_the_weight_each_metric_and_the_judge():
    drawing = charts.svg(run())
    titles = re.findall(r'<text class="title"[^>]*>([^<]*)</text>', drawing)
    assert titles[0] == "canary weight (%)"
    assert "latency (&lt;= 500)" in titles
    assert "latency: canary/primary, judge " in titles
    assert drawing.count('class="verdict fail"') == 1
    assert drawing.count('class="verdict pass"') == 7
    assert drawing.count('class="request"') == 1


def test_text_from_the_history_is_escaped_everywhere():
    page = report.page(History(canary=HOSTILE, runs=[run()]), 0)
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;" in page
    assert re.search(r"<[a-z]+[^>]*\s(src|href)=", page) is None  # no element loads anything
    assert "default-src 'none'" in page


@pytest.mark.parametrize(("wanted", "index"), [(None, 2), (1, 0), (3, 2), (-1, 2), (-3, 0)])
def test_runs_are_numbered_from_the_oldest_kept(wanted, index):
    history = History(runs=[run(), run(), run(None)])
    assert report.run_index(history, wanted) == index


@pytest.mark.parametrize("wanted", [0, 4, -4])
def test_a_run_that_is_not_kept_is_named(wanted):
    with pytest.raises(ValueError, match="expected a run between 1 and 3"):
        report.run_index(History(runs=[run(), run(), run()]), wanted)
    with pytest.raises(ValueError, match="no run is recorded yet"):
        report.run_index(History(), None)
