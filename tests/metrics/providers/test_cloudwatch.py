"""CloudWatch against a local server that checks requests as CloudWatch's JSON protocol would.

Covers: the GetMetricData request (target header, content type, the queries as written, a window
of ten intervals ending at the clock's time, MaxDatapoints 20) signed with Signature Version 4,
verified here with botocore's own signer and the secret key; the session token; the first value of
the first result; botocore's default credential chain when no Secret is named; an empty result
explained by a follow-up ListMetrics (no such metric, or no datapoints in the window); rejected
credentials; throttling retried, then an error saying so; a misspelt query field refused before
any request; a missing region; the online check (400 means online, 403 does not).
"""

from __future__ import annotations

import datetime
import json
import re

import pytest
from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from serinus.errors import (
    InvalidCanaryError,
    NoValuesFoundError,
    ProviderUnavailableError,
    QueryError,
)
from serinus.metrics.providers import aws
from serinus.metrics.providers.base import ProviderSettings
from serinus.metrics.providers.cloudwatch import CloudWatchProvider

NOW = 1_800_000_000
KEYS = {
    "aws_access_key_id": "AKIDEXAMPLE",
    "aws_secret_access_key": "secret",
    "aws_session_token": "tok",
}
QUERY = [
    {
        "Id": "m1",
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/ApplicationELB",
                "MetricName": "TargetResponseTime",
                "Dimensions": [{"Name": "TargetGroup", "Value": "podinfo-canary"}],
            },
            "Period": 60,
            "Stat": "Average",
        },
    }
]
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[^,]+), Signature=(?P<sig>\w+)"
)


def verify_sigv4(seen, address, *, secret="secret", token="tok") -> dict[str, str]:
    """Recompute the signature with botocore from what arrived; the Authorization's parts."""
    found = _AUTH.fullmatch(seen.headers["Authorization"])
    assert found is not None, seen.headers["Authorization"]
    received = {name.lower(): value for name, value in seen.headers.items()}
    headers = {name: received[name] for name in found["signed"].split(";")}
    request = AWSRequest(
        method=seen.method, url=f"{address}{seen.path}", data=seen.body, headers=headers
    )
    request.context["timestamp"] = seen.headers["X-Amz-Date"]
    signer = SigV4Auth(Credentials(found["key"], secret, token), found["service"], found["region"])
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    assert found["sig"] == expected, "the signature does not verify"
    return found.groupdict()


def cloudwatch(http, clock_at, address, secret=KEYS, region="eu-west-1", **settings):
    return CloudWatchProvider(
        ProviderSettings(
            kind="cloudwatch",
            http=http,
            address=address,
            region=region,
            secret=secret,
            secret_name="aws",
            clock=clock_at(NOW),
            **settings,
        )
    )


def answer(values, *, listed=True):
    """CloudWatch: GetMetricData answers ``values``; ListMetrics finds the metric or not."""

    def handle(seen):
        target = seen.headers.get("X-Amz-Target", "")
        if target.endswith(".ListMetrics"):
            metric = seen.json()
            return web.json_response({"Metrics": [metric] if listed else []})
        results = [
            {"Id": "m1", "Label": "TargetResponseTime", "Values": values, "StatusCode": "Complete"}
        ]
        return web.json_response({"MetricDataResults": results, "Messages": []})

    return handle


def error(code, message, status=400):
    return lambda _: web.json_response(
        {"__type": f"com.amazonaws.cloudwatch#{code}", "message": message}, status=status
    )


async def test_get_metric_data_is_signed_and_carries_the_queries(serve, http, clock_at):
    server = await serve(answer([0.25, 0.5]))
    client = cloudwatch(http, clock_at, server.address, interval="2m")
    assert await client.query(json.dumps(QUERY)) == 0.25
    (seen,) = server.requests
    assert (seen.method, seen.path) == ("POST", "/")
    assert seen.headers["X-Amz-Target"] == "GraniteServiceVersion20100801.GetMetricData"
    assert seen.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert seen.headers["X-Amz-Security-Token"] == "tok"
    assert seen.json() == {
        "MetricDataQueries": QUERY,
        "StartTime": NOW - 1200,
        "EndTime": NOW,
        "MaxDatapoints": 20,
    }
    scope = verify_sigv4(seen, server.address)
    assert (scope["key"], scope["region"], scope["service"]) == (
        "AKIDEXAMPLE",
        "eu-west-1",
        "monitoring",
    )
    assert {"host", "x-amz-date", "x-amz-target"} <= set(scope["signed"].split(";"))


