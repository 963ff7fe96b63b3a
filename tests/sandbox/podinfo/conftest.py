"""Fixtures of the podinfo tests: a stand-in served in-process on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from serinus.sandbox.podinfo import Podinfo, serve

Start = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


@contextlib.asynccontextmanager
async def running(**settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    stop = asyncio.Event()
    bound: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(Podinfo(**settings), host="127.0.0.1", port=0, stop=stop, on_ready=bound.set_result)
    )
    try:
        url = await asyncio.wait_for(bound, timeout=10)
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            yield client
    finally:
        stop.set()
        await task


@pytest.fixture
def start() -> Start:
    return running


@pytest.fixture
async def podinfo() -> AsyncIterator[httpx.AsyncClient]:
    async with running(version="6.0.1", hostname="podinfo-7b9c5d-abcde") as client:
        yield client
