"""New Relic against a local server that answers as the Insights query API does.

Covers: the request (account path, NRQL with ``SINCE <interval> seconds ago``, the query key
header); an expression's ``result`` and a single function's value; an empty or null result as "no
values"; several results or several values as errors; New Relic's error body carried into the
message; the online check's NRQL; both Secret keys required.
"""

from __future__ import annotations

import pytest
from aiohttp import web

from serinus.errors import InvalidCanaryError, MultipleValuesError, NoValuesFoundError, QueryError
from serinus.metrics.providers.base import ProviderSettings
from serinus.metrics.providers.newrelic import NewRelicProvider

KEYS = {"newrelic_account_id": "1234567", "newrelic_query_key": "NRIQ-secret"}


def newrelic(http, address, secret=KEYS, interval="1m") -> NewRelicProvider:
    return NewRelicProvider(
        ProviderSettings(
            kind="newrelic", http=http, address=address, secret=secret, interval=interval
        )
    )


def results(*entries):
    return web.json_response({"results": list(entries), "metadata": {"eventTypes": ["Metric"]}})


async def test_query_goes_to_the_account_with_the_query_key(serve, http):
    server = await serve(lambda _: results({"result": 0.25}))
    query = "SELECT filter(sum(requests), WHERE status >= 500) / sum(requests) * 100\nFROM Metric"
    assert await newrelic(http, server.address, interval="5m").query(query) == 0.25
    (seen,) = server.requests
    assert seen.path == "/v1/accounts/1234567/query"
    assert seen.query == {
        "nrql": "SELECT filter(sum(requests), WHERE status >= 500) / sum(requests) * 100"
        " FROM Metric SINCE 300 seconds ago"
    }
    assert seen.headers["X-Query-Key"] == "NRIQ-secret"
    assert seen.headers["Accept"] == "application/json"


async def test_a_single_function_value_is_read(serve, http):
    server = await serve(lambda _: results({"count": 42}))
    assert await newrelic(http, server.address).query("SELECT count(*) FROM Transaction") == 42.0


@pytest.mark.parametrize("answer", [lambda _: results(), lambda _: results({"result": None})])
async def test_no_result_is_no_values(serve, http, answer):
    server = await serve(answer)
    with pytest.raises(NoValuesFoundError, match="newrelic returned"):
        await newrelic(http, server.address).query("SELECT average(duration) FROM Transaction")


async def test_several_results_or_values_are_errors(serve, http):
    server = await serve(lambda _: results({"result": 1}, {"result": 2}))
    with pytest.raises(MultipleValuesError, match="returned 2 results"):
        await newrelic(http, server.address).query("SELECT x FROM y")
    server = await serve(lambda _: results({"average": 1, "max": 2}))
    with pytest.raises(QueryError, match=r"several values \(average, max\)"):
        await newrelic(http, server.address).query("SELECT average(x), max(x) FROM y")


async def test_nrql_error_is_carried(serve, http):
    server = await serve(
        lambda _: web.json_response({"error": "NRQL Syntax Error: Error at line 1"}, status=400)
    )
    with pytest.raises(QueryError, match=r"HTTP 400.*NRQL Syntax Error: Error at line 1"):
        await newrelic(http, server.address).query("SELEC x")


async def test_online_check_runs_a_query(serve, http):
    server = await serve(lambda _: results({"result": 1}))
    await newrelic(http, server.address).check_online()
    assert server.requests[0].query["nrql"] == "SELECT * FROM Metric SINCE 60 seconds ago"


def test_account_id_is_required(http):
    with pytest.raises(InvalidCanaryError, match="newrelic needs the key newrelic_account_id"):
        newrelic(http, None, secret={"newrelic_query_key": "k"})


def test_default_address_is_the_insights_api(http):
    assert newrelic(http, None).address == "https://insights-api.newrelic.com"
