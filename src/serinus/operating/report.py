"""One run as a standalone HTML page to attach to a ticket (``serinus report``).

Everything the page needs is inside it (styles and the SVG drawing of
:mod:`serinus.operating.charts`; no script, no font, no link to fetch), so it opens the same
from a mail attachment or an issue tracker years later. It shows the Canary, the revision, when
the run started and ended and how, the timeline drawing, the requests made by hand, and every
recorded tick as a table. All text from the cluster is escaped.
"""

from __future__ import annotations

import html

from serinus import __version__
from serinus.apis.base import parse_time
from serinus.apis.history import History, Point, Run
from serinus.operating import charts

PAGE_STYLE = """
body { font: 14px/1.4 sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; border-bottom: 1px solid #eee;
text-align: left; } .Succeeded { color: #2e9d4a; } .Failed { color: #d0342c; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; } dt { color: #666; }
"""


def run_index(history: History, wanted: int | None) -> int:
    """The index of run ``wanted`` (1 = oldest kept, negative from the newest); ValueError
    when there is no such run."""
    count = len(history.runs)
    if count == 0:
        raise ValueError("no run is recorded yet")
    if wanted is None:
        return count - 1
    index = wanted - 1 if wanted > 0 else count + wanted
    if not 0 <= index < count:
        raise ValueError(f"expected a run between 1 and {count} (or -1 for the last), got {wanted}")
    return index


def _duration(run: Run) -> str:
    start, end = parse_time(run.started), parse_time(run.ended)
    if start is None or end is None:
        return "still running"
    return f"{(end - start).total_seconds():.0f}s"


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _metrics(point: Point) -> str:
    shown = []
    for metric in point.metrics:
        value = "-" if metric.value is None else f"{metric.value:.4g}"
        shown.append(f"{metric.name} {value} {metric.verdict}")
    return "; ".join(shown)


def page(history: History, index: int) -> str:
    """The HTML page of run ``index`` of the history."""
    run = history.runs[index]
    outcome = run.outcome or "in progress"
    rows = "".join(
        f"<tr><td>{_e(p.at)}</td><td>{_e(p.phase)}</td><td>{p.weight}%</td>"
        f"<td>{p.failed_checks}</td><td>{_e(_metrics(p))}</td><td>{_e(p.message)}</td></tr>"
        for p in run.points
    )
    requests = "".join(
        f"<tr><td>{_e(r.at)}</td><td>{_e(r.action)}</td><td>{_e(r.by)}</td>"
        f"<td>{'accepted' if r.accepted else 'refused'}</td><td>{_e(r.message)}</td></tr>"
        for r in run.requests
    )
    if requests:
        head = "<tr><th>at</th><th>action</th><th>by</th><th></th><th></th></tr>"
        requests = f"<table>{head}{requests}</table>"
    else:
        requests = "<p>none</p>"
    title = f"{history.canary}: run {index + 1} of {len(history.runs)}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{_e(title)}</title><style>{PAGE_STYLE}{charts.STYLE}</style></head>
<body>
<h1>{_e(history.canary)}: <span class="{_e(run.outcome)}">{_e(outcome)}</span></h1>
<dl>
<dt>run</dt><dd>{index + 1} of {len(history.runs)} kept</dd>
<dt>revision</dt><dd>{_e(run.revision)}</dd>
<dt>started</dt><dd>{_e(run.started)}</dd>
<dt>ended</dt><dd>{_e(run.ended or "-")}</dd>
<dt>duration</dt><dd>{_e(_duration(run))}</dd>
<dt>interval</dt><dd>{_e(run.interval_seconds)}s</dd>
<dt>rollback after</dt><dd>{_e(run.threshold)} failed checks</dd>
</dl>
<h2>Timeline</h2>
{charts.svg(run)}
<h2>Requests made by hand</h2>
{requests}
<h2>Every tick recorded</h2>
<table><tr><th>at</th><th>phase</th><th>weight</th><th>failed</th><th>metrics</th>
<th>message</th></tr>{rows}</table>
<p><small>serinus {_e(__version__)} report</small></p>
</body></html>
"""
