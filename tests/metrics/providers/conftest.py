"""Fixtures of the provider tests that need a cluster: the sandbox's API server and a client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.kube.conftest import settings
from tests.kube.support import namespace

from serinus.kube import Kube
from serinus.sandbox.apiserver import ApiServer


@pytest.fixture
async def cluster() -> AsyncIterator[Kube]:
    """A client of a fresh local API server with a ``prod`` namespace."""
    async with ApiServer(port=0) as server, Kube(settings(server.url)) as client:
        await client.create(namespace("prod"))
        yield client
