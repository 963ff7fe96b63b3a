"""What opening a gate costs as gates pile up, through the real load tester's HTTP API.

Run: ``.venv/bin/python benchmarks/loadtester_gates.py [--gates 1000] [--every 250]``.

A load tester app (``serinus.loadtester.app``, with its state file in a temporary directory on the
same disk the tests use) on a loopback port receives ``--gates`` ``/gate/open`` calls for distinct
canaries, one after another, then the same number of ``/gate/close`` calls. Printed every
``--every`` gates: the milliseconds per call (p50 and max over that stretch) and the state file's
size. Each change is one appended, fsynced line, so the cost per call should not grow with the
number of open gates (a whole-file rewrite per change grew linearly: issue 10, row 10); the
journal is compacted once it holds many more lines than open gates, which shows as one slower
call. One more ``/gate/open`` past ``--max-gates`` (the app's default, 1000) answers 429.
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import statistics
import tempfile
import time

import httpx
from aiohttp import web

from serinus.loadtester import app as loadtester_app


async def measure(gates: int, every: int) -> None:
    with tempfile.TemporaryDirectory(dir=pathlib.Path.cwd()) as directory:
        state = pathlib.Path(directory) / "gates.json"
        app = loadtester_app.create_app(loadtester_app.Settings(state_file=state))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            async with httpx.AsyncClient(base_url=base) as client:
                print("/gate/open: calls  ms/call p50  ms/call max  state file bytes")
                await stretch(client, "/gate/open", gates, every, state)
                extra = await client.post("/gate/open", json={"name": "x", "namespace": "bench"})
                print(f"one more /gate/open with {gates} open: HTTP {extra.status_code}")
                print("/gate/close: calls  ms/call p50  ms/call max  state file bytes")
                await stretch(client, "/gate/close", gates, every, state)
        finally:
            await runner.cleanup()


async def stretch(
    client: httpx.AsyncClient, path: str, gates: int, every: int, state: pathlib.Path
) -> None:
    timings: list[float] = []
    for index in range(gates):
        started = time.perf_counter()
        answer = await client.post(path, json={"name": f"app{index}", "namespace": "bench"})
        timings.append((time.perf_counter() - started) * 1000)
        if answer.status_code not in (202, 429):
            raise SystemExit(f"{path} answered {answer.status_code}: {answer.text}")
        if (index + 1) % every == 0:
            p50, worst = statistics.median(timings), max(timings)
            size = state.stat().st_size  # noqa: ASYNC240 (one small local file)
            print(f"{index + 1:>17}  {p50:>11.2f}  {worst:>11.2f}  {size:>16}")
            timings = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--gates", type=int, default=1000)
    parser.add_argument("--every", type=int, default=250)
    options = parser.parse_args()
    asyncio.run(measure(options.gates, options.every))


if __name__ == "__main__":
    main()
