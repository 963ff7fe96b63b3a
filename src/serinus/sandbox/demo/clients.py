"""The demo's traffic: its own client of podinfo, the load tester's results, the seed's faults.

:class:`Probe` plays podinfo's users: a steady stream of ``GET /`` to the ``podinfo`` Service
through the mesh proxy (its cluster IP, as a pod would reach it), every response or failure
counted under the release it happened in. It is how the demo shows "errors seen by clients" to
the second, and it keeps the canary receiving traffic from its very first step, as production
traffic would (the load tester's ``hey`` only starts at the analysis' second step).

:class:`LoadTesterResults` reads the load tester's ``/metrics``: how many requests its ``hey`` runs
made, by status code, and whether one still runs. :class:`Injection` runs one of the seed's
``hey`` commands in the sandbox's name resolution (as ``serinus sandbox shell`` would) and stops
it like Ctrl-C in a terminal: SIGINT to its process group, after which hey prints its summary.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import os
import pathlib
import signal
import time
from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families

from serinus.loadtester.hey import HeyReport, parse_reports
from serinus.sandbox.orchestration import shell

_PROBE_TIMEOUT = 5.0


@dataclasses.dataclass
class Counts:
    """Requests of one client in one release."""

    requests: int = 0
    errors: int = 0
    """Responses other than 2xx/3xx, and requests that got no response."""
    codes: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)

    def add(self, code: str, ok: bool) -> None:
        self.requests += 1
        self.errors += 0 if ok else 1
        self.codes[code] += 1


class Probe:
    """``rate`` requests per second to ``url``, counted per release label."""

    def __init__(self, url: str, *, rate: float = 20.0) -> None:
        self.url = url
        self.rate = rate
        self.label = ""
        self.counts: dict[str, Counts] = collections.defaultdict(Counts)
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="demo probe")

    async def stop(self) -> None:
        """Stop sending; the requests on their way are answered (and counted) first."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        period = 1.0 / self.rate
        # A connection per request, as from many users: no keep-alive race (a server closing an
        # idle connection as a request is sent on it) is counted as an error of the release.
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(
            timeout=_PROBE_TIMEOUT, trust_env=False, limits=limits
        ) as client:
            next_at = time.monotonic()
            try:
                while True:
                    task = asyncio.create_task(self._one(client, self.label))
                    self._inflight.add(task)
                    task.add_done_callback(self._inflight.discard)
                    next_at += period
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            finally:  # the client stays open until the last answer is in
                if self._inflight:
                    await asyncio.wait(set(self._inflight), timeout=_PROBE_TIMEOUT + 1)

    async def _one(self, client: httpx.AsyncClient, label: str) -> None:
        try:
            response = await client.get(self.url)
        except httpx.HTTPError as error:
            self.counts[label].add(type(error).__name__, False)
            return
        self.counts[label].add(str(response.status_code), response.status_code < 400)


@dataclasses.dataclass(frozen=True)
class LoadTestSnapshot:
    """The load tester's hey counters for one canary, and whether a command still runs."""

    codes: dict[str, float]
    running: bool

    def minus(self, before: LoadTestSnapshot) -> Counts:
        counts = Counts()
        for code, value in self.codes.items():
            delta = round(value - before.codes.get(code, 0.0))
            counts.requests += delta
            counts.codes[code] += delta
            if not (code.isdigit() and 200 <= int(code) < 400):
                counts.errors += delta
        return counts


class LoadTesterResults:
    """Reads the load tester's ``/metrics`` (hey's parsed summaries) over HTTP."""

    def __init__(self, url: str, *, canary: str) -> None:
        self.url = url
        self.canary = canary

    async def snapshot(self) -> LoadTestSnapshot:
        async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
            response = await client.get(self.url)
            response.raise_for_status()
        codes: dict[str, float] = {}
        running = False
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name == "serinus_loadtester_hey_requests_total":
                    if sample.labels.get("canary") == self.canary:
                        codes[sample.labels["code"]] = sample.value
                elif sample.name == "serinus_loadtester_commands_running":
                    running = running or (sample.labels.get("type") == "cmd" and sample.value > 0)
        return LoadTestSnapshot(codes, running)


class Injection:
    """One of the seed's fault-injection commands, run in the sandbox for real."""

    def __init__(
        self,
        directory: pathlib.Path,
        words: list[str],
        *,
        namespace: str,
        environment: Mapping[str, str],
    ) -> None:
        self.environment = dict(environment)
        self.directory = directory
        self.words = words
        self.namespace = namespace
        self.report: HeyReport | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._output = b""
        self._reader: asyncio.Task[None] | None = None

    @property
    def text(self) -> str:
        return " ".join(self.words)

    async def start(self) -> None:
        command = await shell.command(self.directory, self.namespace, self.words)
        self._process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=shell.environment(self.directory, self.environment),
            start_new_session=True,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        if self._process is not None and self._process.stdout is not None:
            self._output = await self._process.stdout.read()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def stop(self) -> HeyReport | None:
        """Ctrl-C: SIGINT to the process group; hey prints its summary and exits."""
        process = self._process
        if process is None:
            return None
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        if self._reader is not None:
            await self._reader
        reports = parse_reports(self._output.decode(errors="replace"))
        self.report = reports[-1] if reports else None
        return self.report
