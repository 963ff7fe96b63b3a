"""The Prometheus client against a real Prometheus and against local servers.

Covers: exact values from backfilled data at a fixed evaluation time; the online check
(``vector(1)`` must be 1); whitespace collapsed before sending; each failure shape with its own
error and message: empty result, NaN, several series (how many, which label sets), a range vector,
HTTP 400 ``bad_data`` with Prometheus' own error text, HTTP 401 and 503, a server that never
answers, a closed port; bearer token, basic auth and custom headers as a recording server
receives them; a Secret without the keys Prometheus needs.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

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
from serinus.metrics.providers.prometheus import PrometheusProvider


def provider(address, http, **settings) -> PrometheusProvider:
    return PrometheusProvider(
        ProviderSettings(kind="prometheus", http=http, address=address, **settings)
    )


@pytest.fixture
def prom(prometheus, http) -> PrometheusProvider:
    return provider(prometheus.address, http, clock=prometheus.clock)


def vector_answer(*values: tuple[dict[str, str], str]) -> web.Response:
    result = [{"metric": labels, "value": [1.0, value]} for labels, value in values]
    return web.json_response(
        {"status": "success", "data": {"resultType": "vector", "result": result}}
    )


async def test_rate_of_backfilled_counters_is_exact(prom):
    value = await prom.query(
        'sum(rate(response_total{namespace="linkerd",deployment="podinfo"}[1m]))'
    )
    assert value == 10.0


async def test_a_real_prometheus_is_online(prom):
    await prom.check_online()


async def test_query_is_sent_with_whitespace_collapsed_and_evaluation_time(serve, http, clock_at):
    server = await serve(lambda _: vector_answer(({}, "3")))
    client = provider(server.address, http, clock=clock_at(1795940975))
    value = await client.query('sum(\n\trate(\n\t\tx{a="b"}[1m]\n\t)\n)  * 100')
    assert value == 3.0
    (seen,) = server.requests
    assert (seen.method, seen.path) == ("GET", "/api/v1/query")
    assert seen.query == {"query": 'sum( rate( x{a="b"}[1m] ) ) * 100', "time": "1795940975.000"}


async def test_address_with_a_path_prefix_keeps_it(serve, http):
    server = await serve(lambda _: vector_answer(({}, "1")))
    await provider(f"{server.address}/prometheus/", http).check_online()
    assert server.requests[0].path == "/prometheus/api/v1/query"


async def test_empty_result_is_no_values_found(prom):
    with pytest.raises(NoValuesFoundError, match="the query matched no series; query: "):
        await prom.query('sum(rate(response_total{namespace="nowhere"}[1m]))')


async def test_nan_is_no_values_found_with_its_own_wording(prom):
    query = (
        'sum(rate(response_total{namespace="linkerd-flat",classification!="failure"}[1m]))'
        ' / sum(rate(response_total{namespace="linkerd-flat"}[1m])) * 100'
    )
    with pytest.raises(NoValuesFoundError) as caught:
        await prom.query(query)
    assert str(caught.value) == (
        f"the query returned NaN: 0/0, i.e. no requests in the window; query: {query}"
    )


async def test_several_series_name_how_many_and_their_labels(prom):
    query = 'sum by (deployment) (rate(response_total{namespace="linkerd"}[1m]))'
    with pytest.raises(MultipleValuesError) as caught:
        await prom.query(query)
    message = str(caught.value)
    assert message.startswith("the query returned 2 series where one value was expected:")
    assert '{deployment="podinfo"}, {deployment="podinfo-primary"}' in message
    assert message.endswith(f"query: {query}")


async def test_range_vector_is_refused_with_a_hint(prom):
    with pytest.raises(MultipleValuesError, match=r"range vector \(4 series"):
        await prom.query('response_total{namespace="linkerd"}[1m]')


async def test_scalar_result_is_a_value(prom):
    assert await prom.query("scalar(vector(42))") == 42.0


async def test_bad_query_carries_prometheus_error_text(prom):
    with pytest.raises(QueryError) as caught:
        await prom.query("sum(rate(x[1m))")
    message = str(caught.value)
    assert f"prometheus at {prom.address} rejected the query (HTTP 400): bad_data:" in message
    assert 'parse error: unexpected ")" in subquery or range' in message
    assert message.endswith("query: sum(rate(x[1m))")


async def test_unavailable_server_error_is_provider_unavailable(serve, http):
    async def unavailable(_):
        return web.json_response(
            {"status": "error", "errorType": "unavailable", "error": "TSDB not ready"}, status=503
        )

    server = await serve(unavailable)
    with pytest.raises(ProviderUnavailableError) as caught:
        await provider(server.address, http).query("up")
    assert str(caught.value) == (
        f"prometheus at {server.address} failed (HTTP 503): unavailable: TSDB not ready"
    )


async def test_rejected_credentials_point_at_the_secret(serve, http):
    server = await serve(lambda _: web.Response(status=401, text="Unauthorized"))
    with pytest.raises(QueryError, match=r"refused the credentials \(HTTP 401\): Unauthorized"):
        await provider(server.address, http).query("up")


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """A TCP server that accepts connections and never answers."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.close()


