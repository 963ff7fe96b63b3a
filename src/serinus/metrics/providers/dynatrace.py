"""Dynatrace, through the Metrics API v2, as Flagger queries it.

``GET <address>/api/v2/metrics/query?metricSelector=<query>&resolution=Inf&from=<ms>&to=<ms>`` with
``Authorization: Api-Token <dynatrace_token>`` (the Secret's key), over a window of ten metric
intervals ending now; ``spec.provider.address`` is required (``https://<env>.live.dynatrace.com``
or an ActiveGate). With ``resolution=Inf`` each series carries one value, and that value is the
metric's. The online check lists one metric (``GET /api/v2/metrics?pageSize=1``).

An empty answer is explained from what Dynatrace returned, as the Prometheus provider explains
one: no series at all means the selector matched nothing (a wrong metric key, a filter on a
dimension value that never occurs); a series whose value is ``null`` exists but had no data points
in the window (no traffic). Dynatrace's own ``warnings`` are added to the message. Where Flagger
quietly takes the last of several series, serinus names them (aggregate with ``:splitBy()``).
"""

from __future__ import annotations

from typing import Any

from serinus.apis.base import parse_duration
from serinus.errors import BODY_LIMIT, MultipleValuesError, NoValuesFoundError, QueryError
from serinus.metrics.providers import base
from serinus.metrics.providers.base import ProviderSettings

TOKEN_KEY = "dynatrace_token"
WINDOW_INTERVALS = 10
SHOWN_SERIES = 5


class DynatraceProvider:
    kind = "dynatrace"

    def __init__(self, settings: ProviderSettings) -> None:
        self.address = settings.require_address("https://abc12345.live.dynatrace.com")
        self._settings = settings
        self._headers = {
            **settings.headers,
            "Authorization": f"Api-Token {settings.secret_value(TOKEN_KEY)}",
            "Accept": "application/json",
        }
        self._window_ms = int(WINDOW_INTERVALS * parse_duration(settings.interval) * 1000)

    async def query(self, query: str) -> float:
        selector = base.collapse_whitespace(query)
        now = int(self._settings.now()) * 1000
        params = {
            "metricSelector": selector,
            "resolution": "Inf",
            "from": str(now - self._window_ms),
            "to": str(now),
        }
        response = await base.send(
            self._settings,
            "GET",
            f"{self.address}/api/v2/metrics/query",
            params=params,
            headers=self._headers,
        )
        base.check_status(self._settings, response, query=selector)
        body = base.json_body(self._settings, response)
        return _value(body, selector, window=base.window_text(now - self._window_ms, now))

    async def check_online(self) -> None:
        response = await base.send(
            self._settings,
            "GET",
            f"{self.address}/api/v2/metrics",
            params={"pageSize": "1"},
            headers=self._headers,
        )
        base.check_status(self._settings, response, query="(list one metric)")


def _value(body: Any, selector: str, *, window: str) -> float:
    results = body.get("result") if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise QueryError(f"dynatrace answered without a result list: {str(body)[:BODY_LIMIT]}")
    if not results:
        raise NoValuesFoundError(f"the metric selector matched no metric; query: {selector}")
    first = results[0] if isinstance(results[0], dict) else {}
    warnings = "; ".join(str(w) for w in first.get("warnings") or [])
    said = f" (Dynatrace: {warnings})" if warnings else ""
    series = [s for s in first.get("data") or [] if isinstance(s, dict)]
    if not series:
        raise NoValuesFoundError(
            f"no series of {first.get('metricId', 'the metric')} matched the selector's filters"
            f"{said}: check the metric key and the dimension values; query: {selector}"
        )
    if len(series) > 1:
        shown = ", ".join(
            str(s.get("dimensionMap") or s.get("dimensions")) for s in series[:SHOWN_SERIES]
        )
        raise MultipleValuesError(
            f"the query returned {len(series)} series where one value was expected: {shown};"
            f" aggregate them (e.g. :splitBy()); query: {selector}"
        )
    values = [v for v in series[0].get("values") or [] if v is not None]
    if not values:
        raise NoValuesFoundError(
            f"the series exists but had no data points {window}{said}: no traffic in the window?;"
            f" query: {selector}"
        )
    if not isinstance(values[-1], int | float):
        raise QueryError(f"dynatrace returned {values[-1]!r} where a number was expected")
    return float(values[-1])
