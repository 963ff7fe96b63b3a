"""MetricTemplates the sequential judge may compare: their query pinned to an explicit window.

Who uses it: :class:`serinus.metrics.checks.MetricChecks`, for a metric with both ``templateRef``
and ``judge:``. The judge compares *counts*, so such a template counts **bad events** (errors of
the application's own, requests slower than a bound, failed payments...) over
``[{{ interval }}]``, and names the workload with ``{{ target }}``, e.g.::

    sum(increase(http_requests_total{namespace="{{ namespace }}",
      pod=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",status=~"5.."}[{{ interval }}]))

The judge renders it once per side, ``{{ target }}`` being the canary's workload or its primary
(``<target>-primary``, as Flagger names it), with every ``[{{ interval }}]`` replaced by the
interval's explicit window ``[<seconds>s] @ <end>``: both sides are read for the same window,
however late the query runs. The requests each side served (what the events are a share of) come
from the mesh's built-in request counter, as for ``request-success-rate``.

A template that cannot be pinned this way is refused with an error naming the metric's
``templateRef`` and what its query must contain.
"""

from __future__ import annotations

import re

from serinus.errors import InvalidCanaryError
from serinus.metrics import templating
from serinus.metrics.templating import QueryModel

_WINDOW = re.compile(r"\[\s*\{\{-?\s*interval\s*-?\}\}\s*\]")
_TARGET = re.compile(r"\{\{-?\s*target\s*-?\}\}")
_EXPECTED = (
    "a query that counts bad events over [{{ interval }}] (e.g. sum(increase(<counter>"
    "{...}[{{ interval }}]))) and selects the workload with {{ target }}, so that the judge can "
    "read the canary and the primary for the same explicit window"
)


def check(metric_name: str, source: str, query: str) -> None:
    """Raise InvalidCanaryError unless ``query`` can be pinned for both sides."""
    missing = []
    if not _WINDOW.search(query):
        missing.append("[{{ interval }}]")
    if not _TARGET.search(query):
        missing.append("{{ target }}")
    if missing:
        raise InvalidCanaryError(
            f"spec.analysis.metrics[{metric_name}].templateRef: a judged metric needs {_EXPECTED};"
            f" {source}'s query has no {' and no '.join(missing)}"
        )


def pinned(
    query: str,
    model: QueryModel,
    *,
    primary: bool,
    window: str,
    at: float | None,
    source: str,
) -> str:
    """The template for one side, its windows ``[<window>] @ <at>`` (no ``@`` when ``at`` is
    None: a range query's steps)."""
    anchor = "" if at is None else f" @ {at:.3f}"
    text = _WINDOW.sub(lambda _: f"[{window}]{anchor}", query)
    values = model.values()
    values["interval"] = window
    if primary:
        values["target"] = f"{model.target}-primary"
    return templating.render(text, values, source=source)
