"""Scenarios of the sequential judge inside the state machine.

Covers: a clear regression rolls back as soon as its interval is read (one read lag after it
ended), without waiting for the failed-checks threshold; the stretch before the canary had weight
(here a primary outage during the canary's start-up) never counts, and every tick's interval has
one traffic split; too few requests is "not yet" and the run goes on; a judged metric's
threshold is an anytime-valid guard: one noisy minute under 99 % fails no check, a canary
confidently beyond it is rolled back; promotion waits until the judge has read the last
intervals; the verdict, its numbers and the judge's timeline are kept in the status, so a
restarted operator (the Canary read back from its JSON) resumes the same e-value; a judge whose
state was lost mid-release gives no verdict and the thresholds count failed checks as in Flagger;
early pass advances two steps and promotes from 50 % weight; an interval is read as soon as
every series has a sample at or after its end (the watermark), or, with ``readLag`` set, that
long after it; a judged MetricTemplate is judged like a built-in, its threshold a Flagger check.
"""

from __future__ import annotations

from typing import Any

import pytest

from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase
from serinus.controller.memory import SideTraffic
from tests.controller.support import Run, metric, new_canary

FAST = {"alpha": 0.05, "scrapeInterval": "5s"}  # read lag 10 s: one tick


def _judged(*, threshold: float | None = None, **judge: Any) -> Canary:
    fields: dict[str, Any] = {"judge": {**FAST, **judge}}
    if threshold is not None:
        fields["threshold"] = threshold
    return new_canary(stepWeight=10, metrics=[metric("request-success-rate", **fields)])


def _serve(run: Run, *, rps: float, canary_errors: float, primary_errors: float) -> None:
    """The traffic of the interval that ends now, split by the current routes."""
    total = rps * 10
    canary = total * run.world.router.routes.canary / 100
    primary = total - canary
    run.world.metrics.record(
        SideTraffic(canary, canary * canary_errors, 100),
        SideTraffic(primary, primary * primary_errors, 100),
    )


async def _step(run: Run, **traffic: float) -> list[str]:
    _serve(run, **traffic)  # type: ignore[arg-type]
    return await run.tick()


def _comparison(run: Run):  # type: ignore[no-untyped-def]
    comparison = run.status.metrics[0].comparison  # type: ignore[index]
    assert comparison is not None
    return comparison


@pytest.mark.parametrize(
    ("delay", "judge", "ticks"),
    [
        (0.0, {}, 1),  # every series scraped at the tick: the faulty interval is read at once
        (5.0, {}, 2),  # the newest samples are 5 s old: the interval waits a tick
        (0.0, {"readLag": "10s"}, 2),  # a fixed lag ignores the sample times
    ],
)
async def test_an_interval_is_read_once_every_series_has_a_sample_after_it(
    delay: float, judge: dict[str, str], ticks: int
) -> None:
    run = Run(_judged(**judge))
    run.world.metrics.scrape_delay = delay
    await run.release()
    await _step(run, rps=200, canary_errors=0.005, primary_errors=0.005)  # weight 10 from here
    for _ in range(ticks):
        assert run.status.phase is CanaryPhase.PROGRESSING
        lines = await _step(run, rps=200, canary_errors=0.3, primary_errors=0.005)
    assert lines[0].startswith("Halt podinfo.prod advancement request-success-rate regression")
    assert run.status.phase is CanaryPhase.FAILED
    assert _comparison(run).intervals == 1


async def test_a_clear_regression_rolls_back_once_its_interval_is_read() -> None:
    run = Run(_judged())
    await run.release()
    await _step(run, rps=200, canary_errors=0.005, primary_errors=0.005)  # weight 10 from here
    lines = await _step(run, rps=200, canary_errors=0.3, primary_errors=0.005)
    assert run.status.phase is CanaryPhase.PROGRESSING  # the faulty interval is not read yet
    assert lines[-1] == "Advance podinfo.prod canary weight 20"
    lines = await _step(run, rps=200, canary_errors=0.3, primary_errors=0.005)
    assert lines[0].startswith(
        "Halt podinfo.prod advancement request-success-rate regression: canary error rate"
    )
    assert lines[1:] == [
        "Rolling back podinfo.prod canary regression on request-success-rate",
        "Canary failed! Scaling down podinfo.prod",
    ]
    assert run.status.phase is CanaryPhase.FAILED
    comparison = _comparison(run)
    assert comparison.outcome == "regression"
    assert comparison.e_value is not None
    assert comparison.e_value >= 20
    assert comparison.canary_requests == 200
    assert comparison.intervals == 1


