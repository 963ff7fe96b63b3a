"""The sequential judge at each step: intervals with one traffic split, read late, both sides alike.

Once the canary has weight, every analysis tick ends an **interval**: the time since the previous
tick, with one traffic split (the first starts when the first weight was set, so the stretch
before the canary had traffic never counts). The judge reads up to the **watermark**, the oldest
of the newest sample times of every series it reads (nothing at or before it can still land), or
``readLag`` before now when that is set: every interval that ended by then, and the running
interval up to it (a part of an interval has its one split too). Both sides are read for the
same explicit window: ``increase(<counter>[<until - origin>] @ <until>)`` from a fixed origin just
before the first interval, the interval's counts being the difference of two such reads. The
primary's counters over the hour before the first interval give the burst correction (and the
latency boundary): an hour, because the correction adds one standard error of its own estimate,
and with a quarter of an hour of a service at 20 requests/s and 0.5 % errors that margin cost
about five points of regressions caught (``benchmarks/judgement.py``). Each judged metric gets
a comparison with the primary and, when it has Flagger's threshold, an anytime-valid guard; all
of them share the release's alpha (:mod:`serinus.analysis.sequential.release`). On the tick
promotion becomes due, each error-rate comparison takes its last look at the whole release with
its own share (:mod:`serinus.controller.last_look`).

Everything the judge needs to continue is in the status (``status.judge`` and each metric's
``comparison.state``), so a restarted operator resumes the same e-processes. If that state is
lost mid-release, the judge does not start over (that would spend alpha twice): it gives no
verdict for the rest of the release and the thresholds work as in Flagger.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping

from serinus.analysis import sequential
from serinus.analysis.sequential import Kind
from serinus.apis.analysis import CanaryMetric, MetricJudge
from serinus.apis.status import Comparison, JudgeStatus
from serinus.controller import last_look, metric_judge
from serinus.controller.tick import Tick
from serinus.errors import SerinusError

HISTORY_SECONDS = 3600.0
DEFAULT_ALPHA = 0.05


@dataclasses.dataclass(frozen=True)
class Verdicts:
    """What the judge says at one tick: a comparison per judged metric, in the spec's order."""

    comparisons: dict[str, Comparison]
    guarded: frozenset[str]
    """Metrics whose threshold is an anytime-valid guard right now (not a Flagger check)."""
    judge: JudgeStatus | None
    guard_violations: dict[str, str]


def judged(metrics: list[CanaryMetric]) -> list[CanaryMetric]:
    return [m for m in metrics if m.judge is not None]


def guard_limit(metric: CanaryMetric) -> tuple[float, float | None] | None:
    """(rate limit, latency bound in ms) of a threshold the guard can test, else None."""
    bounds = metric.effective_range
    if metric.judge is None or metric.template_ref is not None:
        return None
    if metric.name == "request-success-rate" and bounds.min is not None and bounds.max is None:
        limit = 1 - bounds.min / 100
        return (limit, None) if 0 < limit < 0.7 else None
    if metric.name == "request-duration" and bounds.max is not None and bounds.min is None:
        return (0.01, bounds.max)
    return None


def release_alphas(metrics: list[CanaryMetric]) -> tuple[float, dict[str, float], dict[str, float]]:
    """The release's alpha and each comparison's and guard's share of it, by metric name."""
    judged_metrics = judged(metrics)
    alpha = min((m.judge or MetricJudge()).alpha or DEFAULT_ALPHA for m in judged_metrics)
    tests: list[tuple[str, Kind]] = []
    for metric in judged_metrics:
        tests.append((metric.name, Kind.COMPARISON))
        if guard_limit(metric) is not None:
            tests.append((metric.name, Kind.GUARD))
    shares = sequential.shares(alpha, [t for _, t in tests])
    comparisons = {n: a for (n, t), a in zip(tests, shares, strict=True) if t is Kind.COMPARISON}
    guards = {n: a for (n, t), a in zip(tests, shares, strict=True) if t is Kind.GUARD}
    looks = last_look_alphas(metrics)
    sequential_parts = {n: a - looks.get(n, 0.0) for n, a in comparisons.items()}
    return alpha, sequential_parts, guards


