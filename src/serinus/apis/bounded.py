"""A Canary status that always fits in a write: messages cut and redacted, at most N metrics.

The status is written whole on every step, together with the spec, in one request that the API
server refuses past 3 MiB (and etcd past 1.5 MiB). Its size must therefore not grow with what a
Canary's author writes: a Canary with 10,000 metrics used to make every status write fail
("Request Entity Too Large"), so the run stayed Progressing with 0 failed checks and could
neither fail nor roll back. :func:`bounded` is applied by the status store to every write:

* every message (the status's, each condition's, each metric's and each comparison's reason and
  guard) goes through :func:`serinus.redaction.clean`: credentials in URLs hidden, at most
  1,024 characters;
* at most :data:`METRIC_LIMIT` metrics are listed: those the sequential judge keeps state for
  first (losing it would lose the judge's memory), then those that did not pass, then the rest,
  in the analysis's order; one more entry, named like ``(9,950 more)``, counts the others by
  verdict. Bounding is idempotent: a status read back and written again in the same tick keeps
  its count (the summary entry counts for the metrics it stands for, not as one).

:func:`minimal` is the last resort of a store whose bounded write is still refused: the run's
counters and phase, without metrics and the judge's state, and a message saying why.
"""

from __future__ import annotations

import collections
import re
from typing import TypeVar

from pydantic import BaseModel

from serinus.apis.status import CanaryCondition, CanaryStatus, Comparison, MetricStatus
from serinus.redaction import clean

METRIC_LIMIT = 50
"""Metrics listed in ``status.metrics``; the rest are counted in one summary entry."""

NAME_LIMIT = 253

_SUMMARY = re.compile(r"\(([0-9][0-9,]*) more\)")


def bounded(status: CanaryStatus) -> CanaryStatus:
    """``status`` with every message cleaned and at most :data:`METRIC_LIMIT` metrics (``status``
    itself when it is so already, as it nearly always is: nothing is copied then)."""
    updates: dict[str, object] = {}
    if status.message is not None:
        updates["message"] = clean(status.message)
    if status.conditions:
        updates["conditions"] = _same_or(
            [_condition(c) for c in status.conditions], status.conditions
        )
    if status.metrics:
        updates["metrics"] = _same_or(_metrics(status.metrics), status.metrics)
    return _updated(status, updates)


def minimal(status: CanaryStatus, reason: str) -> CanaryStatus:
    """The run's phase and counters only, with ``reason`` as the message."""
    return bounded(status.model_copy(update={"metrics": None, "judge": None, "message": reason}))


def _condition(condition: CanaryCondition) -> CanaryCondition:
    if condition.message is None:
        return condition
    return _updated(condition, {"message": clean(condition.message)})


M = TypeVar("M", bound=BaseModel)


def _updated(model: M, updates: dict[str, object]) -> M:
    """``model`` with ``updates``; ``model`` itself when they change nothing."""
    changed = {
        key: value
        for key, value in updates.items()
        if value is not getattr(model, key) and value != getattr(model, key)
    }
    return model.model_copy(update=changed) if changed else model


def _same_or(found: list[M], before: list[M]) -> list[M]:
    """``before`` when ``found`` holds the very same models, else ``found``."""
    if len(found) == len(before) and all(a is b for a, b in zip(found, before, strict=True)):
        return before
    return found


def _metrics(metrics: list[MetricStatus]) -> list[MetricStatus]:
    cleaned = [_metric(m) for m in metrics]
    summaries = sum(1 for m in cleaned if _SUMMARY.fullmatch(m.name))
    if len(cleaned) - summaries <= METRIC_LIMIT and summaries <= 1:
        return cleaned  # within the limit, or bounded already
    ranked = sorted(range(len(cleaned)), key=lambda i: (_rank(cleaned[i]), i))
    kept = sorted(ranked[:METRIC_LIMIT])
    left_out = [cleaned[i] for i in ranked[METRIC_LIMIT:]]
    return [*(cleaned[i] for i in kept), _summary(left_out)]


def _stands_for(metric: MetricStatus) -> int:
    """How many metrics an entry stands for: a summary's count, else 1."""
    summary = _SUMMARY.fullmatch(metric.name)
    return int(summary.group(1).replace(",", "")) if summary else 1


def _rank(metric: MetricStatus) -> int:
    if _SUMMARY.fullmatch(metric.name):
        return 3  # an earlier summary is folded into the new one
    if metric.comparison is not None:
        return 0
    return 2 if metric.verdict == "pass" else 1


def _summary(left_out: list[MetricStatus]) -> MetricStatus:
    verdicts: collections.Counter[str] = collections.Counter()
    for metric in left_out:
        verdicts[metric.verdict or "unknown"] += _stands_for(metric)
    total = verdicts.total()
    counted = ", ".join(f"{count:,} {verdict}" for verdict, count in verdicts.most_common())
    worst = next(
        (v for v in ("fail", "error", "nodata") if v in verdicts), verdicts.most_common(1)[0][0]
    )
    last = max((m.last_update_time or "" for m in left_out), default="") or None
    return MetricStatus(
        name=f"({total:,} more)",
        verdict=worst,
        message=f"{total:,} more metrics, not listed to keep the status small: {counted}",
        last_update_time=last,
    )


def _metric(metric: MetricStatus) -> MetricStatus:
    updates: dict[str, object] = {"name": clean(metric.name, NAME_LIMIT)}
    if metric.message is not None:
        updates["message"] = clean(metric.message)
    if metric.comparison is not None:
        updates["comparison"] = _comparison(metric.comparison)
    return _updated(metric, updates)


def _comparison(comparison: Comparison) -> Comparison:
    updates: dict[str, object] = {"reason": clean(comparison.reason)}
    if comparison.guard is not None:
        updates["guard"] = clean(comparison.guard)
    return _updated(comparison, updates)
