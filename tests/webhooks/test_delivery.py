"""The retrying POST under the webhook client.

Covers:
- which statuses are retried (429 and 5xx except 501, as go-retryablehttp) and that a 429 answer
  is tried again against a real receiver while a 501 is not (the words for a receiver that does
  not answer are :mod:`serinus.outbound`'s, tested in ``tests/test_outbound.py``).
"""

from __future__ import annotations

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
