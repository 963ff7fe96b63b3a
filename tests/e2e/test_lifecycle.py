"""``serinus sandbox up --detach``, ``status``, ``shell`` and ``down``, as a user runs them.

Covers: ``up --detach`` returns with every part running and prints the ``export KUBECONFIG=``
line; the sandbox's processes (parts, pods) listen on the API, mesh, Prometheus, Service and pod
addresses; ``status`` names each part with its pid and port and the operator and load tester
Deployments with their pod addresses; a second ``up`` in the same directory is refused while the
first runs; ``shell`` resolves the seed's Service names (``load-tester``, ``load-tester.prod``)
through the mesh; ``down`` leaves no process carrying the sandbox's marker (a ``hey`` started
from ``shell`` included) and every port the sandbox listened on can be bound again; ``status``
and ``down`` on a stopped sandbox say so. A foreground ``up`` stops everything it started when
its terminal closes (SIGHUP) while it runs, and when Ctrl-C (SIGINT) comes while it starts.
"""

from __future__ import annotations

import pathlib
import signal
import socket
import subprocess
import sys
import time

import pytest

from serinus.sandbox.orchestration import processes, state
from tests.e2e.support import serinus

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def bindable(address: tuple[str, int]) -> bool:
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError:
            return False
    return True


def test_up_detach_then_down_leaves_no_process_and_no_port(tmp_path: pathlib.Path) -> None:
    directory = state.canonical(tmp_path / "sandbox")
    started = serinus("sandbox", "up", "--dir", str(directory), "--detach")
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        assert f"export KUBECONFIG={directory}/kubeconfig" in started.stdout
        recorded = state.load(directory)
        assert recorded is not None
        assert set(recorded.parts) == {"apiserver", "workloads", "mesh", "prometheus"}
        assert all(processes.alive(part.pid) for part in recorded.parts.values())

        status = serinus("sandbox", "status", "--dir", str(directory))
        assert status.returncode == 0, status.stderr
        for part in recorded.parts.values():
            assert str(part.pid) in status.stdout
        assert f"127.0.0.1:{recorded.parts['apiserver'].port}" in status.stdout
        for deployment in ("serinus-system", "serinus", "load-tester", "127.244."):
            assert deployment in status.stdout

        again = serinus("sandbox", "up", "--dir", str(directory), "--detach")
        assert again.returncode == 1
        assert "already runs" in again.stderr

        names = serinus(
            "sandbox", "shell", "--dir", str(directory), "--",
            "curl", "-s", "-m", "5", "http://load-tester/healthz", "http://load-tester.prod/healthz",
        )  # fmt: skip
        assert names.stdout == "OKOK", names.stdout + names.stderr
        # A command left running in the shell is the sandbox's too: down must end it.
        straggler = subprocess.Popen(
            [sys.executable, "-m", "serinus", "sandbox", "shell", "--dir", str(directory), "--",
             "hey", "-z", "5m", "-q", "1", "-c", "1", "http://load-tester/healthz"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # the shell carries the sandbox's marker once it has exec'd into the command: wait for it,
        # or `down` could look before there is anything to find
        deadline = time.monotonic() + 20
        while straggler.pid not in processes.marked(directory):
            assert time.monotonic() < deadline, "the shell never started its command"
            assert straggler.poll() is None, "the shell exited"
            time.sleep(0.05)

        ours = processes.marked(directory)
        listening = processes.listening(ours)
        wanted = {("127.0.0.1", part.port) for part in recorded.parts.values() if part.port}
        assert wanted <= listening, (wanted, listening)
        assert any(host.startswith("127.244.") for host, _ in listening), listening
        assert any(port == 80 for _, port in listening), listening
    finally:
        stopped = serinus("sandbox", "down", "--dir", str(directory))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "no process of the sandbox is left" in stopped.stdout
    straggler.wait(timeout=10)

    assert processes.marked(directory) == []
    assert not any(processes.alive(pid) for pid in ours)
    assert [address for address in listening if not bindable(address)] == []
    assert state.load(directory) is None

    after = serinus("sandbox", "status", "--dir", str(directory))
    assert after.returncode == 1
    assert "no sandbox" in after.stdout
    assert "no sandbox runs" in serinus("sandbox", "down", "--dir", str(directory)).stdout


def _foreground_up(directory: pathlib.Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "serinus", "sandbox", "up", "--dir", str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_until(process: subprocess.Popen[str], text: str) -> list[str]:
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        assert line, f"up exited before printing {text!r}: {''.join(seen)}"
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"up did not print {text!r} in time: {''.join(seen)}")


@pytest.mark.parametrize(
    ("when", "number"),
    [("Ctrl-C stops everything", signal.SIGHUP), ("API server starting", signal.SIGINT)],
    ids=["running-terminal-closed", "starting-ctrl-c"],
)
def test_a_foreground_up_stops_what_it_started_on_a_signal(
    tmp_path: pathlib.Path, when: str, number: signal.Signals
) -> None:
    directory = state.canonical(tmp_path / "sandbox")
    up = _foreground_up(directory)
    try:
        _read_until(up, when)
        up.send_signal(number)
        out, err = up.communicate(timeout=90)
    finally:
        if up.poll() is None:
            up.kill()
            serinus("sandbox", "down", "--dir", str(directory))
    if number is signal.SIGHUP:
        assert up.returncode == 0, out + err
        assert "no process of the sandbox is left" in out
    else:
        assert up.returncode == 1, out + err
        assert "interrupted; what was started is stopped" in err
    assert processes.marked(directory) == []
    assert state.load(directory) is None
