"""Containers that outlive their runner: what each run left on disk, and taking it over.

A kubelet that restarts does not restart the containers: the container runtime kept them
running, and the new kubelet finds them and carries on. The sandbox's runtime is the pod
directory. When a container's run starts, the runner writes ``<container>/<n>.pid`` with the
pod's uid, the process's pid and its start time as the kernel counts it (so a pid used again by
another process is not mistaken for it), and the shim (:mod:`process`) writes ``<n>.exit`` when
the run ends, whether a runner is there or not.

A runner started after another one was killed asks :func:`latest` for the last run of each
container of each pod it is given. A run whose process still runs is wrapped in
:class:`Adopted`, which the container worker watches, probes and stops as it would a process it
started; a run that ended while no runner was there reports its exit code (137 when even the
shim was killed, as for SIGKILL), and the restart policy decides what comes next. The restart
count goes on from the last run's number, as the kubelet counts it from the log directory when
the runtime forgot.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import pathlib
import signal

from serinus.sandbox.workloads.layout import SandboxDir

KILLED = 137
"""The exit code of a run whose shim was killed too (no exit file): SIGKILL's."""


@dataclasses.dataclass(frozen=True)
class Run:
    """The last run of a container, as the pod directory tells it."""

    number: int
    pid: int
    started_at: str
    alive: bool
    exit_code: int | None
    """The code the shim wrote, when the run has ended and it could."""


@dataclasses.dataclass(frozen=True)
class PodRef:
    namespace: str
    name: str
    uid: str


def record(layout: SandboxDir, pod: PodRef, container: str, run: int, pid: int, at: str) -> None:
    """Note that ``run`` of ``container`` started as process ``pid`` at ``at``."""
    line = f"{pod.uid} {pid} {_start_ticks(pid)} {at}\n"
    _pid_file(layout, pod, container, run).write_text(line)


def latest(layout: SandboxDir, pod: PodRef, container: str) -> Run | None:
    """The container's last recorded run in this pod (same uid), or None."""
    folder = layout.pod(pod.namespace, pod.name) / container
    try:
        numbers = [int(path.stem) for path in folder.glob("*.pid") if path.stem.isdigit()]
    except OSError:
        return None
    if not numbers:
        return None
    number = max(numbers)
    try:
        uid, pid, ticks, at = _pid_file(layout, pod, container, number).read_text().split()
    except (OSError, ValueError):
        return None
    if uid != pod.uid:
        return None
    exit_file = layout.exit_file(pod.namespace, pod.name, container, number)
    alive = not exit_file.exists() and _start_ticks(int(pid)) == ticks
    return Run(number, int(pid), at, alive, None if alive else _exit_code(exit_file))


def running(layout: SandboxDir, pod: PodRef) -> bool:
    """Whether a process of ``pod`` (any container) still runs."""
    folder = layout.pod(pod.namespace, pod.name)
    containers = (
        [path.name for path in folder.iterdir() if path.is_dir()] if folder.is_dir() else []
    )
    return any((run := latest(layout, pod, name)) is not None and run.alive for name in containers)


def _recorded(layout: SandboxDir) -> dict[PodRef, set[int]]:
    """Every pod with a recorded run in the sandbox's directory, and its live pids."""
    found: dict[PodRef, set[int]] = {}
    for pid_file in (layout.root / "pods").glob("*/*/*/*.pid"):
        namespace, pod = pid_file.parts[-4], pid_file.parts[-3]
        try:
            uid, pid, ticks, _ = pid_file.read_text().split()
        except (OSError, ValueError):
            continue
        pids = found.setdefault(PodRef(namespace, pod, uid), set())
        exit_file = pid_file.with_suffix(".exit")
        if not exit_file.exists() and _start_ticks(int(pid)) == ticks:
            pids.add(int(pid))
    return found


def leftovers(layout: SandboxDir, known: set[tuple[str, str, str]]) -> list[tuple[PodRef, int]]:
    """Live processes of pods that are not ``known`` (namespace, name, uid) any more."""
    return [
        (ref, pid)
        for ref, pids in _recorded(layout).items()
        if (ref.namespace, ref.name, ref.uid) not in known
        for pid in sorted(pids)
    ]


def abandoned(layout: SandboxDir, known: set[tuple[str, str, str]]) -> list[PodRef]:
    """Pod directories that belong to no ``known`` pod (its runs are all another uid's)."""
    names = {(namespace, name): uid for namespace, name, uid in known}
    found = []
    for folder in (layout.root / "pods").glob("*/*"):
        namespace, pod = folder.parts[-2], folder.parts[-1]
        uids = {
            ref.uid for ref in _recorded(layout) if (ref.namespace, ref.name) == (namespace, pod)
        }
        current = names.get((namespace, pod))
        if current is None or (uids and current not in uids):
            found.append(PodRef(namespace, pod, current or ""))
    return found


async def kill(pid: int, *, grace: float) -> None:
    """SIGTERM the process group of ``pid``; SIGKILL once ``grace`` seconds are over."""
    for number in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, number)
        try:
            await asyncio.wait_for(_gone(pid), timeout=grace)
        except TimeoutError:
            continue
        return


class Adopted:
    """A run's process that this runner did not start: waited for, signalled by pid."""

    def __init__(self, run: Run, exit_file: pathlib.Path) -> None:
        self.pid = run.pid
        self.returncode: int | None = None
        self._exit_file = exit_file

    async def wait(self) -> int:
        if self.returncode is None:
            await _gone(self.pid)
            code = _exit_code(self._exit_file)
            self.returncode = KILLED if code is None else code
        return self.returncode


async def _gone(pid: int) -> None:
    """Return once ``pid`` has ended: a pidfd (Linux 5.3) turns readable then."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ended.done():
            ended.set_result(None)

    loop.add_reader(handle, readable)
    try:
        await ended
    finally:
        loop.remove_reader(handle)
        os.close(handle)


def _pid_file(layout: SandboxDir, pod: PodRef, container: str, run: int) -> pathlib.Path:
    return layout.pod(pod.namespace, pod.name) / container / f"{run}.pid"


def _exit_code(path: pathlib.Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(path.read_text().strip())
    return None


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks after boot ('' when it is gone or a zombie)."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return "" if fields[0] in ("Z", "X") else fields[19]
