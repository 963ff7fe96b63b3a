"""Retries: transient failures of one request, and read-modify-write conflicts.

Covers: a request failing with 500 (or with no answer) is retried and succeeds; after
``attempts`` tries the last error surfaces with its class; 429 waits for the server's
Retry-After, capped; answers that retrying cannot change (404, 409, 422) are not retried; the
backoff doubles, is capped and jittered within bounds; bad policies are refused naming the
field. ``retry_on_conflict``: concurrent read-modify-write cycles on one object all land (each
conflict re-reads and redoes the change); it gives up after ``attempts`` conflicts with the
ConflictError.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from serinus import errors
from serinus.apis.base import Manifest
from serinus.kube import Kube, RetryPolicy, retry_on_conflict
from serinus.sandbox.apiserver import ApiServer
from tests.kube.conftest import settings
from tests.kube.support import FaultProxy, configmap

PATH = "/api/v1/namespaces/prod/configmaps/settings"


@dataclasses.dataclass(frozen=True)
class RecordingPolicy(RetryPolicy):
    """A policy that remembers each Retry-After it was asked to honour, and waits little."""

    asked: list[float | None] = dataclasses.field(default_factory=list)

    def delay(self, attempt: int, *, retry_after: float | None = None) -> float:
        self.asked.append(retry_after)
        return super().delay(attempt, retry_after=retry_after)


async def test_a_500_is_retried_until_it_succeeds(
    kube: Kube, proxy: FaultProxy, proxied: Kube
) -> None:
    await kube.create(configmap("settings", color="blue"))
    proxy.fail(500, times=2, message="etcdserver: leader changed", method="GET")
    got = await proxied.get("v1", "ConfigMap", "settings", "prod")
    assert got is not None
    assert got["data"] == {"color": "blue"}
    assert len(proxy.seen("GET", PATH)) == 3


async def test_after_the_last_attempt_the_error_surfaces(proxy: FaultProxy, proxied: Kube) -> None:
    proxy.fail(503, times=100, message="the server is shutting down", method="GET")
    with pytest.raises(errors.ServerError, match="the server is shutting down"):
        await proxied.get("v1", "ConfigMap", "settings", "prod")
    assert len(proxy.seen("GET", PATH)) == proxied.settings.retry.attempts


async def test_a_request_without_answer_is_retried(kube: Kube, proxy: FaultProxy) -> None:
    await kube.create(configmap("settings"))
    async with Kube(settings(proxy.url)) as client:
        proxy.refuse = True
        refused = asyncio.create_task(client.get("v1", "ConfigMap", "settings", "prod"))
        await asyncio.wait_for(proxy.wait_seen("GET", PATH), timeout=10)
        proxy.refuse = False
        assert await refused is not None
    assert len(proxy.seen("GET", PATH)) >= 2


async def test_429_waits_for_retry_after_capped(api: ApiServer, proxy: FaultProxy) -> None:
    policy = RecordingPolicy(attempts=3, backoff=0.01, max_retry_after=0.02)
    proxy.fail(429, times=2, reason="TooManyRequests", headers={"Retry-After": "7"}, method="GET")
    async with Kube(settings(proxy.url, retry=policy)) as client:
        assert await client.get("v1", "ConfigMap", "settings", "prod") is None
    assert policy.asked == [7.0, 7.0]
    assert policy.delay(1, retry_after=7.0) == 0.02


@pytest.mark.parametrize("status", [404, 409, 422])
async def test_answers_retrying_cannot_change_are_not_retried(
    proxy: FaultProxy, proxied: Kube, status: int
) -> None:
    proxy.fail(status, times=10, method="PATCH")
    with pytest.raises(errors.KubeError):
        await proxied.patch("v1", "ConfigMap", "settings", "prod", {"data": {}})
    assert len(proxy.seen("PATCH", PATH)) == 1


def test_backoff_doubles_is_capped_and_jittered_within_bounds() -> None:
    policy = RetryPolicy(backoff=0.1, max_backoff=0.5, jitter=0.2)
    for attempt, base in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.5), (10, 0.5)]:
        for _ in range(20):
            assert base <= policy.delay(attempt) <= base * 1.2 + 1e-9
    assert RetryPolicy(max_retry_after=3).delay(1, retry_after=60) == 3


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("attempts", 0, "attempts: expected at least 1, found 0"),
        ("backoff", -1.0, "backoff: expected a number >= 0, found -1.0"),
        ("jitter", -0.5, "jitter: expected a number >= 0, found -0.5"),
    ],
)
def test_bad_policies_are_refused_naming_the_field(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**{field: value})  # type: ignore[arg-type]


async def test_concurrent_read_modify_write_cycles_all_land(kube: Kube) -> None:
    await kube.create(configmap("counter", value="0"))
    mutations = 0

    def increment(current: Manifest) -> Manifest:
        nonlocal mutations
        mutations += 1
        value = int(current["data"]["value"]) + 1
        return {**current, "data": {"value": str(value)}}

    async def one() -> Manifest:
        return await retry_on_conflict(
            lambda: _get(kube, "counter"), increment, kube.replace, attempts=20
        )

    await asyncio.gather(*(one() for _ in range(8)))
    final = await _get(kube, "counter")
    assert final["data"]["value"] == "8"
    assert mutations > 8, "the writers never raced: the test proves nothing"


async def test_retry_on_conflict_gives_up_after_its_attempts(
    kube: Kube, proxy: FaultProxy, proxied: Kube
) -> None:
    await kube.create(configmap("settings", color="blue"))
    proxy.fail(
        409, times=100, reason="Conflict", message="the object has been modified", method="PUT"
    )
    reads = 0

    async def fetch() -> Manifest:
        nonlocal reads
        reads += 1
        return await _get(proxied, "settings")

    with pytest.raises(errors.ConflictError, match="the object has been modified"):
        await retry_on_conflict(fetch, lambda m: m, proxied.replace, attempts=3)
    assert reads == 3


async def _get(kube: Kube, name: str) -> Manifest:
    found = await kube.get("v1", "ConfigMap", name, "prod")
    assert found is not None
    return found
