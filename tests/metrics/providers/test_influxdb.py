"""InfluxDB 2.x against a local server that answers as the Flux query API does.

Covers: the request (``POST /api/v2/query?org=``, the token header, CSV accepted, the JSON body
with the Flux query); the ``_value`` of the only record of an annotated-CSV answer; no records as
"no values"; several records as an error naming their group keys; a string value; InfluxDB's JSON
error body and an error table carried into the message; the online check's Flux.
"""

from __future__ import annotations

import pytest
from aiohttp import web

from serinus.errors import MultipleValuesError, NoValuesFoundError, QueryError
from serinus.metrics.providers.base import ProviderSettings
from serinus.metrics.providers.influxdb import InfluxdbProvider

SECRET = {"token": "influx-token", "org": "my-org"}
HEADER = (
    "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,"
    "string,string\r\n"
    "#group,false,false,true,true,false,false,true,true,true\r\n"
    "#default,_result,,,,,,,,\r\n"
    ",result,table,_start,_stop,_time,_value,_field,_measurement,host\r\n"
)


def row(table: int, value: str, host: str) -> str:
    stamps = "2026-11-29T09:00:00Z,2026-11-29T09:05:00Z,2026-11-29T09:05:00Z"
    return f",,{table},{stamps},{value},p99,latency,{host}\r\n"


def influxdb(http, address) -> InfluxdbProvider:
    return InfluxdbProvider(
        ProviderSettings(kind="influxdb", http=http, address=address, secret=SECRET)
    )


def csv(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/csv")


async def test_flux_query_and_the_only_value(serve, http):
    server = await serve(lambda _: csv(HEADER + row(0, "412.5", "a") + "\r\n"))
    flux = 'from(bucket: "mesh")\n  |> range(start: -1m)\n  |> last()'
    assert await influxdb(http, server.address).query(flux) == 412.5
    (seen,) = server.requests
    assert (seen.method, seen.path, seen.query) == ("POST", "/api/v2/query", {"org": "my-org"})
    assert seen.headers["Authorization"] == "Token influx-token"
    assert seen.headers["Accept"] == "application/csv"
    body = seen.json()
    assert (body["query"], body["type"]) == (flux, "flux")


async def test_no_records_is_no_values(serve, http):
    server = await serve(lambda _: csv("\r\n"))
    with pytest.raises(NoValuesFoundError, match="influxdb returned no records"):
        await influxdb(http, server.address).query('from(bucket: "x") |> range(start: -1m)')


async def test_several_records_name_their_groups(serve, http):
    tables = HEADER + row(0, "1", "a") + row(1, "2", "b") + "\r\n"
    server = await serve(lambda _: csv(tables))
    with pytest.raises(MultipleValuesError) as caught:
        await influxdb(http, server.address).query("q")
    message = str(caught.value)
    assert "returned 2 records" in message
    assert "{_field=p99,_measurement=latency,host=a}" in message
    assert "|> last()" in message


async def test_string_value_is_refused(serve, http):
    text = HEADER.replace("double", "string") + row(0, "fast", "a")
    server = await serve(lambda _: csv(text))
    with pytest.raises(QueryError, match="a string _value"):
        await influxdb(http, server.address).query("q")


async def test_error_body_and_error_table_are_carried(serve, http):
    server = await serve(
        lambda _: web.json_response(
            {"code": "invalid", "message": "compilation failed: error at @1:1-1:4"}, status=400
        )
    )
    with pytest.raises(QueryError, match=r"HTTP 400.*invalid: compilation failed"):
        await influxdb(http, server.address).query("frm()")
    table = "#datatype,string,string\r\n#group,true,true\r\n#default,,\r\n,error,reference\r\n"
    server = await serve(lambda _: csv(table + ",bucket not found,404\r\n"))
    with pytest.raises(QueryError, match="failed the query: bucket not found"):
        await influxdb(http, server.address).query("q")


async def test_online_check_runs_flux(serve, http):
    server = await serve(lambda _: csv(""))
    await influxdb(http, server.address).check_online()
    assert server.requests[0].json()["query"] == "buckets() |> limit(n: 1)"
