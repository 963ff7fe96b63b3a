"""Splunk Observability (SignalFlow over HTTP) against a local server that streams as it does.

Covers: the execute request (path, start/stop of ten intervals in milliseconds ending at the
clock's time, immediate, the program as a text/plain body, the X-SF-Token header); the last
published value read from the Server-Sent Events; the api/stream address swap both ways; an empty
answer (no time series, or only null datapoints) explained; several time series named from their
metadata; SignalFlow's error event and a rejected token (401 with its JSON body); throttling
(429) retried, then reported; the online check on the api host; the required address and token.
"""

from __future__ import annotations

import json

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
from serinus.metrics.providers.splunk import SplunkProvider

NOW = 1_800_000_000
SECRET = {"sf_token_key": "sf-token"}
PROGRAM = "data('spans.count', filter=filter('sf_service', 'podinfo')).sum().publish()"


def splunk(http, clock_at, address, secret=SECRET, **settings):
    return SplunkProvider(
        ProviderSettings(
            kind="splunk",
            http=http,
            address=address,
            secret=secret,
            secret_name="splunk",
            clock=clock_at(NOW),
            **settings,
        )
    )


def stream(*events):
    """An SSE answer: control start, the given (event, payload) pairs, end of channel."""
    lines = [("control-message", {"event": "STREAM_START", "timestampMs": 1})]
    lines += [("control-message", {"event": "JOB_START", "handle": "h1", "timestampMs": 1})]
    lines += list(events)
    lines += [("control-message", {"event": "END_OF_CHANNEL", "timestampMs": 2})]
    text = "".join(
        f"event: {kind}\r\ndata: {json.dumps(payload)}\r\n\r\n" for kind, payload in lines
    )
    return web.Response(text=text, content_type="text/event-stream")


def metadata(tsid, service):
    properties = {
        "sf_originatingMetric": "spans.count",
        "sf_key": ["sf_service"],
        "sf_service": service,
    }
    return ("metadata", {"tsId": tsid, "properties": properties})


def data(*points, at=1):
    return (
        "data",
        {"logicalTimestampMs": at, "data": [{"tsId": t, "value": v} for t, v in points]},
    )


async def test_execute_request_and_last_value(serve, http, clock_at):
    server = await serve(
        lambda _: stream(metadata("A", "podinfo"), data(("A", 10), at=1), data(("A", 12.5), at=2))
    )
    client = splunk(http, clock_at, server.address, interval="1m")
    assert await client.query(f"  {PROGRAM}\n") == 12.5
    (seen,) = server.requests
    assert (seen.method, seen.path) == ("POST", "/v2/signalflow/execute")
    assert seen.query == {
        "start": str(NOW * 1000 - 600_000),
        "stop": str(NOW * 1000),
        "immediate": "true",
    }
    assert seen.body.decode() == PROGRAM
    assert seen.headers["Content-Type"] == "text/plain"
    assert seen.headers["X-SF-Token"] == "sf-token"


def test_api_and_stream_hosts_are_swapped(http, clock_at):
    for address in ("https://api.us1.signalfx.com", "wss://stream.us1.signalfx.com"):
        client = splunk(http, clock_at, address)
        assert client._stream == "https://stream.us1.signalfx.com"
        assert client._api == "https://api.us1.signalfx.com"


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ((), "the program published no time series between"),
        (
            (metadata("A", "podinfo"), data(("A", None))),
            "the time series had only null datapoints between",
        ),
    ],
)
async def test_empty_answers_are_explained(serve, http, clock_at, events, message):
    server = await serve(lambda _: stream(*events))
    with pytest.raises(NoValuesFoundError) as caught:
        await splunk(http, clock_at, server.address).query(PROGRAM)
    assert str(caught.value).startswith(message)
    assert "between 2027-01-15T07:50:00Z and 2027-01-15T08:00:00Z:" in str(caught.value)
    assert str(caught.value).endswith(f"program: {PROGRAM}")


async def test_several_time_series_are_named(serve, http, clock_at):
    events = (metadata("A", "podinfo"), metadata("B", "backend"), data(("A", 1), ("B", 2)))
    server = await serve(lambda _: stream(*events))
    with pytest.raises(MultipleValuesError) as caught:
        await splunk(http, clock_at, server.address).query(PROGRAM)
    assert (
        "published 2 time series where one value was expected:"
        " spans.count{sf_service=podinfo}, spans.count{sf_service=backend}" in str(caught.value)
    )


async def test_program_errors_are_carried(serve, http, clock_at):
    error = (
        "error",
        {"errors": [{"code": "ANALYTICS_PROGRAM_NAME_ERROR", "context": {"name": "dta"}}]},
    )
    server = await serve(lambda _: stream(error))
    with pytest.raises(
        QueryError, match=r'rejected the program: ANALYTICS_PROGRAM_NAME_ERROR: \{"name": "dta"\}'
    ):
        await splunk(http, clock_at, server.address).query("dta('x').publish()")


async def test_rejected_token(serve, http, clock_at):
    body = {"code": 401, "message": "Unauthorized", "errorType": "UNAUTHORIZED"}
    server = await serve(lambda _: web.json_response(body, status=401))
    with pytest.raises(QueryError) as caught:
        await splunk(http, clock_at, server.address).query(PROGRAM)
    assert str(caught.value) == (
        f"splunk at {server.address} refused the credentials (HTTP 401): UNAUTHORIZED: 401:"
        " Unauthorized; check the provider's Secret"
    )


async def test_throttling_is_retried_then_reported(serve, http, clock_at):
    server = await serve(lambda _: web.json_response({"message": "rate limited"}, status=429))
    with pytest.raises(
        ProviderUnavailableError, match=r"throttled the request 3 times \(HTTP 429: rate limited\)"
    ):
        await splunk(http, clock_at, server.address).query(PROGRAM)
    assert len(server.requests) == 3


async def test_online_check_lists_one_metric(serve, http, clock_at):
    server = await serve(lambda _: web.json_response({"count": 1, "results": [{"name": "x"}]}))
    await splunk(http, clock_at, server.address).check_online()
    (seen,) = server.requests
    assert (seen.method, seen.path, seen.query) == ("GET", "/v2/metric", {"limit": "1"})
    assert seen.headers["X-SF-Token"] == "sf-token"


def test_address_and_token_are_required(http, clock_at):
    with pytest.raises(
        InvalidCanaryError, match=r"spec\.provider\.address: expected the splunk API address"
    ):
        splunk(http, clock_at, None)
    with pytest.raises(InvalidCanaryError, match="splunk needs the key sf_token_key"):
        splunk(http, clock_at, "https://api.us1.signalfx.com", secret={})
