"""Running one command as a child process that can always be stopped, with its output captured.

Every command starts in a new session, so it leads its own process group: ``sh -c "hey ...;
sleep 5"`` has a shell *and* its children, and killing only the shell would leave hey hammering
the canary after a timeout or a shutdown. Stopping a command therefore signals the whole group:
SIGTERM, a short grace period, then SIGKILL. :class:`ProcessGroups` remembers the groups still
running so the load tester can stop all of them when it receives SIGTERM.

Output is kept up to :data:`OUTPUT_LIMIT` bytes per stream and the rest is read and dropped, so a
chatty command can neither fill memory nor block on a full pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import os
import pathlib
import signal
from collections.abc import Sequence

_log = logging.getLogger(__name__)

OUTPUT_LIMIT = 1024 * 1024
"""Bytes of stdout (and of stderr) kept per command."""

KILL_GRACE_SECONDS = 2.0
"""Time between SIGTERM and SIGKILL when a command is stopped."""

GROUP_EXIT_SECONDS = 2.0
"""How long stopping a command waits for the group's last members to exit after SIGKILL."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a command ended. ``exit_code`` is negative when a signal ended it (asyncio's rule)."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    start_error: str = ""
    """Why the command could not be started at all (e.g. the program is not installed)."""
    error: str = ""
    """Why a task that runs no process (a remote test service) failed."""

    @classmethod
    def succeeded(cls, output: str = "") -> Outcome:
        """A task without a process that went well."""
        return cls(exit_code=0, stdout=output, stderr="")

    @classmethod
    def failed(cls, reason: str, *, timed_out: bool = False) -> Outcome:
        """A task without a process that went wrong, and why."""
        return cls(exit_code=None, stdout="", stderr="", timed_out=timed_out, error=reason)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.error

    def failure(self) -> str:
        """Why the command failed, for logs and 500 bodies; empty when it did not."""
        if self.error:
            return self.error
        if self.start_error:
            return f"could not start: {self.start_error}"
        if self.timed_out:
            reason = "timed out and was killed"
        elif self.exit_code is not None and self.exit_code < 0:
            reason = f"killed by signal {-self.exit_code}"
        elif self.exit_code:
            reason = f"exit code {self.exit_code}"
        else:
            return ""
        detail = self.stderr.strip() or self.stdout.strip()
        return f"{reason}: {detail}" if detail else reason


class _Capture:
    """Reads a stream to its end and keeps its first :data:`OUTPUT_LIMIT` bytes."""

    def __init__(self) -> None:
        self.data = bytearray()

    async def drain(self, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        while chunk := await stream.read(65536):
            room = OUTPUT_LIMIT - len(self.data)
            if room > 0:
                self.data += chunk[:room]

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


class ProcessGroups:
    """Starts commands in their own process groups and can stop every one still running."""

    def __init__(self) -> None:
        self._live: set[asyncio.subprocess.Process] = set()
        self._stopping = False

    async def run(self, argv: Sequence[str], *, time_limit: float) -> Outcome:
        """Run ``argv`` to completion or until ``time_limit`` seconds pass, then stop its group.

        Cancelling the caller also stops the group, so no command outlives the task that ran it.
        """
        spawn = asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        )
        try:
            process = await asyncio.shield(spawn)
        except OSError as error:
            return Outcome(exit_code=None, stdout="", stderr="", start_error=str(error))
        except asyncio.CancelledError:
            # Cancelled while the child was being started: it must not outlive this call.
            with contextlib.suppress(OSError):
                await _stop_group(await spawn)
            raise
        self._live.add(process)
        if self._stopping:  # stop_all ran while this child was being started
            await _stop_group(process)
        stdout, stderr = _Capture(), _Capture()
        timed_out = False
        try:
            async with asyncio.timeout(time_limit):
                await asyncio.gather(stdout.drain(process.stdout), stderr.drain(process.stderr))
                await process.wait()
        except TimeoutError:
            timed_out = True
            await _stop_group(process)
        except asyncio.CancelledError:
            await _stop_group(process)
            raise
        finally:
            self._live.discard(process)
        return Outcome(
            exit_code=process.returncode,
            stdout=stdout.text(),
            stderr=stderr.text(),
            timed_out=timed_out,
        )

    async def stop_all(self) -> None:
        """Stop every command still running (SIGTERM to its group, then SIGKILL), and any that
        was being started; commands started later are stopped at once."""
        self._stopping = True
        live = list(self._live)
        if live:
            _log.info("Stopping %d running command(s)", len(live))
        await asyncio.gather(*(_stop_group(process) for process in live))


async def _stop_group(process: asyncio.subprocess.Process) -> None:
    """SIGTERM the process group, wait a little for the leader, then SIGKILL what is left."""
    _signal_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(KILL_GRACE_SECONDS):
            await process.wait()
    # Members that ignored SIGTERM (or outlived their shell) still hold the group.
    _signal_group(process.pid, signal.SIGKILL)
    await process.wait()
    await _group_gone(process.pid)


async def _group_gone(group: int) -> None:
    """Wait (at most :data:`GROUP_EXIT_SECONDS`) until no member of ``group`` still runs.

    A signal is delivered when its target is next scheduled: on a busy machine a background
    child may still be running for a moment after its shell has been reaped. Members already
    dead but not yet reaped by their new parent count as gone.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(GROUP_EXIT_SECONDS):
            for pause in itertools.repeat(0.02):
                if not _group_running(group):
                    return
                await asyncio.sleep(pause)


def _group_running(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    proc = pathlib.Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group and fields[0] != "Z":
                return True
    return False


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)
