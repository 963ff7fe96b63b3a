"""One run of a container: a local process in its own session, its output in a log file.

Each process starts a new session (``start_new_session``), so its process group holds everything
it starts that does not move elsewhere, and :func:`terminate` signals the whole group: SIGTERM,
then SIGKILL when the grace period is over, as the kubelet does with a container. (Pod commands
also run as PID 1 of their own PID namespace, see :mod:`serinus.sandbox.names`, which catches the
processes that leave the group.) stdout and stderr go straight to the run's log file: the runner
holds no pipe, so a chatty process costs it nothing and a slow reader cannot block the process.

Each run is started under a small shell, the sandbox's containerd-shim: it leads the session,
waits for the container's command and writes its exit code to the run's ``<n>.exit`` file
before it exits itself. It ignores nothing (a trap runs ``:``; handlers do not pass to the
command it starts, as an ignored signal would), so SIGTERM to the group still reaches the
command, while the shim itself lives on to record how the command ended. That is what lets a
runner that was killed and started again (see :mod:`adoption`) take over a container whose
process outlived it and still learn its exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pathlib
import signal
from collections.abc import Mapping, Sequence
from typing import Protocol

logger = logging.getLogger(__name__)


_SHIM = 'trap : HUP INT TERM; "$@"; code=$?; echo "$code" > "$0"; exit "$code"'


def shimmed(command: Sequence[str], exit_file: pathlib.Path) -> list[str]:
    """``command`` under the shim that writes its exit code to ``exit_file``."""
    return ["sh", "-c", _SHIM, str(exit_file), *command]


async def spawn(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: pathlib.Path,
    log: pathlib.Path,
    exit_file: pathlib.Path | None = None,
) -> asyncio.subprocess.Process:
    """Start ``command`` with its output appended to ``log`` (under the shim with ``exit_file``)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    words = shimmed(command, exit_file) if exit_file is not None else list(command)
    with log.open("ab") as output:
        return await asyncio.create_subprocess_exec(
            *words,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
        )


class Running(Protocol):
    """A container's process: started here, or adopted from a runner before (see adoption)."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int: ...


def signal_group(process: Running, number: signal.Signals) -> None:
    """Send ``number`` to the process's whole group (nothing when it is gone)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, number)


async def terminate(process: Running, grace: float) -> int:
    """SIGTERM the process group, SIGKILL it after ``grace`` seconds; the exit code."""
    signal_group(process, signal.SIGTERM)
    try:
        code = await asyncio.wait_for(process.wait(), timeout=max(grace, 0))
    except TimeoutError:
        logger.info("process %d outlived its %.0fs grace period: SIGKILL", process.pid, grace)
        signal_group(process, signal.SIGKILL)
        code = await process.wait()
    signal_group(process, signal.SIGKILL)  # whatever of the group is left
    await _group_gone(process.pid)
    return code


async def _group_gone(group: int, within: float = 5.0) -> None:
    """Wait until no live process is left in ``group`` (the shim dies first; what it ran takes a
    few milliseconds more to go after SIGKILL)."""
    for _ in range(int(within / 0.01)):
        if not _members(group):
            return
        await asyncio.sleep(0.01)


def _members(group: int) -> bool:
    """Whether a live (not zombie) process of ``group`` exists."""
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] not in ("Z", "X") and fields[2] == str(group):
            return True
    return False


def exit_code(code: int) -> int:
    """A shell-style exit code: 128 + N for a process killed by signal N."""
    return 128 - code if code < 0 else code
