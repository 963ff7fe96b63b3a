"""Scenarios of the sequential judge inside the state machine.

Covers: a clear regression of the canary against the primary rolls back in the step that sees it,
without waiting for the failed-checks threshold; too few requests is "not yet" and the run goes on;
a metric with a judge and no thresholdRange needs no fixed threshold; the verdict and its numbers
are kept in the status; early pass advances two steps, and promotes from 50% weight; the judge's
counting window starts with the analysis, so a restarted operator continues from the status.
"""

from __future__ import annotations

from typing import Any

from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase
from serinus.controller.memory import SideTraffic
from tests.controller.support import Run, metric, new_canary


def _judged(**judge: Any) -> Canary:
    return new_canary(
        stepWeight=10,
        metrics=[metric("request-success-rate", judge=judge or {"alpha": 0.05})],
    )


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


async def test_a_clear_regression_rolls_back_in_the_step_that_sees_it() -> None:
    run = Run(_judged())
    await run.release()
    await _step(run, rps=200, canary_errors=0.005, primary_errors=0.005)  # weight 10
    lines = await _step(run, rps=200, canary_errors=0.3, primary_errors=0.005)
    assert lines[0].startswith(
        "Halt podinfo.prod advancement request-success-rate regression: canary error rate"
    )
    assert lines[1:] == [
        "Rolling back podinfo.prod canary regression on request-success-rate",
        "Canary failed! Scaling down podinfo.prod",
    ]
    assert run.status.phase is CanaryPhase.FAILED
    comparison = run.status.metrics[0].comparison  # type: ignore[index]
    assert comparison is not None
    assert comparison.outcome == "regression"
    assert comparison.e_value is not None
    assert comparison.e_value >= 20
    assert comparison.canary_requests == 200
    assert "e-value" in comparison.reason


async def test_too_few_requests_is_not_yet_and_the_run_goes_on() -> None:
    run = Run(_judged())
    await run.release()
    await _step(run, rps=0.2, canary_errors=0, primary_errors=0)
    lines = await _step(run, rps=0.2, canary_errors=1.0, primary_errors=0)
    assert lines[0].endswith(": not yet")
    assert lines[1:] == ["Advance podinfo.prod canary weight 20"]
    comparison = run.status.metrics[0].comparison  # type: ignore[index]
    assert comparison is not None
    assert comparison.outcome == "not-yet"
    assert run.status.failed_checks == 0


async def test_a_healthy_canary_is_promoted_by_the_judge_alone() -> None:
    run = Run(_judged())
    await run.release()
    for _ in range(14):
        await _step(run, rps=50, canary_errors=0.004, primary_errors=0.005)
    assert run.status.phase in (CanaryPhase.FINALISING, CanaryPhase.SUCCEEDED)
    assert run.world.metrics.measured == []  # no fixed threshold was queried


async def test_early_pass_advances_two_steps_and_promotes_from_half_weight() -> None:
    run = Run(_judged(earlyPass=True, alpha=0.05))
    await run.release()
    await _step(run, rps=400, canary_errors=0.0, primary_errors=0.01)  # weight 10
    weights = []
    for _ in range(6):
        lines = await _step(run, rps=400, canary_errors=0.0, primary_errors=0.01)
        weights.append(run.status.canary_weight)
        if run.status.phase is CanaryPhase.PROMOTING:
            break
    assert run.status.phase is CanaryPhase.PROMOTING
    assert lines[-2].startswith("Clear pass: promoting podinfo.prod early at canary weight")
    assert any(b - a == 20 for a, b in zip([10, *weights], weights, strict=False))


async def test_the_judge_counts_from_the_start_of_the_analysis() -> None:
    run = Run(_judged())
    await run.initialized()
    # errors of an earlier release, before this analysis started, must not count
    run.world.metrics.record(SideTraffic(1000, 500, 100), SideTraffic(1000, 0, 100))
    run.world.clock.advance(10)
    await run.release()
    assert run.status.analysis_start_time is not None
    await _step(run, rps=100, canary_errors=0.0, primary_errors=0.0)
    await _step(run, rps=100, canary_errors=0.0, primary_errors=0.0)
    assert run.status.phase is CanaryPhase.PROGRESSING
    comparison = run.status.metrics[0].comparison  # type: ignore[index]
    assert comparison is not None
    assert comparison.canary_requests == 100