def last_look_alphas(metrics: list[CanaryMetric]) -> dict[str, float]:
    """Each count comparison's share for its last look at promotion (the rest of its share is
    its sequential test's). Latency comparisons have none: a slower canary's evidence grows
    fast, and a last look cost the sequential test the speed it is judged on."""
    judged_metrics = judged(metrics)
    alpha = min((m.judge or MetricJudge()).alpha or DEFAULT_ALPHA for m in judged_metrics)
    kinds = [
        kind
        for m in judged_metrics
        for kind in (Kind.COMPARISON, *((Kind.GUARD,) if guard_limit(m) is not None else ()))
    ]
    comparison = sequential.shares(alpha, kinds)[0] if kinds else 0.0
    return {
        m.name: sequential.split(comparison)[1]
        for m in judged_metrics
        if not metric_judge.is_latency(m)
    }


def lag_seconds(metrics: list[CanaryMetric]) -> float:
    return max((m.judge or MetricJudge()).lag_seconds for m in judged(metrics))


def scrape_seconds(metrics: list[CanaryMetric]) -> float:
    return max((m.judge or MetricJudge()).scrape_seconds for m in judged(metrics))


async def judge_step(tick: Tick) -> Verdicts:
    """Advance the judge's timeline by this tick, read what is due, and judge."""
    metrics = judged(tick.analysis.metrics or [])
    previous = {m.name: m.comparison for m in tick.status.metrics or []}
    status = tick.status.judge
    now = tick.now()
    if status is not None and status.lost:
        return _lost(metrics, status)
    if status is None or status.anchor is None:
        if tick.status.canary_weight <= 0:
            return Verdicts(
                {m.name: _not_yet("the canary has no traffic yet") for m in metrics},
                frozenset(),
                status,
                {},
            )
        if status is None and any(previous.get(m.name) is not None for m in metrics):
            return _lost(metrics, JudgeStatus(lost=True))
        started = _parse(tick.status.last_transition_time) or now
        status = JudgeStatus(anchor=_stamp(started), read_until=_stamp(started), pending=[])
    alpha, _, _ = release_alphas(tick.analysis.metrics or [])
    pending = [*(status.pending or []), _stamp(now)]
    status = status.model_copy(update={"pending": pending, "alpha": alpha})
    verdicts = await _read_and_judge(tick, metrics, previous, status, now)
    if verdicts.guard_violations:
        return verdicts
    alphas = last_look_alphas(tick.analysis.metrics or [])
    looked, judge = last_look.take(tick, metrics, verdicts.comparisons, verdicts.judge, alphas)
    return dataclasses.replace(verdicts, comparisons=looked, judge=judge)


async def _read_and_judge(
    tick: Tick,
    metrics: list[CanaryMetric],
    previous: Mapping[str, Comparison | None],
    status: JudgeStatus,
    now: datetime.datetime,
) -> Verdicts:
    analysis_metrics = tick.analysis.metrics or []
    _, comparison_alpha, guard_alpha = release_alphas(analysis_metrics)
    anchor = _parse(status.anchor) or now
    origin = anchor - datetime.timedelta(seconds=2 * scrape_seconds(analysis_metrics))
    landed = await _landed(tick, metrics, status.pending or [], now)
    due = [end for end in status.pending or [] if (_parse(end) or now) <= landed]
    read = _parse(due[-1] if due else status.read_until) or anchor
    if landed > read and len(due) < len(status.pending or []):
        due.append(_stamp(landed))  # the running interval up to the watermark: one split
    comparisons: dict[str, Comparison] = {}
    violations: dict[str, str] = {}
    read_ok = True
    for metric in metrics:
        old = previous.get(metric.name)
        state = dict(old.state or {}) if old is not None else {}
        try:
            state, comparison = await _judge_metric(
                tick,
                metric,
                state,
                due=due,
                origin=origin,
                anchor=anchor,
                alphas=(comparison_alpha[metric.name], guard_alpha.get(metric.name)),
            )
        except SerinusError as error:
            read_ok = False
            comparison = _not_yet(f"{metric.name} could not be read yet: {error}", state=state)
            if old is not None:
                comparison = old.model_copy(update={"reason": comparison.reason})
        comparisons[metric.name] = comparison
        if comparison.guard and comparison.guard.endswith("beyond the limit"):
            violations[metric.name] = comparison.guard
    if read_ok and due:
        remaining = [end for end in status.pending or [] if end not in due]
        status = status.model_copy(update={"pending": remaining, "read_until": due[-1]})
    guarded = frozenset(m.name for m in metrics if guard_limit(m) is not None)
    return Verdicts(comparisons, guarded, status, violations)


