"""Graphite, through its render URL API, as Flagger queries it.

The MetricTemplate's query is the render API's URL parameters, e.g.
``target=summarize(sumSeries(app.{{ target }}.http.5xx), '5min', 'sum')&from=-5min``; serinus adds
``format=json`` and sends ``GET <address>/render?...`` (with basic auth when the template names a
Secret with ``username`` and ``password``). The answer is a list of targets, each with
``datapoints`` as ``[value, timestamp]`` pairs where a missing value is ``null``; the value is the
newest non-null point. Several targets that all carry values are an error naming them, where
Flagger would silently take the last one. The online check renders ``target=test``: an empty answer
still proves the API is there.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import httpx

from serinus.errors import BODY_LIMIT, MultipleValuesError, NoValuesFoundError, QueryError
from serinus.metrics.providers import base
from serinus.metrics.providers.base import ProviderSettings

ONLINE_QUERY = "target=test"


class GraphiteProvider:
    kind = "graphite"

    def __init__(self, settings: ProviderSettings) -> None:
        self.address = settings.require_address("http://graphite.monitoring:8080")
        self._settings = settings
        self._auth: httpx.Auth | None = None
        if settings.secret is not None:
            self._auth = httpx.BasicAuth(
                settings.secret_value("username"), settings.secret_value("password")
            )

    async def query(self, query: str) -> float:
        text = base.collapse_whitespace(query)
        return _newest_value(await self._render(text), text)

    async def check_online(self) -> None:
        await self._render(ONLINE_QUERY)

    async def _render(self, text: str) -> Any:
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
        params = [(key.strip(), value.strip()) for key, value in pairs]
        if not any(key == "target" for key, _ in params):
            raise QueryError(
                f"graphite queries are render API parameters such as target=...&from=-5min;"
                f" this one has no target: {text}"
            )
        params = [(k, v) for k, v in params if k != "format"] + [("format", "json")]
        response = await base.send(
            self._settings,
            "GET",
            f"{self.address}/render",
            params=params,
            headers=dict(self._settings.headers),
            auth=self._auth or httpx.USE_CLIENT_DEFAULT,
        )
        base.check_status(self._settings, response, query=text)
        return base.json_body(self._settings, response)


def _newest_value(body: Any, query: str) -> float:
    if not isinstance(body, list):
        raise QueryError(f"graphite answered {str(body)[:BODY_LIMIT]} for the query: {query}")
    found: list[tuple[str, float]] = []
    for entry in body:
        points = entry.get("datapoints") if isinstance(entry, dict) else None
        values = [p[0] for p in points or [] if isinstance(p, list) and p and p[0] is not None]
        if values:
            found.append((str(entry.get("target", "?")), float(values[-1])))
    if not found:
        raise NoValuesFoundError(f"graphite returned no datapoints with a value for: {query}")
    if len(found) > 1:
        names = ", ".join(name for name, _ in found[:5])
        raise MultipleValuesError(
            f"the query returned {len(found)} targets where one value was expected: {names};"
            f" combine them (e.g. sumSeries(...)); query: {query}"
        )
    return found[0][1]
