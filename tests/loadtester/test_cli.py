"""``serinus loadtester`` as a real process (covers ``serinus/cli/loadtester.py``).

Covers:
- a gate opened over HTTP is still open after the process is killed with SIGKILL (no chance to
  save anything at exit) and started again on the same ``--state`` file;
- SIGTERM stops the running commands' process groups and the process exits 0;
- the listening address is logged as a JSON line (``--port 0`` picks a free port);
- bad flags exit 2 naming the flag (``--namespace-regexp`` that is not a regexp, a ``--timeout``
  that is not a duration); a state file that is not gate state exits 1 naming the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import pathlib
import re
import signal
import sys
from collections.abc import AsyncIterator

import httpx
import pytest

PODINFO = {"name": "podinfo", "namespace": "test"}
START_SECONDS = 30.0


class Process:
    def __init__(self, process: asyncio.subprocess.Process, base: str, lines: list[str]) -> None:
        self.process = process
        self.base = base
        self.lines = lines


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "serinus", "loadtester", *args]


async def _drain(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while line := await stream.readline():
        lines.append(line.decode())


@contextlib.asynccontextmanager
async def running_loadtester(state: pathlib.Path) -> AsyncIterator[Process]:
    process = await asyncio.create_subprocess_exec(
        *command("--host", "127.0.0.1", "--port", "0", "--state", str(state)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    lines: list[str] = []
    drain = asyncio.create_task(_drain(process.stderr, lines))
    try:
        async with asyncio.timeout(START_SECONDS):
            while not any("Load tester listening on" in line for line in lines):
                if process.returncode is not None or drain.done():
                    pytest.fail("serinus loadtester exited:\n" + "".join(lines))
                await asyncio.sleep(0.05)
        [listening] = [json.loads(line) for line in lines if "Load tester listening" in line]
        address = re.search(r"http://\S+", listening["msg"])
        assert address is not None
        yield Process(process, address.group(0), lines)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        await drain


async def test_an_opened_gate_survives_a_killed_process(tmp_path):
    state = tmp_path / "gates.json"
    async with httpx.AsyncClient() as client:
        async with running_loadtester(state) as first:
            assert (await client.post(first.base + "/gate/check", json=PODINFO)).status_code == 403
            assert (await client.post(first.base + "/gate/open", json=PODINFO)).status_code == 202
            first.process.send_signal(signal.SIGKILL)
            await first.process.wait()

        async with running_loadtester(state) as second:
            check = await client.post(second.base + "/gate/check", json=PODINFO)
            other = await client.post(second.base + "/gate/check", json={**PODINFO, "name": "x"})

    assert check.status_code == 200
    assert other.status_code == 403


async def test_sigterm_stops_running_commands_and_exits_zero(
    tmp_path, process_alive, wait_for_file
):
    child = tmp_path / "child"
    payload = {**PODINFO, "metadata": {"cmd": f"sleep 60 & echo $! > {child}; wait"}}
    async with httpx.AsyncClient() as client, running_loadtester(tmp_path / "g.json") as tester:
        assert (await client.post(tester.base + "/", json=payload)).status_code == 202
        pid = int(await wait_for_file(child))
        tester.process.send_signal(signal.SIGTERM)
        exit_code = await tester.process.wait()

    assert exit_code == 0
    assert not process_alive(pid)


async def run_cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command(*args), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--namespace-regexp", "(unclosed"], "--namespace-regexp"),
        (["--allow-command", "hey [", "--allow-command", "ok"], "--allow-command"),
        (["--timeout", "soon"], "--timeout"),
    ],
)
async def test_bad_flags_exit_2_naming_the_flag(tmp_path, args, expected):
    exit_code, output = await run_cli("--state", str(tmp_path / "g.json"), "--port", "0", *args)

    assert exit_code == 2
    assert expected in output


async def test_a_state_file_that_is_not_gate_state_exits_1_naming_it(tmp_path):
    state = tmp_path / "gates.json"
    state.write_text("{broken")

    exit_code, output = await run_cli("--state", str(state), "--port", "0")

    assert exit_code == 1
    assert str(state) in output


async def test_help_documents_the_port_default():
    exit_code, output = await run_cli("--help")

    assert exit_code == 0
    assert "8080" in output
    assert "9090" in output
