"""The client tells who asks how long each request took and waited, against a real API server.

Covers: each request of ``Kube`` (create, get, replace, patch, delete) is reported once with its
HTTP method, a request answered 500 and retried once per try, with the same result as without
the reporting; the rate limiter's wait is reported for every try, and a try the limiter held (the
second of two sent at once with a burst of one) waited at least as long as the bucket takes to
refill (a lower bound the limiter guarantees, never an upper one).
"""

from __future__ import annotations

import asyncio
import collections

from serinus.kube import Kube
from serinus.sandbox.apiserver import ApiServer
from tests.kube.conftest import settings
from tests.kube.support import FaultProxy, configmap


class Recorded:
    """A :class:`serinus.kube.timing.RequestTimes` that keeps what it is told."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, float]] = []
        self.waits: list[float] = []

    def requested(self, verb: str, seconds: float) -> None:
        self.requests.append((verb, seconds))

    def rate_limited(self, seconds: float) -> None:
        self.waits.append(seconds)

    def verbs(self) -> collections.Counter[str]:
        return collections.Counter(verb for verb, _ in self.requests)


async def test_each_request_is_reported_with_its_method(api: ApiServer) -> None:
    times = Recorded()
    async with Kube(settings(api.url), times=times) as kube:
        await kube.create(configmap("settings", color="blue"))
        found = await kube.get("v1", "ConfigMap", "settings", "prod")
        assert found is not None
        await kube.replace(found)
        await kube.patch("v1", "ConfigMap", "settings", "prod", {"data": {"color": "green"}})
        await kube.delete("v1", "ConfigMap", "settings", "prod")
    verbs = times.verbs()
    assert verbs.pop("GET") >= 1  # the get (and the discovery of ConfigMaps)
    assert verbs == {"POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 1}
    assert all(seconds > 0 for _, seconds in times.requests)
    assert times.waits == []  # no rate limit set: nothing waits for one


async def test_each_try_of_a_retried_request_is_reported(api: ApiServer) -> None:
    times = Recorded()
    async with FaultProxy(api.url) as proxy, Kube(settings(proxy.url), times=times) as kube:
        created = await kube.create(configmap("settings", color="blue"))
        proxy.fail(500, method="PUT")
        replaced = await kube.replace({**created, "data": {"color": "green"}})
    assert replaced["data"] == {"color": "green"}
    assert times.verbs()["PUT"] == 2  # the 500, then the try that wrote it


async def test_the_wait_for_the_rate_limiter_is_reported(api: ApiServer) -> None:
    times = Recorded()
    async with Kube(settings(api.url, qps=5, burst=1), times=times) as kube:
        await asyncio.gather(kube.server_version(), kube.server_version())
    assert len(times.waits) == 2 == len(times.requests)  # one wait per try, also a token at once
    # the second found the bucket empty: one token comes back every 0.2 s
    assert max(times.waits) >= 0.1
