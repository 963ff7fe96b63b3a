"""Fixtures of the hostile-input tests: the real ``serinus loadtester`` as a separate process.

``start_loadtester(*args)`` runs ``python -m serinus loadtester --host 127.0.0.1 --port 0`` with
the given flags, in an empty working directory of its own (so a command smuggled past the rules,
such as ``touch x``, leaves a file the test can see), with its JSON log written to a file the test
reads. The process is stopped with SIGTERM at the end of the test, and must exit by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import pathlib
import re
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

START_SECONDS = 30.0
STOP_SECONDS = 15.0


@dataclasses.dataclass
class LoadTesterProcess:
    """A running ``serinus loadtester`` and what it left behind."""

    base: str
    process: asyncio.subprocess.Process
    log_path: pathlib.Path
    cwd: pathlib.Path
    client: httpx.AsyncClient

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log().splitlines() if line.startswith("{")]

    async def post(self, path: str, payload: Any = None, **kwargs: Any) -> httpx.Response:
        if payload is not None:
            kwargs["json"] = payload
        return await self.client.post(self.base + path, **kwargs)

    async def task(
        self, metadata: dict[str, str], *, name: str = "podinfo", namespace: str = "prod"
    ) -> httpx.Response:
        return await self.post("/", {"name": name, "namespace": namespace, "metadata": metadata})

    async def running(self) -> float:
        """Commands running now, per the load tester's own gauge."""
        text = (await self.client.get(self.base + "/metrics")).text
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "serinus_loadtester_commands_running"
        )

    async def wait_idle(self, seconds: float = 20.0) -> None:
        async with asyncio.timeout(seconds):
            while True:
                if not await self.running():
                    return
                await asyncio.sleep(0.05)

    def alive(self) -> bool:
        return self.process.returncode is None


StartLoadTester = Callable[..., Awaitable[LoadTesterProcess]]


@pytest.fixture
async def start_loadtester(tmp_path: pathlib.Path) -> AsyncIterator[StartLoadTester]:
    started: list[LoadTesterProcess] = []
    client = httpx.AsyncClient(timeout=30.0)

    async def start(*args: str, env: dict[str, str] | None = None) -> LoadTesterProcess:
        index = len(started)
        cwd = tmp_path / f"cwd{index}"
        cwd.mkdir()
        log_path = tmp_path / f"loadtester{index}.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "serinus", "loadtester",
                "--host=127.0.0.1", "--port=0", f"--state={tmp_path / f'gates{index}.json'}",
                *args,
                cwd=cwd,
                env={**os.environ, **(env or {})},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )  # fmt: skip
        tester = LoadTesterProcess("", process, log_path, cwd, client)
        started.append(tester)
        async with asyncio.timeout(START_SECONDS):
            while not (found := re.search(r"listening on (http://\S+?)\"", tester.log())):
                if process.returncode is not None:
                    pytest.fail(f"serinus loadtester exited: {tester.log()[-2000:]}")
                await asyncio.sleep(0.05)
        tester.base = found.group(1)
        return tester

    try:
        yield start
    finally:
        await client.aclose()
        for tester in started:
            await _stop(tester.process)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(STOP_SECONDS):
            await process.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        pytest.fail("serinus loadtester did not stop within 15s of SIGTERM")
