"""A status that always fits in a write (issue 10, rows 5, 7 and 11).

Covers: every message (status, conditions, metrics, comparisons) is redacted and cut to 1,024
characters; at most 50 metrics are listed, judged ones first, then those that did not pass, in
the analysis's order, with one entry counting the rest by verdict; a status within the limits is
unchanged; :func:`minimal` keeps phase and counters and drops metrics and the judge's state.
"""

from __future__ import annotations

from serinus.apis.bounded import METRIC_LIMIT, bounded, minimal
from serinus.apis.status import (
    CanaryCondition,
    CanaryPhase,
    CanaryStatus,
    Comparison,
    JudgeStatus,
    MetricStatus,
)


def metric(name: str, verdict: str = "pass", **fields: object) -> MetricStatus:
    return MetricStatus.model_validate({"name": name, "verdict": verdict, **fields})


def test_a_small_status_is_unchanged() -> None:
    status = CanaryStatus(
        phase=CanaryPhase.PROGRESSING,
        message="Advance podinfo.prod canary weight 10",
        metrics=[metric("request-success-rate", value=99.5)],
    )
    assert bounded(status) == status


def test_a_status_within_its_bounds_is_not_copied_and_one_part_out_of_them_is() -> None:
    judged = metric("latency", comparison={"outcome": "not-yet", "reason": "r", "guard": "g"})
    clean = CanaryStatus(
        message="Advance podinfo.prod canary weight 10",
        conditions=[CanaryCondition(type="Promoted", status="Unknown", message="progressing")],
        metrics=[metric("request-success-rate", value=99.5, message="ok"), judged],
    )
    assert bounded(clean) is clean
    secret = clean.model_copy(
        update={"metrics": [clean.metrics[0], metric("x", message="http://u:p@host/")]}
    )
    found = bounded(secret)
    assert found.metrics[0] is clean.metrics[0]  # only the part out of bounds is copied
    assert found.metrics[1].message == "http://***@host/"
    assert found.conditions is clean.conditions
    assert secret.metrics[1].message == "http://u:p@host/"  # the status given is not changed


def test_every_message_is_redacted_and_cut() -> None:
    long = "stepWeights " + "1, " * 100_000
    secret = "webhook http://user:hunter2@gate/ok?token=t0k3n unreachable"
    status = CanaryStatus(
        message=long,
        conditions=[CanaryCondition(type="Promoted", status="False", message=secret)],
        metrics=[
            metric(
                "m",
                "fail",
                message=secret,
                comparison=Comparison(outcome="not-yet", reason=long, guard=secret),
            )
        ],
    )
    text = bounded(status).model_dump_json()
    assert "hunter2" not in text
    assert "t0k3n" not in text
    assert len(text) < 6 * 1024
    written = bounded(status)
    assert written.message is not None
    assert len(written.message) == 1024


def test_past_fifty_metrics_the_rest_are_counted() -> None:
    metrics = [metric(f"m{i}", "error", message="no such template") for i in range(10_000)]
    metrics[7000] = metric("judged", "pass", comparison=Comparison(outcome="not-yet", reason="r"))
    metrics[9000] = metric("late-failure", "fail")
    written = bounded(CanaryStatus(phase=CanaryPhase.PROGRESSING, metrics=metrics)).metrics
    assert written is not None
    assert len(written) == METRIC_LIMIT + 1
    names = [m.name for m in written]
    assert names[:2] == ["m0", "m1"]
    assert "judged" in names  # the judge's memory is never dropped
    assert names.index("judged") < names.index("(9,950 more)")
    summary = written[-1]
    assert summary.name == "(9,950 more)"
    assert summary.verdict == "fail"
    assert summary.message == (
        "9,950 more metrics, not listed to keep the status small: 9,949 error, 1 fail"
    )
    assert len(bounded(CanaryStatus(metrics=metrics)).model_dump_json()) < 30_000


def test_a_bounded_status_bounded_again_keeps_its_count() -> None:
    # the tick writes its metrics, reads the stored status back and writes failedChecks on it
    metrics = [metric(f"m{i}", "error") for i in range(10_000)]
    once = bounded(CanaryStatus(phase=CanaryPhase.PROGRESSING, metrics=metrics))
    assert bounded(once) == once
    assert bounded(once.model_copy(update={"failed_checks": 1})).metrics == once.metrics
    # new metrics beyond the limit next to an earlier summary: the summary is folded in
    again = bounded(CanaryStatus(metrics=[*(once.metrics or []), *metrics[:5]])).metrics
    assert again is not None
    assert len(again) == METRIC_LIMIT + 1
    assert again[-1].name == "(9,955 more)"


def test_metrics_that_did_not_pass_are_listed_before_those_that_passed() -> None:
    metrics = [metric(f"ok{i}") for i in range(60)] + [metric("bad", "fail")]
    written = bounded(CanaryStatus(metrics=metrics)).metrics
    assert written is not None
    assert "bad" in [m.name for m in written]
    assert written[-1].name == "(11 more)"
    assert written[-1].verdict == "pass"


def test_minimal_keeps_the_run_and_drops_the_details() -> None:
    status = CanaryStatus(
        phase=CanaryPhase.PROGRESSING,
        canary_weight=20,
        failed_checks=1,
        iterations=3,
        metrics=[metric("m")],
        judge=JudgeStatus(alpha=0.05),
    )
    written = minimal(status, "the status could not be written whole: too large")
    assert written.phase is CanaryPhase.PROGRESSING
    assert (written.canary_weight, written.failed_checks, written.iterations) == (20, 1, 3)
    assert written.metrics is None
    assert written.judge is None
    assert written.message == "the status could not be written whole: too large"
