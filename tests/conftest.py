"""Fixtures shared by every test package. Each package keeps its own in its conftest.py.

* ``api``: the sandbox's Kubernetes API server on a free loopback port, empty, one per test (it
  starts in milliseconds); packages that need it otherwise (a namespace made first, a service
  range, frequent bookmarks) override it in their own conftest;
* ``http``: the operator's own outbound client (:func:`serinus.outbound.client`: httpx over
  aiohttp), as it shares one among its webhook, notifier and metrics clients (the sandbox tests
  override it with a client of ``api``);
* ``resources``: MetricTemplates, AlertProviders and Secrets in memory (the ``Resources`` port);
* ``clock``: a clock stopped at 2024-05-01T12:00:00.25Z, so stamped times are known exactly.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator

import httpx
import pytest

from serinus import outbound
from serinus.controller.memory import VirtualClock
from serinus.sandbox.apiserver import ApiServer
from tests.support.memory import MemoryResources


@pytest.fixture
async def api() -> AsyncIterator[ApiServer]:
    async with ApiServer(port=0) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with outbound.client() as client:
        yield client


@pytest.fixture
def resources() -> MemoryResources:
    return MemoryResources()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(datetime.datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=datetime.UTC))
