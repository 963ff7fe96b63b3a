"""Where a run stands and how long it should still take: step n of N, time to go, the deadline.

A run that passes every check takes a known number of ticks, one per analysis interval: one per
weight step (or iteration), one to promote, the steps back to the primary (one, or one per
``stepWeightPromotion``), and one to finish. :func:`progress` counts what is done and what is
left from the status; :func:`time_left` turns that into seconds. :func:`deadline` is when a run
should have ended at the latest, used by the "stuck" alert: the run's ticks plus ``threshold``
failed ones, plus twice ``progressDeadlineSeconds`` (the canary becoming ready at the start, the
primary at promotion). Runs waiting for a person (a closed gate, a pause) have no deadline.
Pure functions of the Canary and the time.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime
import math

from serinus.apis.analysis import CanaryAnalysis, Strategy
from serinus.apis.base import parse_time
from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase, CanaryStatus
from serinus.capabilities import Capabilities
from serinus.controller import strategies
from serinus.errors import UnknownProviderError
from serinus.routers import registry

MIN_INTERVAL = 1.0
"""The shortest interval assumed (the operator's --min-interval may be 10s, the sandbox's 1s)."""


@dataclasses.dataclass(frozen=True)
class Progress:
    """How far a run is, in steps and ticks."""

    step: int
    """Steps done (weights reached, or iterations)."""
    steps: int
    """Steps of the whole run."""
    unit: str
    """``weight`` or ``iteration``."""
    ticks_left: int
    """Ticks until Succeeded, if every check passes from now on."""
    ticks: int
    """Ticks of the whole run, from its start."""
    interval: float
    """Seconds between ticks."""


_PLANS: dict[tuple[int, int | None, tuple[int, ...]], tuple[int, ...]] = {}
"""The weights of each plan seen (every progressing tick asks; few distinct plans exist)."""
_PLANS_HELD = 1024


def weights(analysis: CanaryAnalysis) -> list[int]:
    """The canary weights of a progressive run, in order."""
    return list(_plan(analysis))


def _plan(analysis: CanaryAnalysis) -> tuple[int, ...]:
    """:func:`weights`, shared (every progressing tick asks, for its deadline)."""
    # what strategies.next_weight reads of the analysis
    key = (analysis.effective_max_weight, analysis.step_weight, tuple(analysis.step_weights or ()))
    plan = _PLANS.get(key)
    if plan is None:
        found: list[int] = []
        current = 0
        while (following := strategies.next_weight(analysis, current)) > current:
            found.append(following)
            current = following
        if len(_PLANS) >= _PLANS_HELD:
            _PLANS.clear()
        plan = _PLANS[key] = tuple(found)
    return plan


def _capabilities(canary: Canary, provider: str | None) -> Capabilities:
    """What the Canary's router can do (the operator's default provider when it names none; a
    router that splits by weight when neither is known)."""
    if not provider:
        return Capabilities()
    try:
        return registry.capabilities_for(provider)(canary)
    except UnknownProviderError:
        return Capabilities()


def _promotion_ticks(analysis: CanaryAnalysis, weight: int) -> int:
    """Ticks from Promoting to Finalising: the steps of traffic back to the primary."""
    step = analysis.step_weight_promotion or 0
    return 1 if step <= 0 else max(1, math.ceil(weight / step))


def progress(canary: Canary, *, provider: str | None = None) -> Progress | None:
    """Where the Canary's run stands; None without an analysis."""
    analysis = canary.spec.effective_analysis
    if analysis is None:
        return None
    status = canary.status or CanaryStatus()
    can = _capabilities(canary, canary.spec.provider or provider)
    strategy = strategies.strategy(analysis, can)
    interval = analysis.interval_at_least(MIN_INTERVAL)
    phase = status.phase
    if strategy is Strategy.CANARY:
        plan = _plan(analysis)  # increasing: the weights reached are its first ones
        extra = 1 if analysis.mirror else 0
        reached = bisect.bisect_right(plan, status.canary_weight)
        done = reached + (extra if status.canary_weight > 0 else 0)
        steps, unit = len(plan) + extra, "weight"
        back = _promotion_ticks(analysis, analysis.effective_max_weight)
        if phase is CanaryPhase.PROMOTING:  # part of the way back already
            back = _promotion_ticks(analysis, status.canary_weight)
    else:
        steps = strategies.iterations(analysis, can)
        # blue/green takes one more tick: all traffic to the canary before promotion
        extra = 1 if strategy is Strategy.BLUE_GREEN else 0
        ticked = min(status.iterations, steps + extra)
        left = _left(phase, steps + extra - ticked, 1)
        total = steps + extra + 1 + 1 + 1
        return Progress(min(ticked, steps), steps, "iteration", left, total, interval)
    total = steps + 1 + _promotion_ticks(analysis, analysis.effective_max_weight) + 1
    return Progress(done, steps, unit, _left(phase, steps - done, back), total, interval)


def _left(phase: CanaryPhase | None, steps_left: int, back: int) -> int:
    if phase is CanaryPhase.FINALISING:
        return 1
    if phase is CanaryPhase.PROMOTING:
        return back + 1
    if phase is CanaryPhase.WAITING_PROMOTION:
        return 1 + back + 1
    if phase in (CanaryPhase.PROGRESSING, CanaryPhase.WAITING):
        return max(steps_left, 0) + 1 + back + 1
    return 0


def time_left(found: Progress, *, in_step: float | None) -> float:
    """Seconds until Succeeded if every check passes: the ticks left, less the time already
    spent waiting for the next one."""
    if found.ticks_left <= 0:
        return 0.0
    spent = min(in_step or 0.0, found.interval)
    return max(found.ticks_left * found.interval - spent, 0.0)


def deadline(canary: Canary, *, provider: str | None = None) -> datetime.datetime | None:
    """When the current run should have ended at the latest; None when none applies."""
    status = canary.status
    analysis = canary.spec.effective_analysis
    if status is None or analysis is None or not status.analysis_start_time:
        return None
    if status.phase not in (
        CanaryPhase.PROGRESSING,
        CanaryPhase.PROMOTING,
        CanaryPhase.FINALISING,
    ):
        return None
    if status.control is not None and status.control.paused is not None:
        return None
    found = progress(canary, provider=provider)
    start = parse_time(status.analysis_start_time)
    if found is None or start is None:
        return None
    ticks = found.ticks + analysis.effective_threshold
    slack = 2 * canary.spec.effective_progress_deadline
    return start + datetime.timedelta(seconds=ticks * found.interval + slack)
