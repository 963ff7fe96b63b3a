"""The retrying POST under the webhook client.

Covers:
- which statuses are retried (429 and 5xx except 501, as go-retryablehttp) and that a 429 answer
  is tried again against a real receiver while a 501 is not;
- the words for an unreachable receiver: a name that does not resolve (built from the resolver's
  own error, so the test needs no DNS), and any other transport error keeps its own text.
"""

from __future__ import annotations

import socket

import httpx
import pytest

from serinus.webhooks import delivery


@pytest.mark.parametrize(
    ("status", "retried"),
    [(200, False), (404, False), (429, True), (500, True), (501, False), (502, True), (599, True)],
)
def test_retriable_statuses(status, retried):
    assert delivery.is_retriable_status(status) is retried


async def post(http, url, retries):
    return await delivery.post(
        http,
        url,
        body=b"{}",
        headers=dict,
        timeout_seconds=5,
        retries=retries,
        backoff=0.01,
    )


async def test_too_many_requests_is_retried(http, receiver):
    receiver.answer(429, "slow down")
    receiver.answer(201, "created")
    response = await post(http, receiver.url, retries=1)
    assert response.status_code == 201
    assert len(receiver.received) == 2


async def test_not_implemented_is_final(http, receiver):
    receiver.always(501, "no such gate")
    response = await post(http, receiver.url, retries=3)
    assert response.status_code == 501
    assert len(receiver.received) == 1


def test_an_unresolved_name_is_described():
    try:
        try:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        except socket.gaierror as resolver_error:
            raise httpx.ConnectError(str(resolver_error)) from resolver_error
    except httpx.ConnectError as error:
        text = delivery.cause(error, 10)
    assert text == "host name did not resolve (Name or service not known)"


def test_other_transport_errors_keep_their_text():
    assert delivery.cause(httpx.ReadError("connection reset"), 10) == "connection reset"
