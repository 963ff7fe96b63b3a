"""Flagger's judge: a metric value against the fixed bounds of its ``thresholdRange``.

A value below ``min`` or above ``max`` fails the check. The halt messages keep Flagger's wording,
because users and dashboards grep for them: ``Halt podinfo.prod advancement success rate 69.17% <
99%`` and, for durations, the seconds form the seed document shows (``request duration 1.20s >
0.5s``). Durations are measured in milliseconds, as Flagger's built-in queries return them.
"""

from __future__ import annotations

from serinus.analysis.verdict import CheckResult, Verdict
from serinus.apis.analysis import CanaryMetric


def judge(metric: CanaryMetric, value: float, *, canary_key: str) -> CheckResult:
    """Compare one value with the metric's bounds; the message says why a check failed."""
    bounds = metric.effective_range
    low, high = bounds.min, bounds.max
    if low is not None and value < low:
        message = _halt(metric.name, value, "<", low, canary_key)
    elif high is not None and value > high:
        message = _halt(metric.name, value, ">", high, canary_key)
    else:
        return CheckResult(metric.name, Verdict.PASS, value, low, high)
    return CheckResult(metric.name, Verdict.FAIL, value, low, high, message)


def _halt(name: str, value: float, sign: str, bound: float, canary_key: str) -> str:
    prefix = f"Halt {canary_key} advancement"
    if name == "request-success-rate":
        return f"{prefix} success rate {value:.2f}% {sign} {bound:g}%"
    if name == "request-duration":
        return f"{prefix} request duration {value / 1000:.2f}s {sign} {bound / 1000:g}s"
    return f"{prefix} {name} {value:.2f} {sign} {bound:g}"
