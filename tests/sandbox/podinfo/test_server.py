"""``serinus sandbox podinfo`` as a real process (covers ``serinus/sandbox/podinfo/server.py`` and
the ``podinfo`` command of ``serinus/cli/sandbox.py``).

Covers:
- the bound address is logged (``--port 0``); ``HOSTNAME`` and ``PODINFO_UI_*`` variables set the
  hostname, colour and message, as with podinfo;
- every request is one JSON line on stdout with method, uri, status and duration;
- SIGTERM ends it with exit code 0, after 3 seconds of answering (unready) as podinfo does, so a
  pod being replaced still serves what the mesh sends it; ``--level debug`` stops at once; a port
  already in use exits 1 naming the address.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys

import httpx


async def _start(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "serinus",
        "sandbox",
        "podinfo",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **env},
    )


async def _bound_url(process: asyncio.subprocess.Process) -> str:
    assert process.stderr is not None
    while line := await asyncio.wait_for(process.stderr.readline(), timeout=20):
        found = re.search(r"listening on (http://[0-9.]+:[0-9]+)", line.decode())
        if found:
            return found.group(1)
    raise AssertionError("podinfo exited before listening")


async def test_process_serves_logs_requests_and_stops_on_sigterm() -> None:
    env = {"HOSTNAME": "podinfo-abc", "PODINFO_UI_COLOR": "red", "PODINFO_UI_MESSAGE": "hi"}
    process = await _start("--port", "0", "--version", "2.1.1", env=env)
    try:
        url = await _bound_url(process)
        async with httpx.AsyncClient(base_url=url) as client:
            info = (await client.get("/")).json()
            assert (await client.get("/status/500")).status_code == 500
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 0
    assert (info["hostname"], info["version"], info["color"], info["message"]) == (
        "podinfo-abc",
        "2.1.1",
        "red",
        "hi",
    )
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert [(line["method"], line["uri"], line["status"]) for line in lines] == [
        ("GET", "/", 200),
        ("GET", "/status/500", 500),
    ]
    assert all(line["duration"] >= 0 and line["msg"] == "request completed" for line in lines)


async def test_sigterm_drains_for_three_seconds_then_stops() -> None:
    process = await _start("--port", "0", env={})
    url = await _bound_url(process)
    async with httpx.AsyncClient(base_url=url) as client:
        process.send_signal(signal.SIGTERM)
        # it cannot close before 3 s after handling the signal, which comes after sending it
        await asyncio.sleep(1.0)
        assert (await client.get("/readyz")).status_code == 503
        assert (await client.get("/")).status_code == 200  # still answers while unready
        await asyncio.wait_for(process.wait(), timeout=20)
    assert process.returncode == 0


async def test_debug_level_stops_without_draining() -> None:
    process = await _start("--port", "0", "--level", "debug", env={})
    url = await _bound_url(process)
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), timeout=20)
    async with httpx.AsyncClient(base_url=url) as client:
        try:
            await client.get("/")
        except httpx.ConnectError:
            pass
        else:
            raise AssertionError("still listening after SIGTERM at --level debug")


async def test_port_in_use_exits_1_naming_the_address() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await _start("--port", str(port), env={})
        _, err = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err.decode()