async def test_default_credential_chain_without_a_secret(
    serve, http, clock_at, monkeypatch, tmp_path
):
    for name in (
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    aws._session.cache_clear()
    try:
        server = await serve(answer([3.0]))
        assert (
            await cloudwatch(http, clock_at, server.address, secret=None).query(json.dumps(QUERY))
            == 3.0
        )
    finally:
        aws._session.cache_clear()
    (seen,) = server.requests
    assert "X-Amz-Security-Token" not in seen.headers
    assert verify_sigv4(seen, server.address, secret="env-secret", token=None)["key"] == "AKIDENV"


async def test_empty_answer_for_a_metric_that_does_not_exist(serve, http, clock_at):
    server = await serve(answer([], listed=False))
    with pytest.raises(NoValuesFoundError) as caught:
        await cloudwatch(http, clock_at, server.address).query(json.dumps(QUERY))
    assert str(caught.value).startswith(
        "TargetResponseTime: no metric AWS/ApplicationELB/TargetResponseTime"
        "{TargetGroup=podinfo-canary} exists in eu-west-1: check the namespace, the metric name"
        " and every dimension (all must match exactly); query: [{"
    )
    follow_up = server.requests[1]
    assert follow_up.headers["X-Amz-Target"] == "GraniteServiceVersion20100801.ListMetrics"
    assert follow_up.json() == QUERY[0]["MetricStat"]["Metric"]
    verify_sigv4(follow_up, server.address)


async def test_empty_answer_for_a_metric_without_datapoints_in_the_window(serve, http, clock_at):
    server = await serve(answer([], listed=True))
    with pytest.raises(NoValuesFoundError) as caught:
        await cloudwatch(http, clock_at, server.address).query(json.dumps(QUERY))
    start = datetime.datetime.fromtimestamp(NOW - 600, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"the metrics exist but had no datapoints between {start} and " in str(caught.value)
    assert "no traffic in the window?" in str(caught.value)


async def test_rejected_credentials(serve, http, clock_at):
    server = await serve(
        error(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            status=400,
        )
    )
    with pytest.raises(QueryError) as caught:
        await cloudwatch(http, clock_at, server.address).query(json.dumps(QUERY))
    assert str(caught.value) == (
        f"cloudwatch at {server.address} refused the credentials (HTTP 400"
        " UnrecognizedClientException: The security token included in the request is invalid.);"
        " check them and the IAM permission cloudwatch:GetMetricData"
    )


async def test_throttling_is_retried_then_reported(serve, http, clock_at):
    server = await serve(error("Throttling", "Rate exceeded"))
    with pytest.raises(ProviderUnavailableError) as caught:
        await cloudwatch(http, clock_at, server.address).query(json.dumps(QUERY))
    assert len(server.requests) == 3
    assert str(caught.value).startswith(
        f"cloudwatch at {server.address} throttled the request 3 times"
        " (HTTP 400 Throttling: Rate exceeded); the next interval asks again"
    )


async def test_one_throttled_answer_is_asked_again(serve, http, clock_at):
    answers = [error("Throttling", "Rate exceeded"), answer([7.0])]
    server = await serve(lambda seen: answers.pop(0)(seen))
    assert await cloudwatch(http, clock_at, server.address).query(json.dumps(QUERY)) == 7.0
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('[{"Idx": "m1"}]', 'Missing required parameter in MetricDataQueries[0]: "Id"'),
        (
            "{nope",
            "spec.query: expected a JSON list of CloudWatch MetricDataQuery objects,"
            " got invalid JSON",
        ),
        (
            '{"Id": "m1"}',
            "spec.query: expected a JSON list of CloudWatch MetricDataQuery objects, got dict",
        ),
    ],
)
async def test_malformed_queries_are_refused_before_sending(serve, http, clock_at, query, message):
    server = await serve(answer([1.0]))
    client = cloudwatch(http, clock_at, server.address, source="MetricTemplate prod/latency")
    with pytest.raises(InvalidCanaryError) as caught:
        await client.query(query)
    assert str(caught.value).startswith("MetricTemplate prod/latency: spec.query: ")
    assert message in str(caught.value)
    assert server.requests == []


def test_region_is_required(http, clock_at):
    with pytest.raises(
        InvalidCanaryError, match=r"spec\.provider\.region: expected the AWS region"
    ):
        cloudwatch(http, clock_at, None, region=None)


def test_default_endpoint_follows_the_region(http, clock_at):
    assert (
        cloudwatch(http, clock_at, None, region="us-east-1").address
        == "https://monitoring.us-east-1.amazonaws.com"
    )
    assert (
        cloudwatch(http, clock_at, None, region="cn-north-1").address
        == "https://monitoring.cn-north-1.amazonaws.com.cn"
    )


async def test_online_check_accepts_invalid_and_refuses_forbidden(serve, http, clock_at):
    server = await serve(
        error("ValidationError", "The parameter MetricDataQueries must not be empty.")
    )
    await cloudwatch(http, clock_at, server.address).check_online()
    assert server.requests[0].json()["MetricDataQueries"] == []
    verify_sigv4(server.requests[0], server.address)
    denied = await serve(
        error(
            "AccessDeniedException",
            "not authorized to perform: cloudwatch:GetMetricData",
            status=403,
        )
    )
    with pytest.raises(QueryError, match="refused the credentials"):
        await cloudwatch(http, clock_at, denied.address).check_online()
