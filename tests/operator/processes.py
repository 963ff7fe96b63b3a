"""The real ``serinus operator`` as a child process, started, killed and read like in a cluster.

:class:`Operator` runs ``python -m serinus operator --kubeconfig F ...`` with JSON logs to a file
under the test's directory. Each start appends to the same log (with a marker line per start), so
a test that kills and restarts the operator can show the whole history when it fails. ``kill``
sends SIGKILL (what a node failure or an OOM kill does: no cleanup at all); ``terminate`` sends
SIGTERM and waits for the graceful exit. The ``/metrics`` port is read back from the start-up log
line, since the operator is told to pick a free one.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import re
import signal
import subprocess
import sys
import time
from typing import Any

_PORT = re.compile(r"port (\d+)$")


class Operator:
    """One operator replica; ``start`` may be called again after ``kill``."""

    def __init__(
        self,
        kubeconfig: pathlib.Path,
        log: pathlib.Path,
        *,
        metrics_server: str,
        min_interval: str = "1s",
        extra: tuple[str, ...] = (),
    ) -> None:
        self.log = log
        self.args = [
            sys.executable,
            "-m",
            "serinus",
            "operator",
            "--kubeconfig",
            str(kubeconfig),
            "--mesh-provider",
            "linkerd",
            "--metrics-server",
            metrics_server,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--min-interval",
            min_interval,
            "--log-level",
            "info",
            *extra,
        ]
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.process is not None, "the operator is not running"
        return self.process.pid

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        with self.log.open("a") as out:
            out.write(json.dumps({"msg": f"--- test: start #{self.starts}"}) + "\n")
            out.flush()
            self.process = subprocess.Popen(
                self.args, stdout=subprocess.DEVNULL, stderr=out, start_new_session=True
            )

    def kill(self) -> None:
        """SIGKILL: the process ends at once, whatever it was doing."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait for the graceful exit; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def lines(self) -> list[dict[str, Any]]:
        """Every JSON log line written so far, across starts."""
        found = []
        for line in self.log.read_text().splitlines():
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                found.append({"msg": line})
        return found

    def messages(self) -> list[str]:
        return [str(line.get("msg", "")) for line in self.lines()]

    def tail(self, count: int = 40) -> str:
        return "\n".join(self.log.read_text().splitlines()[-count:])

    async def metrics_port(self, within: float = 30.0) -> int:
        """The port of /metrics, from this start's "Starting serinus operator" line."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            starts = [m for m in self.messages() if m.startswith("--- test: start")]
            ports = [m for m in self.messages() if m.startswith("Starting serinus operator")]
            if len(ports) >= len(starts) and ports and (match := _PORT.search(ports[-1])):
                return int(match.group(1))
            if not self.running():
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"the operator did not start:\n{self.tail()}")

    def __enter__(self) -> Operator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
