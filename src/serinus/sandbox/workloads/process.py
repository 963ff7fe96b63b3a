"""One run of a container: a local process in its own session, its output in a log file.

Each process starts a new session (``start_new_session``), so its process group holds everything
it starts that does not move elsewhere, and :func:`terminate` signals the whole group: SIGTERM,
then SIGKILL when the grace period is over, as the kubelet does with a container. (Pod commands
also run as PID 1 of their own PID namespace, see :mod:`serinus.sandbox.names`, which catches the
processes that leave the group.) stdout and stderr go straight to the run's log file: the runner
holds no pipe, so a chatty process costs it nothing and a slow reader cannot block the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pathlib
import signal
from collections.abc import Mapping, Sequence

logger = logging.getLogger(__name__)


async def spawn(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: pathlib.Path,
    log: pathlib.Path,
) -> asyncio.subprocess.Process:
    """Start ``command`` with its output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        return await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
        )


def signal_group(process: asyncio.subprocess.Process, number: signal.Signals) -> None:
    """Send ``number`` to the process's whole group (nothing when it is gone)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, number)


async def terminate(process: asyncio.subprocess.Process, grace: float) -> int:
    """SIGTERM the process group, SIGKILL it after ``grace`` seconds; the exit code."""
    signal_group(process, signal.SIGTERM)
    try:
        code = await asyncio.wait_for(process.wait(), timeout=max(grace, 0))
    except TimeoutError:
        logger.info("process %d outlived its %.0fs grace period: SIGKILL", process.pid, grace)
        signal_group(process, signal.SIGKILL)
        code = await process.wait()
    signal_group(process, signal.SIGKILL)  # whatever of the group is left
    return code


def exit_code(code: int) -> int:
    """A shell-style exit code: 128 + N for a process killed by signal N."""
    return 128 - code if code < 0 else code
