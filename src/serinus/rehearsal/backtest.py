"""``serinus backtest``: replay a Canary's analysis over metrics Prometheus already recorded.

From ``start`` to ``end``, one step every analysis interval, both judges look at what Prometheus
held at that moment (instant queries evaluated at the step's time): Flagger's fixed thresholds,
counting failed checks against ``threshold``, and the sequential judge (with its guards), reading
each step's interval for the same window on both sides as the operator does, with the primary's
history before ``start`` for the burst correction, and the judge's last look at ``end`` (as
before a promotion there). The result says when each would have rolled
the release back, or that it would not have. It answers "would this Canary have caught last
Tuesday's incident, and how soon?" before the Canary is changed, and measures how often a judge
would have stopped a healthy release.

Built-in metrics and inline queries are replayed; MetricTemplates live in the cluster, which a
backtest does not read, so metrics that use one are reported as skipped.
"""

from __future__ import annotations

import dataclasses
import datetime

import httpx

from serinus.analysis.verdict import CheckResult, Verdict
from serinus.apis.alert_provider import AlertProvider
from serinus.apis.analysis import BUILTIN_METRICS, MetricJudge
from serinus.apis.canary import Canary
from serinus.apis.metric_template import MetricTemplate
from serinus.apis.status import Comparison
from serinus.controller import checks, judging, last_look, metric_judge
from serinus.controller.memory import VirtualClock
from serinus.errors import NotFoundError, SerinusError
from serinus.metrics.checks import MetricChecks


class _NoCluster:
    """Resources of a backtest: there is no cluster to read templates or Secrets from."""

    async def metric_template(self, namespace: str, name: str) -> MetricTemplate:
        raise NotFoundError(f"MetricTemplate {namespace}/{name}: a backtest reads no cluster")

    async def alert_provider(self, namespace: str, name: str) -> AlertProvider:
        raise NotFoundError(f"AlertProvider {namespace}/{name}: a backtest reads no cluster")

    async def secret(self, namespace: str, name: str) -> dict[str, str]:
        raise NotFoundError(f"Secret {namespace}/{name}: a backtest reads no cluster")

    async def signing_secret(self, namespace: str, name: str) -> dict[str, str]:
        raise NotFoundError(f"Secret {namespace}/{name}: a backtest reads no cluster")


@dataclasses.dataclass(frozen=True)
class Step:
    """What both judges saw at one step."""

    at: datetime.datetime
    checks: dict[str, CheckResult]
    comparisons: dict[str, Comparison]
    failed_checks: int


@dataclasses.dataclass(frozen=True)
class Rollback:
    """When a judge would have rolled back, and why; ``at`` is None when it would not have."""

    at: datetime.datetime | None
    reason: str


@dataclasses.dataclass(frozen=True)
class Backtest:
    steps: list[Step]
    skipped: list[str]
    flagger: Rollback
    sequential: Rollback


async def backtest(
    canary: Canary,
    *,
    prometheus: str,
    start: datetime.datetime,
    end: datetime.datetime,
    provider: str,
    interval: float | None = None,
    http: httpx.AsyncClient,
) -> Backtest:
    """Replay the Canary's analysis between ``start`` and ``end``."""
    analysis = canary.spec.effective_analysis
    if analysis is None:
        return Backtest([], [], Rollback(None, "no analysis"), Rollback(None, "no analysis"))
    seconds = interval or analysis.interval_seconds
    clock = VirtualClock(start)
    metrics = MetricChecks(
        metrics_server=canary.spec.metrics_server or prometheus,
        mesh_provider=provider,
        resources=_NoCluster(),
        http=http,
        clock=clock,
    )
    replayed = [m for m in analysis.metrics or [] if m.template_ref is None]
    skipped = [m.name for m in analysis.metrics or [] if m.template_ref is not None]
    judged = [
        m if m.judge is not None else m.model_copy(update={"judge": MetricJudge()})
        for m in replayed
        if m.name in BUILTIN_METRICS and not m.query
    ]
    _, comparison_alpha, guard_alpha = judging.release_alphas(judged)
    origin = start - datetime.timedelta(seconds=2 * judging.scrape_seconds(judged))
    steps: list[Step] = []
    states: dict[str, dict[str, object]] = {m.name: {} for m in judged}
    failed = 0
    flagger = sequential = Rollback(None, "")
    moment = start + datetime.timedelta(seconds=seconds)
    while moment <= end:
        clock.current = moment
        results = {m.name: await checks.measure_with(metrics, canary, m) for m in replayed}
        comparisons: dict[str, Comparison] = {}
        window = metric_judge.Window(
            due=[moment.isoformat()], origin=origin, anchor=start, history=judging.HISTORY_SECONDS
        )
        for metric in judged:
            try:
                states[metric.name], comparison = await metric_judge.judge_metric(
                    metrics,
                    canary,
                    metric,
                    dict(states[metric.name]),
                    window=window,
                    alphas=(comparison_alpha[metric.name], guard_alpha.get(metric.name)),
                    guard=judging.guard_limit(metric),
                    step_seconds=seconds,
                )
            except SerinusError as error:
                reason = f"{metric.name} could not be read at {moment.isoformat()}: {error}"
                comparison = Comparison(outcome="not-yet", reason=reason)
            comparisons[metric.name] = comparison
            guard = comparison.guard or ""
            if sequential.at is None and comparison.outcome == "regression":
                sequential = Rollback(moment, f"{metric.name}: {comparison.reason}")
            elif sequential.at is None and guard.endswith("beyond the limit"):
                sequential = Rollback(moment, f"{metric.name} guard: {guard}")
        if any(r.verdict is not Verdict.PASS for r in results.values()):
            failed += 1
            if failed >= analysis.effective_threshold and flagger.at is None:
                reasons = "; ".join(r.message for r in results.values() if r.message)
                flagger = Rollback(moment, f"failed checks threshold reached {failed}: {reasons}")
        steps.append(Step(moment, results, comparisons, failed))
        moment += datetime.timedelta(seconds=seconds)
    await metrics.aclose()
    if sequential.at is None and steps:  # the last look, as before a promotion at ``end``
        alphas = judging.last_look_alphas(judged)
        for metric in judged:
            final = steps[-1].comparisons.get(metric.name)
            if metric.name in alphas and final is not None:
                looked = last_look.look(metric, final, alphas[metric.name])
                steps[-1].comparisons[metric.name] = looked
                if looked.outcome == "regression" and sequential.at is None:
                    sequential = Rollback(steps[-1].at, f"{metric.name}: {looked.reason}")
    return Backtest(steps, skipped, flagger, sequential)
