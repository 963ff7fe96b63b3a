"""Google Cloud Monitoring against a local server playing both Google's token endpoint and the API.

Covers: the service account's JWT grant (signed with the key, checked here with google-auth and the
key's public half: issuer, audience, scope) exchanged for a token once and reused; the
timeSeries.query request (path with the project, the MQL query as JSON, the bearer token); the
first point's value (double and int64); an empty answer and a series without points explained;
several series named; a token endpoint refusing the key; a 403 and a 429 (retried) from the API
with Google's error bodies; the online check (INVALID_ARGUMENT means online); a Secret without the
project or with a malformed key.
"""

from __future__ import annotations

import json
import urllib.parse

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt

from serinus.errors import (
    InvalidCanaryError,
    MultipleValuesError,
    NoValuesFoundError,
    ProviderUnavailableError,
    QueryError,
)
from serinus.metrics.providers.base import ProviderSettings
from serinus.metrics.providers.stackdriver import StackdriverProvider

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
"""The audience google-auth signs into every grant, whatever the key's token_uri."""
QUERY = "fetch k8s_container | metric 'kubernetes.io/container/restart_count' | within 5m"
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
PUBLIC = (
    _KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def google(api_answer, *, token_status=200):
    """A handler for /token (checks the JWT grant) and /v3/... (answers ``api_answer``)."""

    def handle(seen):
        if seen.path == "/token":
            form = dict(urllib.parse.parse_qsl(seen.body.decode()))
            assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
            claims = jwt.decode(form["assertion"], certs=PUBLIC, audience=GOOGLE_TOKEN_URI)
            assert claims["iss"] == "serinus@demo-project.iam.gserviceaccount.com"
            assert claims["scope"] == "https://www.googleapis.com/auth/monitoring.read"
            if token_status != 200:
                body = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
                return web.json_response(body, status=token_status)
            return web.json_response(
                {"access_token": "ya29.test", "expires_in": 3600, "token_type": "Bearer"}
            )
        return api_answer(seen)

    return handle


def stackdriver(http, server, *, secret=None, **settings):
    key = {
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": "k1",
        "private_key": PRIVATE,
        "client_email": "serinus@demo-project.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"{server.address}/token",
    }
    secret = (
        secret
        if secret is not None
        else {"project": "demo-project", "serviceAccountKey": json.dumps(key)}
    )
    return StackdriverProvider(
        ProviderSettings(
            kind="stackdriver",
            http=http,
            address=server.address,
            secret=secret,
            secret_name="gcp",
            **settings,
        )
    )


async def serve_google(serve, api_answer, **kwargs):
    return await serve(google(api_answer, **kwargs))


def series(*point_values):
    return web.json_response(
        {
            "timeSeriesDescriptor": {"labelDescriptors": [{"key": "resource.container_name"}]},
            "timeSeriesData": [
                {
                    "labelValues": [{"stringValue": f"c{i}"}],
                    "pointData": [{"values": values}] if values else [],
                }
                for i, values in enumerate(point_values)
            ],
        }
    )


async def test_query_with_a_service_account_token(serve, http):
    server = await serve_google(serve, lambda _: series([{"doubleValue": 0.75}]))
    client = stackdriver(http, server)
    assert await client.query(f"{QUERY}\n") == 0.75
    assert await client.query(QUERY) == 0.75
    paths = [seen.path for seen in server.requests]
    assert paths == [
        "/token",
        "/v3/projects/demo-project/timeSeries:query",
        "/v3/projects/demo-project/timeSeries:query",
    ]
    api = server.requests[1]
    assert api.method == "POST"
    assert api.json() == {"query": QUERY}
    assert api.headers["Authorization"] == "Bearer ya29.test"


async def test_int64_values_are_read(serve, http):
    server = await serve_google(serve, lambda _: series([{"int64Value": "42"}]))
    assert await stackdriver(http, server).query(QUERY) == 42.0


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            lambda _: web.json_response({}),
            "the query returned no time series: either its fetch and filters match none"
            " or its series had no points in the query's window",
        ),
        (lambda _: series([]), "the time series had no points in the window"),
    ],
)
async def test_empty_answers_are_explained(serve, http, answer, message):
    server = await serve_google(serve, answer)
    with pytest.raises(NoValuesFoundError) as caught:
        await stackdriver(http, server).query(QUERY)
    assert str(caught.value).startswith(message)
    assert str(caught.value).endswith(f"query: {QUERY}")


async def test_several_series_are_named(serve, http):
    server = await serve_google(serve, lambda _: series([{"doubleValue": 1}], [{"doubleValue": 2}]))
    with pytest.raises(
        MultipleValuesError,
        match=r"returned 2 time series where one value was expected: \{c0\}, \{c1\}",
    ):
        await stackdriver(http, server).query(QUERY)


async def test_refused_key(serve, http):
    server = await serve_google(serve, lambda _: series([{"doubleValue": 1}]), token_status=400)
    with pytest.raises(QueryError) as caught:
        await stackdriver(http, server).query(QUERY)
    assert str(caught.value).startswith(
        "stackdriver: Google refused the credentials: ('invalid_grant: Invalid JWT Signature.'"
    )
    assert [seen.path for seen in server.requests] == ["/token"]


async def test_permission_denied(serve, http):
    body = {
        "error": {
            "code": 403,
            "message": "Permission monitoring.timeSeries.list denied"
            " (or the resource may not exist).",
            "status": "PERMISSION_DENIED",
        }
    }
    server = await serve_google(serve, lambda _: web.json_response(body, status=403))
    with pytest.raises(QueryError) as caught:
        await stackdriver(http, server).query(QUERY)
    assert str(caught.value) == (
        f"stackdriver at {server.address} refused the credentials (HTTP 403): PERMISSION_DENIED:"
        " Permission monitoring.timeSeries.list denied (or the resource may not exist).;"
        " check the provider's Secret"
    )


async def test_quota_exhausted_is_retried_then_reported(serve, http):
    body = {
        "error": {
            "code": 429,
            "message": "Quota exceeded for quota metric 'Time series queries'",
            "status": "RESOURCE_EXHAUSTED",
        }
    }
    server = await serve_google(serve, lambda _: web.json_response(body, status=429))
    with pytest.raises(
        ProviderUnavailableError,
        match=r"throttled the request 3 times \(HTTP 429: RESOURCE_EXHAUSTED: Quota exceeded",
    ):
        await stackdriver(http, server).query(QUERY)
    assert [seen.path for seen in server.requests].count(
        "/v3/projects/demo-project/timeSeries:query"
    ) == 3


async def test_online_check_sends_an_empty_query(serve, http):
    invalid = {
        "error": {"code": 400, "message": "Query must not be empty.", "status": "INVALID_ARGUMENT"}
    }
    server = await serve_google(serve, lambda _: web.json_response(invalid, status=400))
    await stackdriver(http, server).check_online()
    assert server.requests[-1].json() == {"query": ""}
    denied = {"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}
    forbidden = await serve_google(serve, lambda _: web.json_response(denied, status=403))
    with pytest.raises(QueryError, match="refused the credentials"):
        await stackdriver(http, forbidden).check_online()


async def test_secret_needs_the_project_and_a_valid_key(serve, http):
    server = await serve_google(serve, lambda _: series())
    with pytest.raises(InvalidCanaryError, match="stackdriver needs the key project"):
        stackdriver(http, server, secret={"serviceAccountKey": "{}"})
    with pytest.raises(
        InvalidCanaryError, match="Secret gcp key serviceAccountKey: expected a service account key"
    ):
        stackdriver(http, server, secret={"project": "p", "serviceAccountKey": "not json"})
