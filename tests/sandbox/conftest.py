"""Fixtures of the sandbox tests: an HTTP client for the API server of the test (``api``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from serinus.sandbox.apiserver import ApiServer


@pytest.fixture
async def http(api: ApiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
        yield client
