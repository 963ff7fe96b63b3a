"""Why a Prometheus query found no values: the follow-up question that tells the causes apart.

"no values found" is Flagger's most common complaint, and its message cannot say which of two very
different things happened. An empty answer means one of:

1. no series match the query's labels at all: a wrong label, a missing mesh sidecar, a scrape
   that does not run. Waiting will not help; the message names the labels to check.
2. the series exist but had no samples in the window (the canary got no traffic, or was just
   scraped for the first time). More traffic or a longer interval helps.

One follow-up instant query, ``count(<selector>)`` (Prometheus' 5-minute lookback), asks whether the
series exist. NaN (0/0) needs no follow-up: the counters exist and did not move. The follow-up is
best effort: if it fails, the message says so and the original "no values" still stands.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from serinus.errors import MetricsError
from serinus.metrics.providers.prometheus import PrometheusProvider

MAX_SELECTORS = 3

# A vector selector: an optional metric name and a brace block whose quoted values may hold braces.
_SELECTOR = re.compile(r'(?<![\w:])([A-Za-z_:][\w:]*)?\{(?:[^{}"]|"(?:\\.|[^"\\])*")*\}')


async def missing_series(prometheus: PrometheusProvider, selectors: Sequence[str]) -> str | None:
    """Why an empty answer is empty when series are missing; None when every selector matches.

    Args:
        selectors: the series the query reads, most telling first (at most three are checked).
    """
    for selector in list(dict.fromkeys(selectors))[:MAX_SELECTORS]:
        try:
            found = await prometheus.vector(f"count({selector})")
        except MetricsError as err:
            return f"the query matched no series (the follow-up count({selector}) failed: {err})"
        if not found:
            return f"no series match {selector}: check the labels/the mesh injection"
    return None


def selectors_in(query: str) -> list[str]:
    """The vector selectors with labels in a PromQL query, in order, without duplicates."""
    found = (match.group(0) for match in _SELECTOR.finditer(query))
    return list(dict.fromkeys(selector for selector in found if selector != "{}"))