async def test_the_stretch_before_the_first_weight_never_counts() -> None:
    run = Run(_judged())
    await run.release()
    # The canary starts up; meanwhile the primary has an outage (half its requests fail).
    await _step(run, rps=100, canary_errors=0.0, primary_errors=0.5)  # weight 10 set now
    for _ in range(4):
        await _step(run, rps=100, canary_errors=0.01, primary_errors=0.01)
    comparison = _comparison(run)
    # Three intervals read, one tick each at weight 10, 20 and 30 of 1,000 requests.
    assert comparison.intervals == 3
    assert comparison.canary_requests == 600
    assert comparison.primary_requests == 2_400
    assert comparison.primary == 0.01  # the outage before the first weight is not in it
    judge = run.status.judge
    assert judge is not None
    assert judge.anchor is not None
    assert len(judge.pending or []) == 1


async def test_too_few_requests_is_not_yet_and_the_run_goes_on() -> None:
    run = Run(_judged())
    await run.release()
    await _step(run, rps=0.2, canary_errors=0, primary_errors=0)
    await _step(run, rps=0.2, canary_errors=1.0, primary_errors=0)
    lines = await _step(run, rps=0.2, canary_errors=1.0, primary_errors=0)
    assert lines[-1] == "Advance podinfo.prod canary weight 30"
    assert _comparison(run).outcome == "not-yet"
    assert run.status.failed_checks == 0


async def test_one_noisy_minute_fails_no_check_when_the_threshold_is_a_guard() -> None:
    run = Run(_judged(threshold=99))
    run.world.metrics.values["request-success-rate"] = 97.0  # Flagger: a failed check
    await run.release()
    for _ in range(3):
        await _step(run, rps=20, canary_errors=0.005, primary_errors=0.005)
    assert run.status.failed_checks == 0
    assert run.status.phase is CanaryPhase.PROGRESSING
    status = run.status.metrics[0]  # type: ignore[index]
    assert status.value == 97.0
    assert status.verdict == "pass"
    assert status.message is not None
    assert "limit 1.00%" in status.message


async def test_a_canary_confidently_beyond_the_threshold_is_rolled_back_by_the_guard() -> None:
    # minEffect 100: the comparison alone would want a 101x worse canary; the guard does not.
    run = Run(_judged(threshold=99, minEffect=100))
    await run.release()
    await _step(run, rps=200, canary_errors=0.005, primary_errors=0.004)
    await _step(run, rps=200, canary_errors=0.2, primary_errors=0.004)
    lines = await _step(run, rps=200, canary_errors=0.2, primary_errors=0.004)
    assert lines[0].startswith(
        "Halt podinfo.prod advancement request-success-rate beyond its threshold: canary error"
    )
    assert run.status.phase is CanaryPhase.FAILED


async def test_promotion_waits_for_the_last_intervals_to_be_read() -> None:
    run = Run(new_canary(stepWeight=50, metrics=[metric("request-success-rate", judge=FAST)]))
    await run.release()
    await _step(run, rps=100, canary_errors=0.005, primary_errors=0.005)  # weight 50
    await _step(run, rps=100, canary_errors=0.005, primary_errors=0.005)  # weight 100
    lines = await _step(run, rps=100, canary_errors=0.005, primary_errors=0.005)
    assert run.status.phase is CanaryPhase.PROGRESSING
    assert "Waiting for the judge to read the last intervals before promotion" in lines
    await _step(run, rps=100, canary_errors=0.005, primary_errors=0.005)
    assert run.status.phase is CanaryPhase.PROMOTING