async def test_server_that_never_answers_times_out_naming_the_address(silent_server, http):
    client = provider(silent_server, http, timeout=0.2)
    with pytest.raises(ProviderUnavailableError) as caught:
        await client.query("up")
    assert str(caught.value) == f"prometheus at {silent_server} did not answer within 0.2s"


async def test_closed_port_is_connection_refused_naming_the_address(closed_port, http):
    address = f"http://127.0.0.1:{closed_port}"
    with pytest.raises(ProviderUnavailableError) as caught:
        await provider(address, http).query("up")
    assert str(caught.value) == (
        f"prometheus at {address} refused the connection:"
        " nothing listens there (is it running? is the address right?)"
    )


async def test_online_check_wants_one(serve, http):
    server = await serve(lambda _: vector_answer(({}, "0")))
    with pytest.raises(ProviderUnavailableError, match=r"is not online: vector\(1\) returned 0"):
        await provider(server.address, http).check_online()


async def test_bearer_token_and_headers_are_sent(serve, http):
    server = await serve(lambda _: vector_answer(({}, "1")))
    client = provider(
        server.address,
        http,
        secret={"token": "s3cr3t"},
        headers={"X-Scope-OrgID": "team-a"},
    )
    await client.query("up")
    headers = server.requests[0].headers
    assert headers["Authorization"] == "Bearer s3cr3t"
    assert headers["X-Scope-OrgID"] == "team-a"


async def test_basic_auth_from_username_and_password(serve, http):
    server = await serve(lambda _: vector_answer(({}, "1")))
    client = provider(server.address, http, secret={"username": "flagger", "password": "pw"})
    await client.query("up")
    expected = base64.b64encode(b"flagger:pw").decode()
    assert server.requests[0].headers["Authorization"] == f"Basic {expected}"


def test_secret_without_token_or_password_names_the_missing_key(http):
    with pytest.raises(InvalidCanaryError) as caught:
        provider(
            "http://127.0.0.1:1",
            http,
            secret={"username": "flagger"},
            secret_name="prom-auth",
            source="MetricTemplate prod/latency",
        )
    assert str(caught.value) == (
        "MetricTemplate prod/latency: prometheus needs the key password:"
        " Secret prom-auth has no such key (keys found: username)"
    )


def test_missing_address_names_the_field(http):
    with pytest.raises(InvalidCanaryError, match=r"spec.provider.address: expected the prometheus"):
        provider(None, http)


async def test_unreachable_host_is_provider_unavailable(http):
    with pytest.raises(ProviderUnavailableError, match="could not connect to prometheus"):
        await provider("http://no-such-host.invalid:9090", http).query("up")


async def test_answer_that_is_not_json_is_a_query_error(serve, http):
    server = await serve(lambda _: web.Response(text="<html>hello</html>"))
    with pytest.raises(QueryError, match="answered with something that is not JSON"):
        await provider(server.address, http).query("up")
