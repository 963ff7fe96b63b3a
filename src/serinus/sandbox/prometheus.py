"""A real Prometheus for the sandbox and the tests: :class:`Prometheus`.

The sandbox runs the operator against Linkerd's real PromQL, so it needs the real server (the
Debian package ``prometheus``, 2.x). :class:`Prometheus` starts one on a free loopback port with
a private data directory and a generated config that scrapes the given targets every second
(the mesh proxy's admin port, optionally the operator's and the load tester's metrics ports)
with ``honor_labels: true``, so the ``namespace``/``deployment``/``pod`` labels the mesh proxy
sets are kept as they are rather than renamed ``exported_*``::

    async with Prometheus(tmp_path, [ScrapeTarget("linkerd-proxy", proxy.metrics_address)]) as prom:
        await prom.wait_for_series('response_total{namespace="prod"}')
        value = await prom.query('sum(rate(response_total[30s]))')

``start_sync``/``stop_sync`` (or ``with``) do the same for synchronous code and for pytest
fixtures shared by a module or session. ``--web.enable-lifecycle`` is on: :meth:`set_targets`
rewrites the config and reloads it in place (a new target gets its first sample about 2 s later).

Timing, measured on Prometheus 2.42: the server is ready 0.1-0.15 s after it starts, but the first
scrape comes about 5-6 s after start whatever the interval (the scrape manager applies target
updates every 5 s), and a ``rate()`` needs two samples, so the first non-empty rate is about 7 s
after start. Share one instance per test module or session, and wait for data with
:meth:`wait_for_series` rather than sleeping. Stopping sends SIGTERM; Prometheus exits in
milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import pathlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import httpx
import yaml

from serinus.errors import SerinusError

logger = logging.getLogger(__name__)

_READY_WITHIN = 15.0
_STOP_WITHIN = 10.0
_POLL = 0.05
_BIND_ATTEMPTS = 3


class PrometheusError(SerinusError):
    """The Prometheus process could not be started, stopped or queried."""


@dataclasses.dataclass(frozen=True)
class ScrapeTarget:
    """One scrape job: a ``host:port`` serving Prometheus text at ``path``."""

    job: str
    address: str
    path: str = "/metrics"
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)


class Prometheus:
    """One Prometheus process on loopback, its config and data under ``directory``."""

    def __init__(
        self,
        directory: pathlib.Path,
        targets: Sequence[ScrapeTarget] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        scrape_interval: float = 1.0,
        retention: str = "1h",
        binary: str = "prometheus",
    ) -> None:
        """
        Args:
            directory: where the config, the TSDB (``data/``) and the log go; created if missing.
            targets: what to scrape.
            host: address to listen on.
            port: port to listen on; 0 picks a free one (read it back from :attr:`port`).
            scrape_interval: seconds between scrapes (and rule evaluations); 0.1 works.
            retention: how long samples are kept (a Prometheus duration).
            binary: the prometheus executable, by name on PATH or by path.
        """
        if scrape_interval <= 0:
            raise ValueError(f"scrape_interval: expected seconds > 0, got {scrape_interval}")
        self.directory = directory
        self.targets = tuple(targets)
        self.host = host
        self.port = port
        self.scrape_interval = scrape_interval
        self._retention = retention
        self._binary = binary
        self._fixed_port = port != 0
        self._process: subprocess.Popen[bytes] | None = None
        self._deadline = 0.0
        self.returncode: int | None = None
        """The exit status of the last process (None while it runs or before any ran)."""

    @property
    def url(self) -> str:
        """The base URL of the HTTP API (``<url>/api/v1/query``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def config_file(self) -> pathlib.Path:
        return self.directory / "prometheus.yml"

    @property
    def log_file(self) -> pathlib.Path:
        return self.directory / "prometheus.log"

    def config(self) -> dict[str, Any]:
        """The Prometheus configuration for :attr:`targets`."""
        interval = f"{round(self.scrape_interval * 1000)}ms"
        return {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "scrape_configs": [
                {
                    "job_name": target.job,
                    "honor_labels": True,
                    "metrics_path": target.path,
                    "static_configs": [
                        {"targets": [target.address], "labels": dict(target.labels)}
                    ],
                }
                for target in self.targets
            ],
        }

    # starting and stopping

    def start_sync(self) -> None:
        """Start the process and wait until ``/-/ready`` answers (blocking)."""
        for attempt in range(1, _BIND_ATTEMPTS + 1):
            self._launch()
            with httpx.Client(timeout=1) as client:
                while not self._exited():
                    self._check_overdue()
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(f"{self.url}/-/ready").status_code == 200:
                            return
                    time.sleep(_POLL)
            self._retry_or_fail(attempt)

    async def start(self) -> None:
        """Start the process and wait until ``/-/ready`` answers."""
        for attempt in range(1, _BIND_ATTEMPTS + 1):
            self._launch()
            async with httpx.AsyncClient(timeout=1) as client:
                while not self._exited():
                    self._check_overdue()
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(f"{self.url}/-/ready")).status_code == 200:
                            return
                    await asyncio.sleep(_POLL)
            self._retry_or_fail(attempt)

    def stop_sync(self) -> None:
        """SIGTERM, then wait for the exit (SIGKILL after 10 s)."""
        process = self._terminate()
        if process is not None:
            try:
                process.wait(timeout=_STOP_WITHIN)
            except subprocess.TimeoutExpired:
                self._kill(process)
            self.returncode = process.returncode

    async def stop(self) -> None:
        """SIGTERM, then wait for the exit (SIGKILL after 10 s)."""
        process = self._terminate()
        if process is not None:
            try:
                await asyncio.to_thread(process.wait, _STOP_WITHIN)
            except subprocess.TimeoutExpired:
                self._kill(process)
            self.returncode = process.returncode

    def _terminate(self) -> subprocess.Popen[bytes] | None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
        return process

    def _kill(self, process: subprocess.Popen[bytes]) -> None:
        logger.warning("prometheus on %s ignored SIGTERM; killing it", self.url)
        process.kill()
        process.wait()

    def _launch(self) -> None:
        executable = shutil.which(self._binary)
        if executable is None:
            raise PrometheusError(
                f"{self._binary}: not found; install the Prometheus 2.x server "
                "(Debian package prometheus, Homebrew formula prometheus)"
            )
        if not self._fixed_port:
            self.port = _free_port(self.host)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        command = [
            executable,
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.directory / 'data'}",
            f"--storage.tsdb.retention.time={self._retention}",
            f"--web.listen-address={self.host}:{self.port}",
            "--web.enable-lifecycle",
            "--log.level=warn",
        ]
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log
            )
        self.returncode = None
        self._deadline = time.monotonic() + _READY_WITHIN
        logger.info("prometheus starting on %s (data in %s)", self.url, self.directory)

    def _exited(self) -> bool:
        if self._process is None or self._process.poll() is None:
            return self._process is None
        self.returncode = self._process.returncode
        self._process = None
        return True

    def _check_overdue(self) -> None:
        if time.monotonic() > self._deadline and self._process is not None:
            self._kill(self._process)
            self._process = None
            raise PrometheusError(f"prometheus on {self.url} not ready after 15 s: {self._log()}")

    def _retry_or_fail(self, attempt: int) -> None:
        log = self._log()
        if "address already in use" in log and not self._fixed_port and attempt < _BIND_ATTEMPTS:
            logger.info("port %d was taken meanwhile; trying another", self.port)
            return
        raise PrometheusError(f"prometheus exited with status {self.returncode}: {log}")

    def _log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-2000:].strip()
        except OSError:
            return "(no log)"

    # querying

    async def query(self, promql: str, *, at: float | None = None) -> list[dict[str, Any]]:
        """The result of an instant query (a vector's samples; ``[]`` when nothing matched).

        Raises:
            PrometheusError: the server rejected the query or could not be reached.
        """
        params = {"query": promql, **({"time": f"{at:.3f}"} if at is not None else {})}
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(f"{self.url}/api/v1/query", params=params)
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise PrometheusError(f"query {promql!r} to {self.url} failed: {error}") from error
        if body.get("status") != "success":
            raise PrometheusError(
                f"query {promql!r} rejected: {body.get('errorType')}: {body.get('error')}"
            )
        result = body["data"]["result"]
        return result if isinstance(result, list) else [{"value": result}]

    async def value(self, promql: str, *, at: float | None = None) -> float | None:
        """The first sample's value of an instant query, or None when nothing matched."""
        result = await self.query(promql, at=at)
        return float(result[0]["value"][1]) if result else None

    async def wait_for_series(
        self,
        promql: str,
        *,
        where: Callable[[list[dict[str, Any]]], bool] | None = None,
        within: float = 20.0,
    ) -> list[dict[str, Any]]:
        """Poll ``promql`` until it returns samples (for which ``where`` holds, if given).

        The first scrape comes ~5-6 s after start; allow for it in ``within``.

        Raises:
            PrometheusError: when no such result comes ``within`` seconds.
        """
        deadline = time.monotonic() + within
        while True:
            result = await self.query(promql)
            if result and (where is None or where(result)):
                return result
            if time.monotonic() > deadline:
                raise PrometheusError(
                    f"no result for {promql!r} within {within:g} s (last: {result})"
                )
            await asyncio.sleep(min(0.2, self.scrape_interval / 2))

    async def set_targets(self, targets: Sequence[ScrapeTarget]) -> None:
        """Scrape ``targets`` from now on (config rewritten, then ``POST /-/reload``)."""
        self.targets = tuple(targets)
        self.config_file.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(f"{self.url}/-/reload")
        except httpx.HTTPError as error:
            raise PrometheusError(f"reloading {self.url} failed: {error}") from error
        if response.status_code != 200:
            raise PrometheusError(f"reloading {self.url} failed: {response.text.strip()}")

    # context managers

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.stop()

    def __enter__(self) -> Self:
        self.start_sync()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop_sync()


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
