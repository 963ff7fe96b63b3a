"""Dynatrace against a local server that answers as the Metrics API v2 does.

Covers: the request (path, metricSelector with whitespace collapsed, resolution Inf, a window of
ten intervals in milliseconds ending at the clock's time, the Api-Token header, custom headers);
the series' value; an empty answer explained (no series matched the filters, or a series without
data points in the window, with Dynatrace's warnings); several series named; rejected token (401
with Dynatrace's error body); throttling (429 with Retry-After) retried, then reported; the online
check; the required address and token.
"""

from __future__ import annotations

import pytest
from aiohttp import web

from serinus.errors import (
    InvalidCanaryError,
    MultipleValuesError,
    NoValuesFoundError,
    ProviderUnavailableError,
    QueryError,
)
from serinus.metrics.providers.base import ProviderSettings
from serinus.metrics.providers.dynatrace import DynatraceProvider

NOW = 1_800_000_000
SECRET = {"dynatrace_token": "dt0c01.TOKEN"}
SELECTOR = 'builtin:service.response.time:filter(eq("dt.entity.service","SERVICE-1")):avg'


def dynatrace(http, clock_at, address, secret=SECRET, **settings):
    return DynatraceProvider(
        ProviderSettings(
            kind="dynatrace",
            http=http,
            address=address,
            secret=secret,
            secret_name="dynatrace",
            clock=clock_at(NOW),
            **settings,
        )
    )


def result(*series, warnings=None):
    entry = {"metricId": SELECTOR, "dataPointCountRatio": 0.1, "dimensionCountRatio": 0.1}
    entry["data"] = [
        {
            "dimensions": [f"SERVICE-{i}"],
            "dimensionMap": {"dt.entity.service": f"SERVICE-{i}"},
            "timestamps": [NOW * 1000],
            "values": values,
        }
        for i, values in enumerate(series)
    ]
    if warnings:
        entry["warnings"] = warnings
    return web.json_response({"totalCount": len(series), "resolution": "Inf", "result": [entry]})


async def test_query_request_and_value(serve, http, clock_at):
    server = await serve(lambda _: result([212.5]))
    client = dynatrace(http, clock_at, server.address + "/", interval="30s", headers={"X-A": "b"})
    assert await client.query(SELECTOR.replace(":avg", "\n  :avg")) == 212.5
    (seen,) = server.requests
    assert (seen.method, seen.path) == ("GET", "/api/v2/metrics/query")
    assert seen.query == {
        "metricSelector": SELECTOR.replace(":avg", " :avg"),
        "resolution": "Inf",
        "from": str(NOW * 1000 - 300_000),
        "to": str(NOW * 1000),
    }
    assert seen.headers["Authorization"] == "Api-Token dt0c01.TOKEN"
    assert seen.headers["X-A"] == "b"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            lambda _: web.json_response({"totalCount": 0, "result": []}),
            "the metric selector matched no metric",
        ),
        (
            lambda _: result(
                warnings=[
                    "The dimension key `dt.entity.servic` has been referenced,"
                    " but the metric has no such key."
                ]
            ),
            f"no series of {SELECTOR} matched the selector's filters (Dynatrace: The dimension key"
            " `dt.entity.servic` has been referenced, but the metric has no such key.): check the"
            " metric key and the dimension values",
        ),
        (
            lambda _: result([None]),
            "the series exists but had no data points between 2027-01-15T07:50:00Z and"
            " 2027-01-15T08:00:00Z: no traffic in the window?",
        ),
    ],
)
async def test_empty_answers_are_explained(serve, http, clock_at, answer, message):
    server = await serve(answer)
    with pytest.raises(NoValuesFoundError) as caught:
        await dynatrace(http, clock_at, server.address).query(SELECTOR)
    assert str(caught.value) == f"{message}; query: {SELECTOR}"


async def test_several_series_are_named(serve, http, clock_at):
    server = await serve(lambda _: result([1.0], [2.0]))
    with pytest.raises(MultipleValuesError, match=r"returned 2 series .*SERVICE-0.*SERVICE-1"):
        await dynatrace(http, clock_at, server.address).query(SELECTOR)


async def test_rejected_token(serve, http, clock_at):
    body = {"error": {"code": 401, "message": "Token Authentication failed"}}
    server = await serve(lambda _: web.json_response(body, status=401))
    with pytest.raises(QueryError) as caught:
        await dynatrace(http, clock_at, server.address).query(SELECTOR)
    assert str(caught.value) == (
        f"dynatrace at {server.address} refused the credentials (HTTP 401):"
        " Token Authentication failed; check the provider's Secret"
    )


async def test_throttling_is_retried_then_reported(serve, http, clock_at):
    body = {"error": {"code": 429, "message": "Too many requests"}}
    server = await serve(
        lambda _: web.json_response(body, status=429, headers={"Retry-After": "0"})
    )
    with pytest.raises(ProviderUnavailableError) as caught:
        await dynatrace(http, clock_at, server.address).query(SELECTOR)
    assert len(server.requests) == 3
    assert str(caught.value).startswith(
        f"dynatrace at {server.address} throttled the request 3 times (HTTP 429: Too many"
        " requests); the next interval asks again"
    )


async def test_online_check_lists_one_metric(serve, http, clock_at):
    server = await serve(
        lambda _: web.json_response({"totalCount": 1, "metrics": [{"metricId": "x"}]})
    )
    await dynatrace(http, clock_at, server.address).check_online()
    (seen,) = server.requests
    assert (seen.path, seen.query) == ("/api/v2/metrics", {"pageSize": "1"})
    assert seen.headers["Authorization"] == "Api-Token dt0c01.TOKEN"


def test_address_and_token_are_required(http, clock_at):
    with pytest.raises(
        InvalidCanaryError, match=r"spec\.provider\.address: expected the dynatrace API address"
    ):
        dynatrace(http, clock_at, None)
    with pytest.raises(InvalidCanaryError, match="dynatrace needs the key dynatrace_token"):
        dynatrace(http, clock_at, "https://x.live.dynatrace.com", secret={"token": "t"})
