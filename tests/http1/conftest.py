"""Fixtures of the lean client's tests: a pool of ten connections with the system's CAs, closed
after the test.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import pytest

from serinus import http1


@pytest.fixture
async def pool() -> AsyncIterator[http1.Pool]:
    lean = http1.Pool(tls=ssl.create_default_context(), limit=10)
    yield lean
    await lean.close()
