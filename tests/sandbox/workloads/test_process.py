"""Container processes (covers ``serinus/sandbox/workloads/process.py``).

Covers: output (stdout and stderr) is appended to the log file across runs; ``terminate`` ends a
process that honours SIGTERM at once, and one that ignores it with SIGKILL after the grace
period; either way nothing of its process group is left; exit codes of killed processes read
as 128 + signal.
"""

from __future__ import annotations

import os
import pathlib
import signal

from serinus.sandbox.workloads.process import exit_code, spawn, terminate
from tests.sandbox.workloads.support import eventually

ENV = {"PATH": "/usr/bin:/bin"}


def group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process of the group is left."""
    for name in os.listdir("/proc"):
        try:
            stat = pathlib.Path(f"/proc/{name}/stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if name.isdigit() and fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def read(path: pathlib.Path) -> str:
    return path.read_text()


async def logged(log: pathlib.Path, text: str) -> bool:
    return text in read(log)


async def test_output_goes_to_the_log(tmp_path: pathlib.Path) -> None:
    log = tmp_path / "app" / "0.log"
    for word in ("out", "again"):
        script = f"echo {word}; echo err >&2"
        process = await spawn(["sh", "-c", script], env=ENV, cwd=tmp_path, log=log)
        assert await process.wait() == 0
    assert log.read_text() == "out\nerr\nagain\nerr\n"


async def test_sigterm_then_sigkill_for_the_whole_group(tmp_path: pathlib.Path) -> None:
    log = tmp_path / "0.log"
    polite = await spawn(["sh", "-c", "sleep 30 & wait"], env=ENV, cwd=tmp_path, log=log)
    code = await terminate(polite, grace=10)
    assert exit_code(code) == 128 + signal.SIGTERM
    assert not group_alive(polite.pid)
    script = "trap '' TERM; echo trapped; sleep 30 & wait; sleep 30"
    stubborn = await spawn(["sh", "-c", script], env=ENV, cwd=tmp_path, log=log)
    await eventually(lambda: logged(log, "trapped"), what="the trap")  # a TERM before ends it
    code = await terminate(stubborn, grace=0.2)
    assert exit_code(code) == 128 + signal.SIGKILL
    assert not group_alive(stubborn.pid)
