"""Graphite against a local server that answers as the render URL API does.

Covers: the query's URL parameters sent to ``/render`` with ``format=json``; the newest non-null
datapoint as the value; only nulls as "no values"; several targets with values as an error naming
them; a query without ``target`` refused before sending; basic auth from the Secret; the online
check.
"""

from __future__ import annotations

import base64

import pytest
from aiohttp import web

from serinus.errors import MultipleValuesError, NoValuesFoundError, QueryError
from serinus.metrics.providers.base import ProviderSettings
from serinus.metrics.providers.graphite import GraphiteProvider


def graphite(http, address, secret=None) -> GraphiteProvider:
    return GraphiteProvider(
        ProviderSettings(kind="graphite", http=http, address=address, secret=secret)
    )


def targets(**datapoints):
    return web.json_response(
        [{"target": name, "tags": {}, "datapoints": points} for name, points in datapoints.items()]
    )


async def test_render_parameters_and_the_newest_value(serve, http):
    server = await serve(lambda _: targets(errors=[[1.0, 100], [3.5, 110], [None, 120]]))
    query = "target=sumSeries(app.podinfo.http.5xx)&from=-5min"
    assert await graphite(http, server.address).query(query) == 3.5
    (seen,) = server.requests
    assert seen.path == "/render"
    assert seen.query == {
        "target": "sumSeries(app.podinfo.http.5xx)",
        "from": "-5min",
        "format": "json",
    }


async def test_only_nulls_is_no_values(serve, http):
    server = await serve(lambda _: targets(errors=[[None, 100], [None, 110]]))
    with pytest.raises(NoValuesFoundError, match="graphite returned no datapoints with a value"):
        await graphite(http, server.address).query("target=a.b")


async def test_several_targets_are_named(serve, http):
    server = await serve(lambda _: targets(**{"a.one": [[1, 1]], "a.two": [[2, 1]]}))
    with pytest.raises(MultipleValuesError, match=r"returned 2 targets .*: a\.one, a\.two"):
        await graphite(http, server.address).query("target=a.*")


async def test_query_without_target_is_refused(http):
    with pytest.raises(QueryError, match="this one has no target"):
        await graphite(http, "http://127.0.0.1:1").query("sumSeries(a.b)")


async def test_basic_auth_and_online_check(serve, http):
    server = await serve(lambda _: web.json_response([]))
    await graphite(http, server.address, {"username": "ops", "password": "pw"}).check_online()
    (seen,) = server.requests
    assert seen.query == {"target": "test", "format": "json"}
    assert seen.headers["Authorization"] == "Basic " + base64.b64encode(b"ops:pw").decode()
