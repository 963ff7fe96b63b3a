"""The judge's last look before promotion, inside the state machine.

Covers: a regression too small for the sequential test at this traffic is rolled back at the tick
promotion becomes due, and the warning, the status reason and the bounds say what the last look
found and agree with the verdict; a healthy release is promoted after its last look, whose
finding is logged; the last look happens once per release: with promotion held by a closed
confirm-promotion gate the analysis keeps running, and neither later ticks nor restarted
operators (the Canary read back from its JSON at every tick) look again.
"""

from __future__ import annotations

from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase
from tests.controller.support import Run, hook, metric, new_canary
from tests.controller.test_judging import FAST, _comparison, _step


def _canary(**analysis: object) -> Canary:
    judged = metric("request-success-rate", judge=FAST)
    return new_canary(stepWeight=10, maxWeight=50, metrics=[judged], **analysis)


def _restart(run: Run) -> None:
    """A new operator process: the Canary as the API server gives it back."""
    key = (run.canary.namespace, run.canary.name)
    stored = run.world.store.canaries[key]
    text = stored.model_dump_json(by_alias=True, exclude_none=True)
    run.world.store.canaries[key] = Canary.model_validate_json(text)


async def test_a_regression_the_sequential_test_misses_is_rolled_back_at_the_last_look() -> None:
    run = Run(_canary())
    await run.release()
    for _ in range(10):
        lines = await _step(run, rps=25, canary_errors=0.025, primary_errors=0.005)
        if run.status.phase is not CanaryPhase.PROGRESSING:
            break
    assert run.status.phase is CanaryPhase.FAILED
    comparison = _comparison(run)
    assert comparison.outcome == "regression"
    assert comparison.e_value is not None
    assert comparison.alpha is not None
    assert comparison.e_value < 1 / comparison.alpha  # the sequential test alone: not yet
    assert lines[0] == (
        "Halt podinfo.prod advancement request-success-rate regression: last look before "
        "promotion, over the whole release: the canary had 9 of the 14 errors where its share "
        "of the traffic predicts 4.7; that many or more happen by chance with p = 0.014 <= "
        "alpha = 0.03, so its rate is at least 1.20x the primary's: regression"
    )
    assert comparison.ratio_lower is not None
    assert comparison.ratio_lower >= 1
    assert comparison.ratio is not None
    assert comparison.ratio >= comparison.ratio_lower
    assert run.status.judge is not None
    assert run.status.judge.last_look is not None


async def test_a_healthy_release_is_promoted_after_its_last_look() -> None:
    run = Run(_canary())
    await run.release()
    for _ in range(10):
        await _step(run, rps=20, canary_errors=0.005, primary_errors=0.005)
        if run.status.phase is not CanaryPhase.PROGRESSING:
            break
    assert run.status.phase is CanaryPhase.PROMOTING
    looked = [line for line in run.log if "last look before promotion" in line]
    assert len(looked) == 1
    assert looked[0].startswith("Judge request-success-rate: canary error rate")
    assert looked[0].endswith(": promote")


async def test_the_last_look_happens_once_even_across_restarts() -> None:
    run = Run(_canary(webhooks=[hook("approve", "confirm-promotion")]))
    run.world.webhooks.answers["approve"] = False  # promotion held: the analysis keeps running
    await run.release()
    stamps = []
    for _ in range(12):
        _restart(run)
        await _step(run, rps=20, canary_errors=0.005, primary_errors=0.005)
        judge = run.status.judge
        stamps.append(judge.last_look if judge is not None else None)
    assert run.status.phase is CanaryPhase.WAITING_PROMOTION
    looked = [s for s in stamps if s is not None]
    assert len(looked) >= 5
    assert len(set(looked)) == 1
    assert sum("last look before promotion" in line for line in run.log) == 1
    state = _comparison(run).state
    assert state is not None
    assert "lastLook" in state
