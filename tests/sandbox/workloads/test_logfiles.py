"""``kubectl logs`` from the pod log files (covers ``serinus/sandbox/workloads/logfiles.py`` and
the file layout of ``layout.py``).

Covers: the latest run by default and the one before with ``previous``; ``tail_lines`` and
``limit_bytes``; no logs (None) for an unknown pod or a first run asked for ``previous``; ``follow``
streams what is appended and ends when the run's exit file appears, or when the pod directory
is removed.
"""

from __future__ import annotations

import asyncio
import pathlib
import shutil

from serinus.sandbox.apiserver import LogRequest
from serinus.sandbox.workloads import PodLogs, SandboxDir


def request(**fields) -> LogRequest:
    return LogRequest(namespace="prod", pod="web-1", container="app", **fields)


def write_run(layout: SandboxDir, run: int, text: str, *, ended: bool = True) -> pathlib.Path:
    path = layout.log("prod", "web-1", "app", run)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if ended:
        layout.exit_file("prod", "web-1", "app", run).write_text("0\n")
    return path


async def read(stream) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def test_latest_previous_tail_and_limit(tmp_path: pathlib.Path) -> None:
    layout = SandboxDir(tmp_path)
    logs = PodLogs(layout)
    assert logs(request()) is None
    write_run(layout, 0, "first\n")
    assert logs(request(previous=True)) is None
    write_run(layout, 1, "a\nb\nc\n")
    assert layout.runs("prod", "web-1", "app") == [0, 1]
    assert await read(logs(request())) == b"a\nb\nc\n"
    assert await read(logs(request(previous=True))) == b"first\n"
    assert await read(logs(request(tail_lines=2))) == b"b\nc\n"
    assert await read(logs(request(limit_bytes=3))) == b"a\nb"
    assert await read(logs(request(follow=True))) == b"a\nb\nc\n"


async def test_follow_streams_until_the_run_ends(tmp_path: pathlib.Path) -> None:
    layout = SandboxDir(tmp_path)
    path = write_run(layout, 0, "start\n", ended=False)
    stream = PodLogs(layout, poll=0.01)(request(follow=True))
    assert stream is not None
    reader = asyncio.create_task(read(stream))
    await asyncio.sleep(0.05)
    with path.open("a") as handle:
        handle.write("more\n")
    await asyncio.sleep(0.05)
    assert not reader.done()
    layout.exit_file("prod", "web-1", "app", 0).write_text("1\n")
    assert await asyncio.wait_for(reader, 5) == b"start\nmore\n"


async def test_follow_ends_when_the_pod_goes(tmp_path: pathlib.Path) -> None:
    layout = SandboxDir(tmp_path)
    write_run(layout, 0, "start\n", ended=False)
    stream = PodLogs(layout, poll=0.01)(request(follow=True))
    reader = asyncio.create_task(read(stream))
    await asyncio.sleep(0.05)
    shutil.rmtree(layout.pod("prod", "web-1"))
    assert await asyncio.wait_for(reader, 5) == b"start\n"
