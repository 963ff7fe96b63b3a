"""``serinus sandbox apiserver``: the command a user runs to get a local API server.

Covers: --help describes the command and its options; the command writes a kubeconfig kubectl
can use, prints where it listens, keeps objects in the --state file, and on SIGTERM ends open
watches (kubectl get -w exits 0) and exits 0 itself; a second start on the same state file
serves the same objects; an unusable state file is a clear error with exit code 1.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import shutil
import signal
import sys

from click.testing import CliRunner

from serinus.cli.main import main


def test_help() -> None:
    result = CliRunner().invoke(main, ["sandbox", "apiserver", "--help"])
    assert result.exit_code == 0
    for option in ("--port", "--host", "--state", "--kubeconfig"):
        assert option in result.output
    assert "SIGTERM" in result.output
    listing = CliRunner().invoke(main, ["sandbox", "--help"])
    assert "apiserver" in listing.output


async def start(tmp_path: pathlib.Path, *extra: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "serinus",
        "sandbox",
        "apiserver",
        "--port",
        "0",
        "--kubeconfig",
        str(tmp_path / "kubeconfig"),
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    first = (await asyncio.wait_for(process.stdout.readline(), timeout=20)).decode()
    assert first.startswith("Kubernetes API server listening on http://127.0.0.1:")
    return process, first.rsplit(" ", 1)[1].strip()


async def kubectl(
    tmp_path: pathlib.Path, *args: str, stdin: str | None = None
) -> asyncio.subprocess.Process:
    binary = shutil.which("kubectl")
    assert binary is not None
    return await asyncio.create_subprocess_exec(
        binary,
        "--kubeconfig",
        str(tmp_path / "kubeconfig"),
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else None,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "KUBECACHEDIR": str(tmp_path / "cache")},
    )


async def run_kubectl(tmp_path: pathlib.Path, *args: str, stdin: str | None = None) -> str:
    process = await kubectl(tmp_path, *args, stdin=stdin)
    out, err = await asyncio.wait_for(
        process.communicate(stdin.encode() if stdin else None), timeout=30
    )
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_serves_persists_and_stops_cleanly(tmp_path: pathlib.Path) -> None:
    state = tmp_path / "state.json"
    server, _ = await start(tmp_path, "--state", str(state))
    try:
        created = await run_kubectl(
            tmp_path, "create", "configmap", "x", "--dry-run=client", "-o", "yaml"
        )
        assert "created" in await run_kubectl(tmp_path, "apply", "-f", "-", stdin=created)
        watcher = await kubectl(tmp_path, "get", "configmap", "x", "-w")
        assert watcher.stdout is not None
        header = await asyncio.wait_for(watcher.stdout.readline(), timeout=20)
        assert header.split()[0] == b"NAME"
        listed = await asyncio.wait_for(watcher.stdout.readline(), timeout=20)
        assert listed.split()[0] == b"x"
        await run_kubectl(tmp_path, "label", "configmap", "x", "seen=yes")
        watched = await asyncio.wait_for(watcher.stdout.readline(), timeout=20)
        assert watched.split()[0] == b"x"  # printed from the watch: the stream is open
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(server.communicate(), timeout=20)
    assert server.returncode == 0
    assert out.decode().strip().endswith("Kubernetes API server stopped")
    await asyncio.wait_for(watcher.wait(), timeout=20)
    assert watcher.returncode == 0
    assert state.exists()

    again, _ = await start(tmp_path, "--state", str(state))
    try:
        shown = await run_kubectl(tmp_path, "get", "configmap", "x", "-o", "name")
        assert shown.strip() == "configmap/x"
    finally:
        again.send_signal(signal.SIGINT)
        await asyncio.wait_for(again.communicate(), timeout=20)
    assert again.returncode == 0


async def test_bad_state_file_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("not json")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "serinus",
        "sandbox",
        "apiserver",
        "--state",
        str(state),
        "--kubeconfig",
        str(tmp_path / "kubeconfig"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 1
    assert f"Error: {state}: not a state file of the sandbox API server" in err.decode()
