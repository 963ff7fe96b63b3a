"""Helpers of the end-to-end tests: a sandbox started with the real CLI, kubectl against it.

:func:`sandbox` runs ``serinus sandbox up --detach`` in a temporary directory and ``serinus
sandbox down`` afterwards, as a user would; :class:`Sandbox` runs kubectl with the sandbox's
kubeconfig and ``serinus`` commands against the same directory; :class:`Client` keeps a ``hey``
sending requests through the sandbox for as long as a story lasts, and :func:`client_report`
reads what it saw. :func:`phase` and :func:`operator_log` read what a story checks most.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from serinus.loadtester.hey import HeyReport, parse_reports


def serinus(*args: str, timeout: float = 120, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``serinus ARGS`` with this Python, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "serinus", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )


@dataclasses.dataclass
class Sandbox:
    directory: pathlib.Path

    @property
    def kubeconfig(self) -> pathlib.Path:
        return self.directory / "kubeconfig"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def kubectl(self, *args: str, check: bool = True, timeout: float = 30) -> str:
        done = subprocess.run(
            ["kubectl", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        if check:
            assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
        return done.stdout

    def watch(self, *args: str) -> subprocess.Popen[str]:
        """``kubectl ARGS -w`` in the background, its output kept in a pipe."""
        return subprocess.Popen(
            ["kubectl", *args, "-w"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
        )

    def serinus(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``serinus ARGS --dir DIR`` (``--dir`` goes before a ``--``, if there is one)."""
        words = list(args)
        at = words.index("--") if "--" in words else len(words)
        words[at:at] = ["--dir", str(self.directory)]
        return serinus(*words, timeout=timeout)

    def json_log(self, *args: str) -> list[dict[str, Any]]:
        """The JSON lines of ``kubectl logs ARGS``."""
        lines = self.kubectl("logs", *args).splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@contextlib.contextmanager
def sandbox(directory: pathlib.Path, *options: str) -> Iterator[Sandbox]:
    """A running sandbox in ``directory`` (``options``: more for ``up``); stopped again,
    whatever happens."""
    started = serinus("sandbox", "up", "--dir", str(directory), "--detach", *options)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        box = Sandbox(directory)
        try:
            yield box
        except BaseException:
            print(diagnostics(box))  # shown by pytest with the failure
            raise
    finally:
        stopped = serinus("sandbox", "down", "--dir", str(directory))
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


DIAGNOSTICS = (
    ("get", "canaries,deployments,statefulsets,pods", "-A", "-o", "wide"),
    ("get", "events", "-A", "--sort-by=.lastTimestamp"),
    ("logs", "deployment/serinus", "-n", "serinus-system", "--tail", "80"),
)


def diagnostics(box: Sandbox) -> str:
    """What a failed story's reader needs first: the objects, the Events, the operator's log."""
    parts = []
    for args in DIAGNOSTICS:
        try:
            shown = box.kubectl(*args, check=False, timeout=10)
        except subprocess.TimeoutExpired:
            shown = "(timed out)"
        parts.append(f"--- kubectl {' '.join(args)}\n{shown[-12000:]}")
    return "\n".join(parts)


def stop(process: subprocess.Popen[str]) -> str:
    """Terminate a background kubectl and return what it printed."""
    process.terminate()
    output, _ = process.communicate(timeout=10)
    return output


def json_stream(text: str) -> list[dict[str, Any]]:
    """The JSON documents printed one after another (``kubectl get -w -o json``)."""
    decoder = json.JSONDecoder()
    found, index = [], 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return found
        document, index = decoder.raw_decode(text, index)
        found.append(document)


def wait_for(what: str, check: Any, within: float = 120) -> Any:
    """Poll ``check`` every half second until it returns something true, and return that."""
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {within}s"
        time.sleep(0.5)


def apply(box: Sandbox, manifest: dict[str, Any], directory: pathlib.Path) -> None:
    """``kubectl apply -f`` of one manifest, written as JSON into ``directory``."""
    path = directory / f"{manifest['kind'].lower()}.json"
    path.write_text(json.dumps(manifest))
    box.kubectl("apply", "-f", str(path))


def get(box: Sandbox, *what: str) -> dict[str, Any]:
    """``kubectl -n prod get WHAT -o json``."""
    return json.loads(box.kubectl("-n", "prod", "get", *what, "-o", "json"))


def phase(box: Sandbox, canary: str = "podinfo") -> str:
    """The phase of the Canary ``canary`` in ``prod`` (empty before it has a status)."""
    return box.kubectl("-n", "prod", "get", "canary", canary, "-o", "jsonpath={.status.phase}")


def operator_log(box: Sandbox) -> list[str]:
    """The messages of the operator's JSON log lines."""
    return [line["msg"] for line in box.json_log("deployment/serinus", "-n", "serinus-system")]


class Client:
    """hey sending GET ``url`` (10 requests per second) for as long as the story lasts."""

    def __init__(self, box: Sandbox, url: str = "http://podinfo.prod:9898/") -> None:
        words = ["hey", "-z", "10m", "-q", "10", "-c", "1", url]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "serinus", "sandbox", "shell", "--dir", str(box.directory),
             "--", *words],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip

    def stop(self) -> str:
        """Stop hey (SIGINT, so it prints its report) and return what it printed."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        output, _ = self.process.communicate(timeout=30)
        return output


def client_report(output: str) -> HeyReport:
    """The one hey report in a :class:`Client`'s output, its figures printed for the test log."""
    (report,) = parse_reports(output)
    print(
        f"client: {report.requests} requests, codes {report.status_codes},"
        f" failed {report.failed_requests}"
    )
    return report
