"""A real Prometheus on backfilled data, for tests that need exact values at a fixed time.

Series are written in OpenMetrics text with explicit timestamps (:class:`OpenMetrics`), turned into
TSDB blocks by ``promtool tsdb create-blocks-from openmetrics``, and served by a Prometheus started
on those blocks (:func:`backfilled`): it answers from its first request, and queries evaluated at a
fixed ``time=`` give exact values, with no scrape delay and no timing flake.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from serinus.controller.memory import VirtualClock

STEP = 10
SPAN = 600


@dataclasses.dataclass(frozen=True)
class PrometheusServer:
    address: str
    time: float
    """The evaluation time at which every dataset has its documented values."""

    @property
    def clock(self) -> VirtualClock:
        return VirtualClock(datetime.datetime.fromtimestamp(self.time, tz=datetime.UTC))


class OpenMetrics:
    """Collects series with explicit timestamps and writes them in OpenMetrics text."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.families: dict[str, list[str]] = {}

    def counter(
        self, name: str, labels: dict[str, str], per_second: float, *, until: int = SPAN
    ) -> None:
        """A series growing by ``per_second`` from the start, sampled every 10 s up to ``until``."""
        self.series(name, labels, lambda offset: per_second * offset, until=until)

    def series(
        self,
        name: str,
        labels: dict[str, str],
        value: Callable[[int], float],
        *,
        until: int = SPAN,
    ) -> None:
        """A series whose value at ``offset`` seconds is ``value(offset)``, sampled every 10 s."""
        text = ",".join(f'{k}="{v}"' for k, v in labels.items())
        lines = self.families.setdefault(name, [])
        for offset in range(0, until + 1, STEP):
            lines.append(f"{name}{{{text}}} {value(offset):g} {self.start + offset}")

    def histogram(
        self, name: str, labels: dict[str, str], per_second: float, bounds: list[str], slot: int
    ) -> None:
        """Buckets where every observation falls in the bucket ``bounds[slot]``."""
        for index, bound in enumerate([*bounds, "+Inf"]):
            rate = per_second if index >= slot else 0.0
            self.counter(f"{name}_bucket", {**labels, "le": bound}, rate)

    def text(self) -> str:
        return "\n".join(line for lines in self.families.values() for line in lines) + "\n# EOF\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def backfilled(root: Path, data: OpenMetrics, *, end: int = SPAN) -> Iterator[PrometheusServer]:
    """A real Prometheus serving ``data``; its ``time`` is ``end`` seconds after the data start."""
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: run `bash scripts/system-packages.sh`")
    (root / "data.om").write_text(data.text())
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", "data.om", "tsdb"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    (root / "prometheus.yml").write_text("global: {scrape_interval: 1m}\nscrape_configs: []\n")
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    log = root / "prometheus.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
        try:
            _wait_ready(address, process, log)
            yield PrometheusServer(address, float(data.start + end))
        finally:
            process.terminate()
            process.wait(timeout=10)


def data_start() -> int:
    """A start for backfilled data: on a minute, half an hour ago (inside the retention)."""
    return int(time.time()) // 60 * 60 - 1800


def _wait_ready(address: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"prometheus exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{address}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    pytest.fail(f"prometheus did not become ready: {log.read_text()[-2000:]}")
