"""Fixtures for the load tester tests: a real target server for hey, and real load testers.

``target`` is a small aiohttp server on a loopback port that counts every request it answers:
``/ok`` answers 200, ``/fail`` 500, ``/mixed`` 500 for every fourth request and 200 otherwise. Tests
compare those server-side counts with what the load tester did or parsed, so a claim such as "the
second call did not start hey" is proven by requests that never arrived.

``loadtester`` starts :func:`serinus.loadtester.app.create_app` on a loopback port and returns a
client for it; the app is shut down (and its commands stopped) at the end of the test.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
import pathlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from tests.support import loopback

from serinus.loadtester import app as loadtester_app
from serinus.loadtester.authz import Policy

WAIT_SECONDS = 20.0
"""Deadline for waiting on background commands; generous because CI machines are shared."""


@dataclasses.dataclass
class Target:
    base: str
    counts: collections.Counter[tuple[str, int]]

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def hits(self, path: str | None = None, status: int | None = None) -> int:
        return sum(
            count
            for (seen_path, seen_status), count in self.counts.items()
            if (path is None or seen_path == path) and (status is None or seen_status == status)
        )


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    counts: collections.Counter[tuple[str, int]] = collections.Counter()
    mixed = 0

    async def answer(request: web.Request) -> web.Response:
        nonlocal mixed
        if request.path == "/ok":
            status = 200
        elif request.path == "/fail":
            status = 500
        elif request.path == "/mixed":
            mixed += 1
            status = 500 if mixed % 4 == 0 else 200
        else:
            status = 404
        counts[(request.path, status)] += 1
        return web.Response(status=status, text=str(status))

    async with loopback.serving(loopback.handling(answer)) as base:
        yield Target(base=base, counts=counts)


@pytest.fixture
def refused_url() -> Any:
    """A loopback URL whose port is bound but not listening, so every connection is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    sock.close()


@dataclasses.dataclass
class LoadTester:
    base: str
    client: httpx.AsyncClient
    app: web.Application

    async def post(self, path: str, payload: Any = None, **kwargs: Any) -> httpx.Response:
        if payload is not None:
            kwargs["json"] = payload
        return await self.client.post(self.base + path, **kwargs)

    async def task(
        self, metadata: dict[str, str], *, name: str = "podinfo", namespace: str = "test"
    ) -> httpx.Response:
        return await self.post("/", {"name": name, "namespace": namespace, "metadata": metadata})

    async def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample on /metrics, keyed by (name, sorted labels)."""
        text = (await self.client.get(self.base + "/metrics")).text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    async def wait_idle(self) -> None:
        """Wait until no command is running (per the running gauge on /metrics)."""
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                samples = await self.metrics()
                running = [
                    value
                    for (name, _), value in samples.items()
                    if name == "serinus_loadtester_commands_running"
                ]
                if all(value == 0 for value in running):
                    return
                await asyncio.sleep(0.05)


StartLoadTester = Callable[..., Awaitable[LoadTester]]


@pytest.fixture
async def loadtester_factory(tmp_path: pathlib.Path) -> AsyncIterator[StartLoadTester]:
    runners: list[web.AppRunner] = []
    client = httpx.AsyncClient(timeout=30.0)

    async def start(
        *,
        task_timeout: float = 60.0,
        namespace: str | None = None,
        allow: tuple[str, ...] = (),
        state_file: pathlib.Path | None = None,
        **settings_fields: Any,
    ) -> LoadTester:
        settings = loadtester_app.Settings(
            timeout=task_timeout,
            policy=Policy.from_patterns(namespace=namespace, commands=allow),
            state_file=state_file or tmp_path / "gates.json",
            **settings_fields,
        )
        app = loadtester_app.create_app(settings)
        runner, base = await loopback.start(app)
        runners.append(runner)
        return LoadTester(base=base, client=client, app=app)

    try:
        yield start
    finally:
        for runner in runners:
            await runner.cleanup()
        await client.aclose()


@pytest.fixture
async def loadtester(loadtester_factory: StartLoadTester) -> LoadTester:
    return await loadtester_factory()


def _process_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as dead)."""
    proc = pathlib.Path("/proc")
    if proc.is_dir():
        try:
            stat = (proc / str(pid) / "stat").read_text()
        except FileNotFoundError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _read_if_written(path: pathlib.Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


async def _wait_for_file(path: pathlib.Path) -> str:
    """The content of ``path`` once a command has written it (non-empty)."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            if content := _read_if_written(path):
                return content
            await asyncio.sleep(0.02)


@pytest.fixture
def process_alive() -> Callable[[int], bool]:
    return _process_alive


@pytest.fixture
def wait_for_file() -> Callable[[pathlib.Path], Awaitable[str]]:
    return _wait_for_file
