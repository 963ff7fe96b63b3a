"""Datadog against a local server that answers as the v1 query and validate APIs do.

Covers: the request (path, query, a window of ten intervals ending at the clock's time, both key
headers, custom headers); the first point of the series as the value; no series, no points and a
null value as "no values"; several series as an error naming their scopes; Datadog's error bodies
(400, 403) carried into the message; the online check against ``/api/v1/validate``; a Secret
without a key; the default address.
"""

from __future__ import annotations

import pytest
from aiohttp import web

from serinus.errors import InvalidCanaryError, MultipleValuesError, NoValuesFoundError, QueryError
from serinus.metrics.providers.base import ProviderSettings
from serinus.metrics.providers.datadog import DatadogProvider

NOW = 1_800_000_000
KEYS = {"datadog_api_key": "api-key", "datadog_application_key": "app-key"}


def datadog(http, clock_at, address=None, secret=KEYS, **settings) -> DatadogProvider:
    return DatadogProvider(
        ProviderSettings(
            kind="datadog",
            http=http,
            address=address,
            secret=secret,
            secret_name="datadog",
            clock=clock_at(NOW),
            **settings,
        )
    )


def series(*pointlists, scopes=None):
    scopes = scopes or [f"env:s{i}" for i in range(len(pointlists))]
    return web.json_response(
        {
            "status": "ok",
            "res_type": "time_series",
            "query": "q",
            "series": [
                {"metric": "m", "scope": scope, "pointlist": points, "length": len(points)}
                for scope, points in zip(scopes, pointlists, strict=True)
            ],
        }
    )


async def test_query_sends_keys_and_window_and_takes_the_first_point(serve, http, clock_at):
    server = await serve(lambda _: series([[1.7999994e12, 12.5], [1.8e12, 99.0]]))
    client = datadog(http, clock_at, server.address, interval="2m", headers={"X-Team": "a"})
    assert await client.query("sum:requests{env:prod}.as_count()\n/ 2") == 12.5
    (seen,) = server.requests
    assert (seen.method, seen.path) == ("GET", "/api/v1/query")
    assert seen.query == {
        "query": "sum:requests{env:prod}.as_count() / 2",
        "from": str(NOW - 1200),
        "to": str(NOW),
    }
    assert seen.headers["DD-API-KEY"] == "api-key"
    assert seen.headers["DD-APPLICATION-KEY"] == "app-key"
    assert seen.headers["X-Team"] == "a"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda _: series(), "datadog returned no series"),
        (lambda _: series([]), "datadog returned a series without points"),
        (lambda _: series([[1.8e12, None]]), "datadog returned a point without a value"),
    ],
)
async def test_missing_data_is_no_values(serve, http, clock_at, answer, message):
    server = await serve(answer)
    with pytest.raises(NoValuesFoundError, match=message):
        await datadog(http, clock_at, server.address).query("avg:latency{*}")


async def test_several_series_are_named(serve, http, clock_at):
    server = await serve(lambda _: series([[1, 1.0]], [[1, 2.0]], scopes=["host:a", "host:b"]))
    with pytest.raises(MultipleValuesError, match=r"returned 2 series .*: host:a, host:b"):
        await datadog(http, clock_at, server.address).query("avg:latency{*} by {host}")


async def test_rejected_query_carries_datadogs_errors(serve, http, clock_at):
    server = await serve(
        lambda _: web.json_response({"errors": ["Error parsing query: unexpected ')'"]}, status=400)
    )
    with pytest.raises(QueryError) as caught:
        await datadog(http, clock_at, server.address).query("avg:x{*})")
    assert "rejected the query (HTTP 400): Error parsing query: unexpected ')'" in str(caught.value)


async def test_online_check_validates_the_keys(serve, http, clock_at):
    async def validate(request):
        if request.headers.get("DD-API-KEY") != "api-key":
            return web.json_response({"errors": ["Forbidden"]}, status=403)
        return web.json_response({"valid": True})

    server = await serve(validate)
    await datadog(http, clock_at, server.address).check_online()
    assert server.requests[0].path == "/api/v1/validate"
    wrong = {**KEYS, "datadog_api_key": "nope"}
    with pytest.raises(QueryError, match=r"refused the credentials \(HTTP 403\): Forbidden"):
        await datadog(http, clock_at, server.address, secret=wrong).check_online()


def test_both_keys_are_required(http, clock_at):
    with pytest.raises(InvalidCanaryError) as caught:
        datadog(http, clock_at, secret={"datadog_api_key": "a"})
    assert "datadog needs the key datadog_application_key" in str(caught.value)
    assert "keys found: datadog_api_key" in str(caught.value)


def test_default_address_is_datadogs_us_site(http, clock_at):
    assert datadog(http, clock_at).address == "https://api.datadoghq.com"
