"""New Relic, through the Insights query API (NRQL over HTTP), as Flagger queries it.

``GET <address>/v1/accounts/<newrelic_account_id>/query?nrql=<query> SINCE <interval> seconds ago``
with the ``X-Query-Key`` header (Secret keys ``newrelic_account_id`` and ``newrelic_query_key``).
The address defaults to ``https://insights-api.newrelic.com`` (EU accounts use
``https://insights-api.eu.newrelic.com``). The answer is ``{"results": [{"result": <number>}]}``
for an arithmetic expression, or ``{"results": [{"<function>": <number>}]}`` for a single function
such as ``count(*)``; both are read. The online check runs ``SELECT * FROM Metric`` over the same
window.
"""

from __future__ import annotations

from typing import Any

from serinus.apis.base import parse_duration
from serinus.errors import MultipleValuesError, NoValuesFoundError, QueryError
from serinus.metrics.providers import base
from serinus.metrics.providers.base import ProviderSettings

DEFAULT_ADDRESS = "https://insights-api.newrelic.com"
ACCOUNT_KEY = "newrelic_account_id"
QUERY_KEY = "newrelic_query_key"
ONLINE_QUERY = "SELECT * FROM Metric"


class NewRelicProvider:
    kind = "newrelic"

    def __init__(self, settings: ProviderSettings) -> None:
        self.address = (settings.address or DEFAULT_ADDRESS).rstrip("/")
        self._settings = settings
        account = settings.secret_value(ACCOUNT_KEY).strip()
        self._url = f"{self.address}/v1/accounts/{account}/query"
        self._headers = {
            **settings.headers,
            "X-Query-Key": settings.secret_value(QUERY_KEY),
            "Accept": "application/json",
        }
        self._since = int(parse_duration(settings.interval))

    async def query(self, query: str) -> float:
        text = base.collapse_whitespace(query)
        return _single_result(await self._run(text), text)

    async def check_online(self) -> None:
        await self._run(ONLINE_QUERY)

    async def _run(self, text: str) -> Any:
        nrql = f"{text} SINCE {self._since} seconds ago"
        response = await base.send(
            self._settings, "GET", self._url, params={"nrql": nrql}, headers=self._headers
        )
        base.check_status(self._settings, response, query=nrql)
        return base.json_body(self._settings, response)


def _single_result(body: Any, query: str) -> float:
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise QueryError(
            f"newrelic answered without results (facet queries are not supported): {query}"
        )
    if not results:
        raise NoValuesFoundError(f"newrelic returned no results for the query: {query}")
    if len(results) > 1:
        raise MultipleValuesError(
            f"the query returned {len(results)} results where one value was expected;"
            f" query: {query}"
        )
    entry = results[0]
    if not isinstance(entry, dict):
        raise QueryError(f"newrelic returned a result that is not an object ({entry!r}): {query}")
    if "result" in entry:
        value = entry["result"]
    elif len(entry) == 1:
        (value,) = entry.values()
    else:
        raise QueryError(
            f"newrelic returned several values ({', '.join(sorted(entry))}) where one was expected:"
            f" select one expression; query: {query}"
        )
    if value is None:
        raise NoValuesFoundError(f"newrelic returned a null result for the query: {query}")
    if not isinstance(value, int | float):
        raise QueryError(f"newrelic returned {value!r} where a number was expected: {query}")
    return float(value)
