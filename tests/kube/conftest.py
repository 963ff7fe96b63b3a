"""Fixtures of the kube tests: a real local API server with serinus's CRDs, clients, a proxy.

Each test gets its own API server on a free loopback port (it starts in milliseconds) with a
``prod`` namespace (and, through ``flagger_crds``, the repository's CRDs), a
:class:`~serinus.kube.Kube` talking to it directly, and, for failure tests, a
:class:`~tests.kube.support.FaultProxy` in front of it with a second client going through the
proxy. Retries back off in milliseconds so failure tests stay fast.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from serinus.kube import Kube, KubeSettings, RetryPolicy
from serinus.sandbox.apiserver import ApiServer
from tests.kube.support import FaultProxy, crds, namespace

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05, max_retry_after=0.05)


def settings(url: str, **changes: Any) -> KubeSettings:
    """Settings for a server URL with millisecond retries, unless ``changes`` say otherwise."""
    return dataclasses.replace(KubeSettings(server=url, retry=FAST), **changes)


@pytest.fixture
async def api() -> AsyncIterator[ApiServer]:
    async with ApiServer(port=0) as server:
        async with Kube(settings(server.url)) as setup:
            await setup.create(namespace("prod"))
        yield server


@pytest.fixture
async def flagger_crds(api: ApiServer) -> None:
    """The repository's CRDs (Canary, MetricTemplate, AlertProvider) applied to ``api``."""
    async with Kube(settings(api.url)) as setup:
        for crd in crds():
            await setup.apply(crd)


@pytest.fixture
async def kube(api: ApiServer) -> AsyncIterator[Kube]:
    async with Kube(settings(api.url)) as client:
        yield client


@pytest.fixture
async def proxy(api: ApiServer) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(api.url) as running:
        yield running


@pytest.fixture
async def proxied(proxy: FaultProxy) -> AsyncIterator[Kube]:
    """A client whose every request goes through the fault-injecting proxy."""
    async with Kube(settings(proxy.url)) as client:
        yield client