async def _landed(
    tick: Tick, metrics: list[CanaryMetric], pending: list[str], now: datetime.datetime
) -> datetime.datetime:
    """The time up to which the judge may read now.

    With ``readLag`` set, ``readLag`` before now. Otherwise the watermark: the oldest of the
    latest samples of every series the judged metrics read (an interval ending there has all its
    samples in), but never later than now nor earlier than two scrape intervals before it (a
    series whose target went away without a staleness marker must not hold the judge back).
    """
    fallback = now - _td(lag_seconds(metrics))
    ends = [_parse(end) or now for end in pending]
    fixed = any((m.judge or MetricJudge()).read_lag for m in metrics)
    if fixed or not ends or max(ends) <= fallback:
        return fallback
    marks = []
    for metric in metrics:
        try:
            mark = await tick.world.metrics.watermark(tick.canary, metric)
        except SerinusError:
            return fallback
        if mark is None:
            return fallback
        marks.append(mark)
    return max(fallback, min([*marks, now]))


async def _judge_metric(
    tick: Tick,
    metric: CanaryMetric,
    state: dict[str, object],
    *,
    due: list[str],
    origin: datetime.datetime,
    anchor: datetime.datetime,
    alphas: tuple[float, float | None],
) -> tuple[dict[str, object], Comparison]:
    """Read the due intervals of one metric, fold them in, and say what the judge thinks."""
    limit = guard_limit(metric)
    return await metric_judge.judge_metric(
        tick.world.metrics,
        tick.canary,
        metric,
        state,
        window=metric_judge.Window(due=due, origin=origin, anchor=anchor, history=HISTORY_SECONDS),
        alphas=alphas,
        guard=limit,
        step_seconds=tick.analysis.interval_seconds,
    )


async def settled(tick: Tick) -> bool:
    """Whether promotion may go ahead: the judge has read the interval that ended when the
    schedule first wanted to promote (the last one at the highest weight)."""
    status = tick.status.judge
    if not judged(tick.analysis.metrics or []) or status is None or status.lost:
        return True
    if status.anchor is None:
        return True
    if status.promote_after is None:
        mark = status.model_copy(update={"promote_after": _stamp(tick.now())})
        await tick.update_status(judge=mark)
        status = mark
    read, wanted = _parse(status.read_until), _parse(status.promote_after)
    return read is not None and wanted is not None and read >= wanted


def _lost(metrics: list[CanaryMetric], status: JudgeStatus) -> Verdicts:
    reason = (
        "the judge's state was lost mid-release: no verdict for this release (starting over "
        "would spend alpha twice); the thresholds work as in Flagger"
    )
    return Verdicts({m.name: _not_yet(reason) for m in metrics}, frozenset(), status, {})


def _not_yet(reason: str, *, state: dict[str, object] | None = None) -> Comparison:
    return Comparison(outcome=sequential.Outcome.NOT_YET.value, reason=reason, state=state)


def _td(seconds: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=seconds)


def _stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(timestamp: str | None) -> datetime.datetime | None:
    if not timestamp:
        return None
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
