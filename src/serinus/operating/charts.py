"""One run's timeline as an SVG drawing: the weight, then each metric against its bounds.

Drawn on the server, in Python, for both ``serinus report`` (inside a standalone HTML page) and
the dashboard (which swaps in the drawing it is sent), so there is one drawing to get right. The
top panel is the canary weight over time (a step line, 0 to 100%); below it one panel per metric:
its values as a line, its bounds as dashed lines, each tick's verdict as a dot (green pass, red
fail, amber no data or error); a metric the sequential judge compares gets a panel of its
canary/primary ratio with the judge's upper bound. Requests made by hand are vertical marks.
Every text that comes from the cluster is escaped: the history is data anyone who may edit
ConfigMaps in the namespace could have written.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

from serinus.apis.base import parse_time
from serinus.apis.history import MetricPoint, Point, Run

WIDTH = 900
LEFT, RIGHT = 60, 20
WEIGHT_HEIGHT, METRIC_HEIGHT, GAP = 150, 100, 34
DOT = {"pass": "#2e9d4a", "fail": "#d0342c", "error": "#e39b17", "nodata": "#e39b17"}


def _seconds(run: Run, point_at: str) -> float:
    start, at = parse_time(run.started), parse_time(point_at)
    if start is None or at is None:
        return 0.0
    return max((at - start).total_seconds(), 0.0)


class _Panel:
    """One panel: a y range mapped onto a band of the drawing."""

    def __init__(self, top: float, height: float, low: float, high: float, span: float) -> None:
        self.top, self.height = top, height
        self.low, self.high = low, high if high > low else low + 1
        self.span = span if span > 0 else 1

    def x(self, seconds: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * seconds / self.span

    def y(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        return self.top + self.height * (1 - max(0.0, min(share, 1.0)))


def _text(x: float, y: float, words: str, *, css: str = "label", anchor: str = "start") -> str:
    return (
        f'<text class="{css}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">'
        f"{html.escape(words)}</text>"
    )


def _line(points: list[tuple[float, float]], *, css: str) -> str:
    if not points:
        return ""
    coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline class="{css}" fill="none" points="{coordinates}"/>'


def _frame(panel: _Panel, title: str, low: str, high: str) -> Iterator[str]:
    yield (
        f'<rect class="frame" x="{LEFT}" y="{panel.top:.1f}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{panel.height}" fill="none"/>'
    )
    yield _text(LEFT, panel.top - 8, title, css="title")
    yield _text(LEFT - 6, panel.top + 10, high, anchor="end")
    yield _text(LEFT - 6, panel.top + panel.height, low, anchor="end")


def _weights(run: Run, panel: _Panel) -> Iterator[str]:
    yield from _frame(panel, "canary weight (%)", "0", "100")
    steps: list[tuple[float, float]] = []
    for point in run.points:
        x, y = panel.x(_seconds(run, point.at)), panel.y(point.weight)
        if steps:
            steps.append((x, steps[-1][1]))
        steps.append((x, y))
    yield _line(steps, css="weight")
    if run.points:
        last = run.points[-1]
        yield _text(
            panel.x(_seconds(run, last.at)), panel.y(last.weight) - 6, f"{last.weight}%",
            css="weight-label", anchor="end",
        )  # fmt: skip


def _metric_names(points: list[Point]) -> list[str]:
    names: list[str] = []
    for point in points:
        names.extend(m.name for m in point.metrics if m.name not in names)
    return names


def _metric(run: Run, name: str, top: float, span: float) -> tuple[list[str], float]:
    """The panels of one metric (values, and the judge's ratio when it has one)."""
    samples = [(p, m) for p in run.points for m in p.metrics if m.name == name]
    values = [m.value for _, m in samples if m.value is not None]
    bounds = [b for _, m in samples for b in (m.min, m.max) if b is not None]
    low, high = min(values + bounds, default=0.0), max(values + bounds, default=1.0)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    panel = _Panel(top, METRIC_HEIGHT, low - pad, high + pad, span)
    last = samples[-1][1] if samples else None
    title = name if last is None else f"{name}{_bounds_text(last.min, last.max)}"
    parts = list(_frame(panel, title, f"{panel.low:.4g}", f"{panel.high:.4g}"))
    for bound in {b for _, m in samples for b in (m.min, m.max) if b is not None}:
        y = panel.y(bound)
        parts.append(
            f'<line class="bound" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
    line = [
        (panel.x(_seconds(run, p.at)), panel.y(m.value)) for p, m in samples if m.value is not None
    ]
    parts.append(_line(line, css="value"))
    for point, metric in samples:
        if metric.value is None:
            continue
        colour = DOT.get(metric.verdict, "#888")
        parts.append(
            f'<circle class="verdict {html.escape(metric.verdict)}" r="3" fill="{colour}" '
            f'cx="{panel.x(_seconds(run, point.at)):.1f}" cy="{panel.y(metric.value):.1f}"/>'
        )
    bottom = top + METRIC_HEIGHT + GAP
    ratios = [(p, m) for p, m in samples if m.ratio is not None]
    if ratios:
        judged, bottom = _judge(run, name, ratios, bottom, span)
        parts.extend(judged)
    return parts, bottom


def _judge(
    run: Run, name: str, ratios: list[tuple[Point, MetricPoint]], top: float, span: float
) -> tuple[list[str], float]:
    values = [(p, m.ratio) for p, m in ratios if m.ratio is not None]
    bounds = [(p, m.bound) for p, m in ratios if m.bound is not None and m.bound < 1e6]
    high = max([v for _, v in values] + [b for _, b in bounds] + [2.0])
    panel = _Panel(top, METRIC_HEIGHT, 0.0, high * 1.1, span)
    outcome = ratios[-1][1].judge or ""
    parts = list(
        _frame(panel, f"{name}: canary/primary, judge {outcome}", "0", f"{panel.high:.3g}")
    )
    one = panel.y(1.0)
    parts.append(
        f'<line class="bound" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{one:.1f}" y2="{one:.1f}"/>'
    )
    for found, css in ((values, "value"), (bounds, "upper")):
        parts.append(_line([(panel.x(_seconds(run, p.at)), panel.y(v)) for p, v in found], css=css))
    return parts, top + METRIC_HEIGHT + GAP


def _bounds_text(low: float | None, high: float | None) -> str:
    parts = [f">= {low:g}" if low is not None else "", f"<= {high:g}" if high is not None else ""]
    shown = " and ".join(p for p in parts if p)
    return f" ({shown})" if shown else ""


def svg(run: Run) -> str:
    """The run's timeline as one SVG element."""
    ends = [_seconds(run, p.at) for p in run.points] + [_seconds(run, r.at) for r in run.requests]
    span = max(ends, default=0.0) or 1.0
    top = 24.0
    weight = _Panel(top, WEIGHT_HEIGHT, 0, 100, span)
    parts = list(_weights(run, weight))
    bottom = top + WEIGHT_HEIGHT + GAP
    for name in _metric_names(run.points):
        drawn, bottom = _metric(run, name, bottom, span)
        parts.extend(drawn)
    height = bottom
    for request in run.requests:
        x = weight.x(_seconds(run, request.at))
        parts.append(
            f'<line class="request" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - GAP:.1f}"/>'
        )
        label = f"{request.action} by {request.by or 'someone'}"
        right = x > LEFT + (WIDTH - LEFT - RIGHT) * 0.7  # near the right edge: label to the left
        anchor, shift = ("end", -3) if right else ("start", 3)
        parts.append(_text(x + shift, top + 12, label, css="request-label", anchor=anchor))
    parts.append(_text(LEFT, height - GAP + 18, "0s"))
    parts.append(_text(WIDTH - RIGHT, height - GAP + 18, f"{span:.0f}s", anchor="end"))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" class="timeline" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH}" height="{height:.0f}" role="img" '
        f'aria-label="timeline of weights and metrics">{"".join(parts)}</svg>'
    )


STYLE = """
svg.timeline { font: 12px sans-serif; background: #fff; }
svg.timeline .frame { stroke: #ccc; }
svg.timeline .title { font-weight: bold; fill: #333; }
svg.timeline .label { fill: #666; }
svg.timeline .weight { stroke: #1f6fc5; stroke-width: 2; }
svg.timeline .weight-label { fill: #1f6fc5; font-weight: bold; }
svg.timeline .value { stroke: #555; stroke-width: 1.5; }
svg.timeline .upper { stroke: #d0342c; stroke-dasharray: 2 3; }
svg.timeline .bound { stroke: #d0342c; stroke-dasharray: 6 4; }
svg.timeline .request { stroke: #8a3fc7; stroke-dasharray: 3 3; }
svg.timeline .request-label { fill: #8a3fc7; }
"""
"""The drawing's look, for pages that show it."""
