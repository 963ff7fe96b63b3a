"""``serinus sandbox up --detach``: a supervisor process that starts the sandbox and stays.

Something must restart the parts once ``up`` has returned. :func:`launch` starts the hidden
``serinus sandbox part supervisor`` in a session of its own, with a pipe to tell ``up`` how the
start goes. That process starts the sandbox itself, so that it is the parent of every part and
learns how each one ends, then supervises them
(:class:`~serinus.sandbox.orchestration.supervisor.Supervisor`) until ``down`` stops it; its
output goes to ``<dir>/logs/supervisor.log``.

Over the pipe go lines ``progress <text>``, then ``ready`` or ``failed <message>``
(:class:`Reporter` writes them); :func:`follow` prints the progress and returns, or raises with
the message. When ``up`` is interrupted while the sandbox starts, it SIGTERMs the supervisor,
which stops what it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import pathlib
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence

from serinus.errors import SerinusError
from serinus.sandbox.orchestration import parts, processes, state

Progress = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Launched:
    process: subprocess.Popen[bytes]
    reading: int
    """The read end of the progress pipe."""
    log: pathlib.Path


def launch(
    directory: pathlib.Path, *, environment: Mapping[str, str], options: Sequence[str] = ()
) -> Launched:
    """Start the supervisor process for the sandbox in ``directory`` (``options``: more words
    for ``serinus sandbox part supervisor``, such as ``--gitops DIR``)."""
    reading, writing = os.pipe()
    command = parts.serinus_command(
        "sandbox", "part", "supervisor", "--dir", str(directory), "--progress-fd", str(writing),
        *options,
    )  # fmt: skip
    log = directory / "logs" / "supervisor.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**environment, state.MARKER: str(directory), "PYTHONUNBUFFERED": "1"}
    try:
        with log.open("ab") as output:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=directory,
                start_new_session=True,
                pass_fds=(writing,),
            )
    except BaseException:
        os.close(reading)
        raise
    finally:
        os.close(writing)
    return Launched(process, reading, log)


async def follow(launched: Launched, progress: Progress, stop: asyncio.Event) -> None:
    """Relay the supervisor's progress until the sandbox is ready.

    Raises:
        SerinusError: the start failed (with its message), the supervisor died (with the end of
            its log), or ``stop`` came first (the supervisor stops what it started; this waits).
    """
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    reader = loop.run_in_executor(None, _read, launched.reading, loop, lines)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while True:
            getting = asyncio.ensure_future(lines.get())
            await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not getting.done():
                getting.cancel()
                processes.signal_group(launched.process.pid, signal.SIGTERM)
                await asyncio.to_thread(launched.process.wait)
                raise SerinusError("interrupted; what was started is stopped")
            line = getting.result()
            if line is None:
                await asyncio.to_thread(launched.process.wait)
                raise SerinusError(f"the sandbox's supervisor exited{_tail(launched.log)}")
            word, _, text = line.partition(" ")
            if word == "ready":
                return
            if word == "failed":
                raise SerinusError(text.replace(" | ", "\n"))
            progress(text)
    finally:
        stopping.cancel()
        await reader


def _read(fd: int, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    with open(fd, encoding="utf-8", errors="replace") as pipe:
        for line in pipe:
            loop.call_soon_threadsafe(lines.put_nowait, line.rstrip("\n"))
    loop.call_soon_threadsafe(lines.put_nowait, None)


def _tail(log: pathlib.Path, lines: int = 15) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return f"\n--- last lines of {log} ---\n" + "\n".join(text) if text else ""


class Reporter:
    """The supervisor's end of the pipe: ``progress``, then ``ready`` or ``failed``."""

    def __init__(self, fd: int) -> None:
        self._pipe = open(fd, "w", buffering=1, encoding="utf-8")  # noqa: SIM115

    def _say(self, word: str, text: str = "") -> None:
        if self._pipe.closed:
            return
        with contextlib.suppress(OSError):  # up went away: nobody listens any more
            self._pipe.write(f"{word} {text.replace(chr(10), ' | ')}".rstrip() + "\n")

    def progress(self, text: str) -> None:
        self._say("progress", text)

    def ready(self) -> None:
        self._say("ready")
        self.close()

    def failed(self, message: str) -> None:
        self._say("failed", message)
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._pipe.close()
