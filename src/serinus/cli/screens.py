"""How ``serinus status`` and ``serinus get canaries`` print a view: lines and a table.

One function per screen, each returning rich ``Text`` lines; the console decides the rest:
colour on a terminal only (rich leaves colour out when standard output is not one, and honours
``NO_COLOR``), and a weight bar of block characters on a terminal, of ``#`` and ``-`` elsewhere,
so the output of a pipeline log reads as plain text.
"""

from __future__ import annotations

import datetime

from rich.text import Text

from serinus.apis.base import format_duration, parse_time
from serinus.operating.view import CanaryView, MetricView

PHASE_STYLE = {
    "Succeeded": "green",
    "Failed": "red",
    "Progressing": "cyan",
    "Promoting": "cyan",
    "Finalising": "cyan",
    "Waiting": "yellow",
    "WaitingPromotion": "yellow",
}
VERDICT_STYLE = {"pass": "green", "fail": "red", "error": "red", "nodata": "yellow"}
BAR_WIDTH = 20
LABEL = 12


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return format_duration(max(round(seconds), 0)) if seconds >= 1 else "0s"


def bar(weight: int, *, fancy: bool) -> Text:
    filled = round(BAR_WIDTH * max(0, min(weight, 100)) / 100)
    on, off = ("█", "░") if fancy else ("#", "-")
    text = Text("[")
    text.append(on * filled, style="cyan")
    text.append(off * (BAR_WIDTH - filled), style="dim")
    text.append("]")
    return text


def _row(label: str, *parts: str | Text) -> Text:
    line = Text(f"{label:<{LABEL}}")
    for part in parts:
        line.append(part)
    return line


def status_lines(view: CanaryView, *, fancy: bool) -> list[Text]:
    """The status screen of one Canary."""
    lines = [_row("Canary", Text(view.key, style="bold"), f" ({view.target})")]
    phase = Text(view.phase, style=PHASE_STYLE.get(view.phase, ""))
    if view.paused_by:
        phase.append(f"  paused by {view.paused_by}", style="yellow")
    lines.append(_row("Phase", phase))
    if view.message:
        lines.append(_row("", Text(view.message, style="dim")))
    weight = _row("Weight", bar(view.weight, fancy=fancy))
    weight.append(f" {view.weight}% canary, {100 - view.weight}% primary")
    if view.max_weight is not None:
        weight.append(f" (max {view.max_weight}%)", style="dim")
    lines.append(weight)
    if view.steps:
        step = f"{view.step} of {view.steps} ({view.unit})"
        if view.phase == "Failed":
            step += ", reached before the rollback"
        if view.time_left is not None:
            if view.in_step is not None:
                step += f", {duration(view.in_step)} in this step"
            step += f", about {duration(view.time_left)} to go at {duration(view.interval)} a step"
        lines.append(_row("Step", step))
    if view.threshold is not None:
        style = "red" if view.failed_checks else ""
        checks = Text(f"{view.failed_checks} of {view.threshold} failed", style=style)
        lines.append(_row("Checks", checks))
    if view.metrics:
        lines.append(Text("Metrics"))
        lines.extend(_metric(m) for m in view.metrics)
    if view.hooks:
        lines.append(Text("Hooks"))
        for hook in view.hooks:
            line = Text(f"  {hook.name:<24} {hook.type:<26} {hook.url}")
            if hook.last:
                line.append(f"\n  {'':<24} last: {hook.last}", style="dim")
            lines.append(line)
    if view.last_request:
        lines.append(_row("Request", _request(view.last_request)))
    if view.events:
        lines.append(Text("Events"))
        lines.extend(_event(e.time, e.type, e.message, e.count) for e in view.events)
    return lines


def _bounds(metric: MetricView) -> str:
    parts = []
    if metric.min is not None:
        parts.append(f">= {metric.min:g}")
    if metric.max is not None:
        parts.append(f"<= {metric.max:g}")
    return " and ".join(parts)


def _metric(metric: MetricView) -> Text:
    value = "-" if metric.value is None else f"{metric.value:.4g}"
    line = Text(f"  {metric.name:<24} {value:>10}  {_bounds(metric):<18} ")
    verdict = metric.verdict or "-"
    line.append(verdict, style=VERDICT_STYLE.get(verdict, ""))
    judge = metric.judge
    if judge:
        detail = f"judge: {judge['outcome']}"
        if judge.get("ratio") is not None:
            detail += f", canary/primary {judge['ratio']:.3g}"
            if judge.get("upper") is not None:
                detail += f" (bound {judge['upper']:.3g})"
        if judge.get("evidence") is not None and judge.get("needed"):
            detail += f", evidence {judge['evidence']:.3g} of {judge['needed']:.3g}"
        line.append(f"\n  {'':<24} {detail}", style="dim")
    elif metric.verdict in ("fail", "error", "nodata") and metric.message:
        line.append(f"\n  {'':<24} {metric.message}", style="dim")
    return line


def _request(request: dict[str, object]) -> Text:
    accepted = bool(request.get("accepted", True))
    text = Text(f"{request.get('action')} by {request.get('by') or 'someone'}")
    text.append(" accepted" if accepted else " refused", style="green" if accepted else "red")
    if request.get("message"):
        text.append(f": {request['message']}")
    return text


def _event(when: str | None, kind: str, message: str, count: int) -> Text:
    moment = parse_time(when)
    stamp = moment.strftime("%H:%M:%S") if moment else "--:--:--"
    line = Text(f"  {stamp}  ")
    line.append(f"{kind:<8}", style="yellow" if kind == "Warning" else "dim")
    line.append(f" {message}")
    if count > 1:
        line.append(f" (x{count})", style="dim")
    return line


COLUMNS = ("NAMESPACE", "NAME", "PHASE", "WEIGHT", "STEP", "FAILED", "LAST TRANSITION")


def table(views: list[CanaryView], *, all_namespaces: bool, now: datetime.datetime) -> list[Text]:
    """``serinus get canaries``: one row per Canary, kubectl's column layout."""
    rows = []
    for view in views:
        since = parse_time(view.last_transition)
        age = duration((now - since).total_seconds()) if since else "-"
        step = f"{view.step}/{view.steps}" if view.steps else "-"
        failed = f"{view.failed_checks}/{view.threshold}" if view.threshold else "-"
        phase = view.phase + (" (paused)" if view.paused_by else "")
        row = [view.namespace, view.name, phase, f"{view.weight}%", step, failed, age]
        rows.append(row if all_namespaces else row[1:])
    header = list(COLUMNS if all_namespaces else COLUMNS[1:])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    phase_at = header.index("PHASE")
    lines = [Text("   ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())]
    for row in rows:
        line = Text()
        for index, (cell, width) in enumerate(zip(row, widths, strict=True)):
            style = PHASE_STYLE.get(cell.split(" ")[0], "") if index == phase_at else ""
            line.append(cell.ljust(width), style=style)
            line.append("   ")
        line.rstrip()
        lines.append(line)
    return lines
