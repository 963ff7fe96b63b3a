"""Datadog metrics, through its v1 "query timeseries points" API.

Flagger's behaviour, kept: ``GET <address>/api/v1/query?query=...&from=...&to=...`` with the
``DD-API-KEY`` and ``DD-APPLICATION-KEY`` headers (Secret keys ``datadog_api_key`` and
``datadog_application_key``), a window of ten metric intervals ending now, and the **first** point
of the series as the value: the newest point usually covers an incomplete time bucket. The online
check calls ``GET /api/v1/validate`` with the same keys. The address defaults to
``https://api.datadoghq.com`` (other Datadog sites, e.g. ``https://api.datadoghq.eu``, go in
``spec.provider.address``).

Unlike Flagger, a query that returns several series is an error naming them (Flagger silently takes
the first one), and a point without a value is "no values" instead of a parse failure.
"""

from __future__ import annotations

from typing import Any

from serinus.apis.base import parse_duration
from serinus.errors import MultipleValuesError, NoValuesFoundError, QueryError
from serinus.metrics.providers import base
from serinus.metrics.providers.base import ProviderSettings

DEFAULT_ADDRESS = "https://api.datadoghq.com"
API_KEY = "datadog_api_key"
APPLICATION_KEY = "datadog_application_key"
WINDOW_INTERVALS = 10
"""The query window is this many metric intervals, as in Flagger."""


class DatadogProvider:
    kind = "datadog"

    def __init__(self, settings: ProviderSettings) -> None:
        self.address = (settings.address or DEFAULT_ADDRESS).rstrip("/")
        self._settings = settings
        self._headers = {
            **settings.headers,
            "DD-API-KEY": settings.secret_value(API_KEY),
            "DD-APPLICATION-KEY": settings.secret_value(APPLICATION_KEY),
        }
        self._window = WINDOW_INTERVALS * parse_duration(settings.interval)

    async def query(self, query: str) -> float:
        text = base.collapse_whitespace(query)
        now = int(self._settings.now())
        params = {"query": text, "from": str(now - int(self._window)), "to": str(now)}
        response = await base.send(
            self._settings,
            "GET",
            f"{self.address}/api/v1/query",
            params=params,
            headers=self._headers,
        )
        base.check_status(self._settings, response, query=text)
        body = base.json_body(self._settings, response)
        if not isinstance(body, dict):
            raise QueryError(f"datadog at {self.address} answered {body!r}; query: {text}")
        if body.get("status") == "error":
            raise QueryError(f"datadog at {self.address} rejected the query: {body.get('error')}")
        return _first_point(body.get("series"), text)

    async def check_online(self) -> None:
        response = await base.send(
            self._settings, "GET", f"{self.address}/api/v1/validate", headers=self._headers
        )
        base.check_status(self._settings, response, query="(validate the API key)")


def _first_point(series: Any, query: str) -> float:
    if not isinstance(series, list) or not series:
        raise NoValuesFoundError(f"datadog returned no series for the query: {query}")
    if len(series) > 1:
        scopes = ", ".join(str(s.get("scope", "?")) for s in series[:5] if isinstance(s, dict))
        raise MultipleValuesError(
            f"the query returned {len(series)} series where one value was expected: {scopes};"
            f" aggregate them (e.g. sum:...); query: {query}"
        )
    points = series[0].get("pointlist") if isinstance(series[0], dict) else None
    if not isinstance(points, list) or not points:
        raise NoValuesFoundError(f"datadog returned a series without points for the query: {query}")
    point = points[0]
    if not isinstance(point, list) or len(point) < 2 or point[1] is None:
        raise NoValuesFoundError(f"datadog returned a point without a value ({point!r}): {query}")
    return float(point[1])
