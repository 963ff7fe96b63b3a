"""Scenarios of metric checks: bounds, missing data, failed queries, and the status they leave.

Covers: thresholdRange min and max (and the legacy v1alpha3 threshold); "no values found" failing
the check by default, as in Flagger; ``onNoData: wait`` holding the step without a failed check; a
failing query reported as Flagger reports it; every metric measured at every step, with its last
value, bounds and verdict kept in the status (the last value survives a step without data); a step
with many metrics that did not pass tells five of them and counts the rest in one message; a step
writes the status once, the metrics with the weight or the failed check (not once each).
"""

from __future__ import annotations

from serinus.apis.canary import Canary
from tests.controller.support import Run, metric, new_canary


def _canary(**fields: object) -> Canary:
    return new_canary(
        metrics=[
            metric("request-success-rate", thresholdRange={"min": 99}, **fields),
            metric("request-duration", thresholdRange={"max": 500}),
            metric("error-budget", thresholdRange={"max": 5}, templateRef={"name": "budget"}),
        ]
    )


async def _analysing(canary: Canary) -> Run:
    run = Run(canary)
    run.world.metrics.values["error-budget"] = 1
    await run.release()
    await run.tick()  # first step: pre-rollout hooks, weight 10
    return run


async def test_values_out_of_bounds_fail_with_flaggers_wording() -> None:
    run = await _analysing(_canary())
    run.world.metrics.values.update({"request-duration": 650, "error-budget": 7.5})
    assert await run.tick() == [
        "Halt podinfo.prod advancement request duration 0.65s > 0.5s",
        "Halt podinfo.prod advancement error-budget 7.50 > 5",
    ]
    assert run.status.failed_checks == 1  # one failed check per step


async def test_legacy_threshold_is_a_minimum_for_success_rate_and_a_maximum_otherwise() -> None:
    canary = new_canary(
        metrics=[
            metric("request-success-rate", threshold=99),
            metric("request-duration", threshold=500),
        ]
    )
    run = await _analysing(canary)
    run.world.metrics.values.update({"request-success-rate": 99.5, "request-duration": 499})
    assert await run.tick() == ["Advance podinfo.prod canary weight 20"]
    run.world.metrics.values["request-success-rate"] = 98.9
    assert await run.tick() == ["Halt podinfo.prod advancement success rate 98.90% < 99%"]


async def test_no_data_fails_the_check_by_default() -> None:
    run = await _analysing(_canary())
    run.world.metrics.values["request-success-rate"] = None
    lines = await run.tick()
    assert lines == [
        "Halt advancement no values found for metric request-success-rate probably "
        "podinfo.prod is not receiving traffic"
    ]
    assert run.status.failed_checks == 1


async def test_on_no_data_wait_holds_the_step_without_a_failed_check() -> None:
    run = await _analysing(_canary(onNoData="wait"))
    run.world.metrics.values["request-success-rate"] = None
    lines = await run.tick()
    assert lines[0].startswith("Halt podinfo.prod advancement waiting for data: ")
    assert (run.status.failed_checks, run.routes) == (0, (90, 10))
    run.world.metrics.values["request-success-rate"] = 99.9
    assert await run.tick() == ["Advance podinfo.prod canary weight 20"]


async def test_a_failed_query_counts_as_a_failed_check() -> None:
    run = await _analysing(_canary())
    run.world.metrics.online = True

    async def broken(canary: Canary, m: object) -> float:
        from serinus.errors import QueryError

        raise QueryError('bad_data: parse error at char 12: unexpected "}"')

    run.world.metrics.measure = broken  # type: ignore[method-assign]
    lines = await run.tick()
    assert lines[0] == ('Prometheus query failed: bad_data: parse error at char 12: unexpected "}"')
    assert lines[2] == (
        'Metric query failed for error-budget: bad_data: parse error at char 12: unexpected "}"'
    )
    assert run.status.failed_checks == 1


async def test_the_status_keeps_every_metric_value_bounds_and_verdict() -> None:
    run = await _analysing(_canary())
    run.world.metrics.values.update({"request-success-rate": 97.25, "error-budget": 1})
    await run.tick()
    by_name = {m.name: m for m in run.status.metrics or []}
    assert set(by_name) == {"request-success-rate", "request-duration", "error-budget"}
    rate = by_name["request-success-rate"]
    assert (rate.value, rate.min, rate.verdict) == (97.25, 99, "fail")
    assert rate.message == "Halt podinfo.prod advancement success rate 97.25% < 99%"
    assert (by_name["error-budget"].value, by_name["error-budget"].verdict) == (1, "pass")
    run.world.metrics.values["request-success-rate"] = None
    await run.tick()
    rate = {m.name: m for m in run.status.metrics or []}["request-success-rate"]
    assert (rate.value, rate.verdict) == (97.25, "nodata")  # the last value read is kept


async def test_a_step_tells_five_failing_metrics_and_counts_the_rest() -> None:
    canary = new_canary(
        metrics=[
            metric(f"m{i}", thresholdRange={"max": 5}, templateRef={"name": "t"}) for i in range(40)
        ]
    )
    run = Run(canary)
    run.world.metrics.values.update({f"m{i}": 9 for i in range(40)})
    await run.release()
    await run.tick()
    before = len(run.world.events.events)
    lines = await run.tick()
    assert len(run.world.events.events) - before == 6  # one Event per line, not one per metric
    assert lines == [
        *(f"Halt podinfo.prod advancement m{i} 9.00 > 5" for i in range(5)),
        "Halt podinfo.prod advancement: 35 more metrics did not pass (status.metrics counts them)",
    ]
    assert run.status.failed_checks == 1


async def test_a_step_writes_its_status_once_with_the_metrics_and_the_weight() -> None:
    run = await _analysing(_canary())
    weight, writes = run.status.canary_weight, run.world.store.writes
    await run.tick()  # every metric passes: the next weight
    assert run.status.canary_weight > weight
    assert run.world.store.writes == writes + 1
    assert {m.name for m in run.status.metrics or []} == {
        "request-success-rate",
        "request-duration",
        "error-budget",
    }
    run.world.metrics.values["error-budget"] = 7.5  # a failed check: measured and counted, once
    writes = run.world.store.writes
    await run.tick()
    assert run.status.failed_checks == 1
    assert run.world.store.writes == writes + 1
    assert next(m for m in run.status.metrics or [] if m.name == "error-budget").value == 7.5
