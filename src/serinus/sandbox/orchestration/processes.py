"""The sandbox's processes as the kernel sees them: start, find, stop, and the sockets they hold.

``up`` starts each part with :func:`spawn`: in a new session (so its pid is its process group
and a Ctrl-C in the terminal reaches ``up`` alone, which then stops the parts in order), output
appended to a log file, and the environment variable :data:`~state.MARKER` naming the sandbox
directory. Pods inherit it from the workload runner, and what pods start (``hey`` run by the
load tester) inherits it from them, so :func:`marked` finds every process of one sandbox by
reading ``/proc/<pid>/environ``, whoever its parent is now. ``down`` uses it to make sure nothing
is left; :func:`listening` tells which TCP ports those processes hold, for ``status`` and for the
tests that check ``down`` frees them all.

Linux only, like the rest of the sandbox (private mount namespaces need it anyway).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence

from serinus.sandbox.orchestration.state import MARKER

_PROC = pathlib.Path("/proc")


def spawn(
    command: Sequence[str],
    *,
    log: pathlib.Path,
    directory: pathlib.Path,
    env: Mapping[str, str],
) -> int:
    """Start ``command`` in its own session, with ``env`` and the sandbox marker; its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    environment = dict(env)
    environment[MARKER] = str(directory)
    environment["PYTHONUNBUFFERED"] = "1"
    with log.open("ab") as output:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=directory,
            start_new_session=True,
        )
    # Nobody waits for it here: a foreground `up` reaps it in stop(), a detached one leaves it to
    # init. Popen keeps no reference that would warn about it.
    process.returncode = 0
    return process.pid


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        fields = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return fields[0] not in ("Z", "X")


def reap(pid: int) -> None:
    """Collect the exit status of a child of this process, if it is one and has ended."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def signal_group(pid: int, number: signal.Signals) -> None:
    """Signal the process group led by ``pid`` (and ``pid`` itself, should it have left it)."""
    for send in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            send(pid, number)


def stop(pids: Iterable[int], *, grace: float) -> list[int]:
    """SIGTERM each process group, wait up to ``grace`` seconds, SIGKILL the rest.

    Returns the pids that had to be killed.
    """
    pids = [pid for pid in pids if alive(pid)]
    for pid in pids:
        signal_group(pid, signal.SIGTERM)
    killed = []
    if not _wait_gone(pids, grace):
        for pid in pids:
            if alive(pid):
                killed.append(pid)
                signal_group(pid, signal.SIGKILL)
        _wait_gone(pids, 5.0)
    for pid in pids:
        signal_group(pid, signal.SIGKILL)  # whatever of the group is left
        reap(pid)
    return killed


def _wait_gone(pids: Sequence[int], within: float) -> bool:
    deadline = time.monotonic() + within
    while True:
        for pid in pids:
            reap(pid)
        if not any(alive(pid) for pid in pids):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def marked(directory: pathlib.Path) -> list[int]:
    """Live processes carrying the marker of the sandbox in ``directory`` (never this one)."""
    wanted = f"{MARKER}={directory}".encode()
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if wanted in environ.split(b"\0") and alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def kill_marked(directory: pathlib.Path, *, within: float = 5.0) -> list[int]:
    """SIGKILL every process of the sandbox still there; the pids found."""
    found = marked(directory)
    for pid in found:
        signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + within
    while marked(directory) and time.monotonic() < deadline:
        for pid in found:
            reap(pid)
        time.sleep(0.05)
    return found


def listening(pids: Iterable[int]) -> set[tuple[str, int]]:
    """The TCP ``(address, port)`` pairs the processes listen on (IPv4 and IPv6)."""
    inodes: set[str] = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in (_PROC / str(pid) / "fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    found: set[tuple[str, int]] = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        with contextlib.suppress(OSError):
            for line in (_PROC / "net" / table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    found.add(_address(fields[1], family))
    return found


def _address(hex_address: str, family: socket.AddressFamily) -> tuple[str, int]:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    # /proc/net/tcp prints each 32-bit word in host (little-endian) order.
    raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(family, raw), int(port, 16)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (bind to port 0, read it back, release it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
