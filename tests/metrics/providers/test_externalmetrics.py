"""The External Metrics API, at an address (a local server answering as an adapter does) and
through the operator's Kubernetes connection (the sandbox's API server, which serves no adapter).

Covers: the query format (namespace default, label selector) and a malformed one; Kubernetes
quantities; the request (path, labelSelector, bearer token from the Secret); one value read; no
value explained; several values named; a metric no adapter serves (404); rejected token; throttling;
the online check on the group's discovery document; the Kubernetes connection's 404s explained.
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
from serinus.metrics.providers import externalmetrics
from serinus.metrics.providers.base import ProviderSettings
from serinus.metrics.providers.externalmetrics import ExternalMetricsProvider

PATH = "/apis/external.metrics.k8s.io/v1beta1/namespaces/prod/http_requests_per_second"


def provider(http, address=None, secret=None, kube=None):
    return ExternalMetricsProvider(
        ProviderSettings(
            kind="externalmetrics", http=http, address=address, secret=secret, kube=kube
        )
    )


def values(*items):
    return web.json_response(
        {
            "kind": "ExternalMetricValueList",
            "apiVersion": "external.metrics.k8s.io/v1beta1",
            "metadata": {},
            "items": [
                {
                    "metricName": "http_requests_per_second",
                    "metricLabels": labels,
                    "timestamp": "2026-01-01T00:00:00Z",
                    "value": value,
                }
                for labels, value in items
            ],
        }
    )


@pytest.mark.parametrize(
    ("query", "parsed"),
    [
        ("http_requests_per_second", ("default", "http_requests_per_second", "")),
        ("/rps", ("default", "rps", "")),
        (
            "prod/rps?labelSelector=app%3Dpodinfo%2Ctrack%3Dcanary",
            ("prod", "rps", "app=podinfo,track=canary"),
        ),
    ],
)
def test_query_format(query, parsed):
    assert externalmetrics.parse(query) == parsed


@pytest.mark.parametrize("query", ["", "a/b/c", "prod/"])
def test_malformed_query_names_the_format(query):
    with pytest.raises(InvalidCanaryError, match=r"expected \[<namespace>/\]<metric>"):
        externalmetrics.parse(query)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1500m", 1.5),
        ("2", 2.0),
        ("2k", 2000.0),
        ("1Ki", 1024.0),
        ("250u", 0.00025),
        ("1e3", 1000.0),
        ("-0.5", -0.5),
    ],
)
def test_quantities(text, value):
    assert externalmetrics.quantity(text) == pytest.approx(value)


async def test_value_at_an_address_with_a_token(serve, http):
    server = await serve(lambda _: values(({"app": "podinfo"}, "12500m")))
    client = provider(http, server.address, secret={"token": "sa-token"})
    assert await client.query("prod/http_requests_per_second?labelSelector=app%3Dpodinfo") == 12.5
    (seen,) = server.requests
    assert (seen.method, seen.path, seen.query) == ("GET", PATH, {"labelSelector": "app=podinfo"})
    assert seen.headers["Authorization"] == "Bearer sa-token"


async def test_no_value_is_explained(serve, http):
    server = await serve(lambda _: values())
    with pytest.raises(NoValuesFoundError) as caught:
        await provider(http, server.address).query(
            "prod/http_requests_per_second?labelSelector=app%3Dx"
        )
    assert str(caught.value) == (
        "the adapter returned no value for metric http_requests_per_second in namespace prod with"
        " labelSelector app=x: it has no series matching the selector (check the metric name and"
        " the labels)"
    )


async def test_several_values_are_named(serve, http):
    server = await serve(lambda _: values(({"pod": "a"}, "1"), ({"pod": "b"}, "2")))
    with pytest.raises(MultipleValuesError, match=r"returned 2 values .*'pod': 'a'.*'pod': 'b'"):
        await provider(http, server.address).query("prod/http_requests_per_second")


async def test_unserved_metric_rejected_token_and_throttling(serve, http):
    missing = await serve(lambda _: web.json_response({"kind": "Status", "code": 404}, status=404))
    with pytest.raises(
        QueryError, match=r"has no metric rps in namespace default \(HTTP 404\): is an adapter"
    ):
        await provider(http, missing.address).query("rps")
    forbidden = await serve(
        lambda _: web.json_response(
            {"kind": "Status", "message": "forbidden: User cannot get"}, status=403
        )
    )
    with pytest.raises(
        QueryError, match=r"refused the credentials \(HTTP 403\): forbidden: User cannot get"
    ):
        await provider(http, forbidden.address).query("rps")
    throttled = await serve(lambda _: web.json_response({"message": "slow down"}, status=429))
    with pytest.raises(ProviderUnavailableError, match="throttled the request 3 times"):
        await provider(http, throttled.address).query("rps")


async def test_online_check_reads_the_group(serve, http):
    server = await serve(lambda _: web.json_response({"kind": "APIResourceList", "resources": []}))
    await provider(http, server.address).check_online()
    assert server.requests[0].path == "/apis/external.metrics.k8s.io/v1beta1"


async def test_through_the_kubernetes_connection(http, cluster):
    client = provider(http, kube=cluster)
    with pytest.raises(QueryError, match=r"has no metric rps in namespace prod .*is an adapter"):
        await client.query("prod/rps")
    with pytest.raises(QueryError, match=r"does not serve external\.metrics\.k8s\.io/v1beta1"):
        await client.check_online()