async def _released_run(*, restart: bool) -> Run:
    run = Run(_judged())
    await run.release()
    for errors in (0.005, 0.01, 0.012, 0.011, 0.013):
        if restart:  # a new operator process: the Canary as the API server gives it back
            key = (run.canary.namespace, run.canary.name)
            stored = run.world.store.canaries[key]
            text = stored.model_dump_json(by_alias=True, exclude_none=True)
            run.world.store.canaries[key] = Canary.model_validate_json(text)
        await _step(run, rps=100, canary_errors=errors, primary_errors=0.005)
    return run


async def test_a_restarted_operator_resumes_the_same_e_value() -> None:
    steady = _comparison(await _released_run(restart=False))
    restarted = _comparison(await _released_run(restart=True))
    assert restarted.intervals == steady.intervals == 3
    assert restarted.e_value == steady.e_value
    assert restarted.ratio_lower == steady.ratio_lower


async def test_a_lost_judge_state_gives_no_verdict_and_flaggers_thresholds_count() -> None:
    run = Run(_judged(threshold=99))
    run.world.metrics.values["request-success-rate"] = 97.0
    await run.release()
    await _step(run, rps=100, canary_errors=0.005, primary_errors=0.005)
    await _step(run, rps=100, canary_errors=0.005, primary_errors=0.005)
    key = (run.canary.namespace, run.canary.name)
    stored = run.world.store.canaries[key]
    assert stored.status is not None
    stored.status.judge = None  # e.g. an old operator version wrote the status
    await _step(run, rps=100, canary_errors=0.3, primary_errors=0.005)
    judge = run.status.judge
    assert judge is not None
    assert judge.lost is True
    assert "state was lost mid-release" in _comparison(run).reason
    assert run.status.failed_checks == 1  # 97 % < 99 %: a failed check, as in Flagger


async def test_early_pass_advances_two_steps_and_promotes_from_half_weight() -> None:
    run = Run(_judged(earlyPass=True))
    await run.release()
    await _step(run, rps=400, canary_errors=0.0, primary_errors=0.01)  # weight 10
    weights = []
    for _ in range(8):
        lines = await _step(run, rps=400, canary_errors=0.0, primary_errors=0.01)
        weights.append(run.status.canary_weight)
        if run.status.phase is CanaryPhase.PROMOTING:
            break
    assert run.status.phase is CanaryPhase.PROMOTING
    assert lines[-2].startswith("Clear pass: promoting podinfo.prod early at canary weight")
    assert any(b - a == 20 for a, b in zip([10, *weights], weights, strict=False))


async def test_a_judged_metric_template_is_judged_and_its_threshold_stays_a_check() -> None:
    failures = metric("failed-payments", templateRef={"name": "failed-payments"}, judge=FAST)
    run = Run(new_canary(stepWeight=10, metrics=[{**failures, "thresholdRange": {"max": 1000}}]))
    run.world.metrics.values["failed-payments"] = 3.0  # the template's one-minute value
    await run.release()
    await _step(run, rps=200, canary_errors=0.005, primary_errors=0.005)
    await _step(run, rps=200, canary_errors=0.3, primary_errors=0.005)
    lines = await _step(run, rps=200, canary_errors=0.3, primary_errors=0.005)
    assert lines[0].startswith("Halt podinfo.prod advancement failed-payments regression")
    assert run.status.phase is CanaryPhase.FAILED
    assert "failed-payments" in run.world.metrics.measured  # the threshold, a Flagger check


async def test_the_burst_correction_comes_from_the_primarys_last_hour() -> None:
    run = Run(_judged())
    await run.initialized()
    # Seventy minutes of the primary alone, 10 s windows, a few errors in each.
    for _ in range(70 * 6):
        run.world.metrics.record(SideTraffic(0, 0, 100), SideTraffic(1_000, 5, 100))
        run.world.clock.advance(10)
    await run.release()
    for _ in range(2):
        await _step(run, rps=100, canary_errors=0.005, primary_errors=0.005)
    state = _comparison(run).state
    assert state is not None
    windows = state["test"]["dispersion"]["windows"]
    assert 6 * 59 <= windows <= 6 * 60  # the hour before the first interval (a quarter: 90)
