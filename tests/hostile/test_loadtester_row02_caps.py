"""Issue 10, row 2: 200 POSTs of ``sleep 90`` under 200 canary names started 200 processes.

Dedupe was keyed on the canary name, which the caller chooses, and nothing capped the running
tasks. Here, with the default flags: the same command under 200 names runs once (dedupe is per
namespace and command); 200 different commands in one namespace run at most
``--max-running-per-namespace`` (8) at once and the rest get 429; spread over 200 namespaces, at
most ``--max-running`` (32). Counted as real processes, not as the load tester's own gauge.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
from collections.abc import Callable


def sleeping(seconds: str) -> int:
    """Processes running exactly ``sleep <seconds>`` on this machine."""
    wanted = f"sleep\0{seconds}\0".encode()
    count = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        count += cmdline == wanted
    return count


async def settled(count: Callable[[], int], expected: int) -> int:
    """``count()`` once it reaches ``expected`` or 10 s have passed.

    A process starts just after its 202; every task was launched before the last answer came, so
    once the expected number runs, any process beyond it would be running too.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            while True:
                if count() >= expected:
                    break
                await asyncio.sleep(0.05)
    return count()


async def test_one_command_under_200_names_runs_once(start_loadtester):
    tester = await start_loadtester()

    answers = [await tester.task({"cmd": "sleep 89.01"}, name=f"c{i}") for i in range(200)]

    assert {answer.status_code for answer in answers} == {202}
    assert await settled(lambda: sleeping("89.01"), 1) == 1


async def test_200_commands_in_one_namespace_stop_at_the_namespace_cap(start_loadtester):
    tester = await start_loadtester()

    answers = [await tester.task({"cmd": f"sleep 89.{i:03d}"}, name=f"c{i}") for i in range(200)]

    codes = [answer.status_code for answer in answers]
    assert codes == [202] * 8 + [429] * 192
    assert "--max-running-per-namespace" in answers[-1].text
    assert await settled(lambda: sum(sleeping(f"89.{i:03d}") for i in range(200)), 8) == 8


async def test_200_commands_over_200_namespaces_stop_at_the_global_cap(start_loadtester):
    tester = await start_loadtester()

    answers = [
        await tester.task({"cmd": f"sleep 88.{i:03d}"}, namespace=f"ns{i}") for i in range(200)
    ]

    codes = [answer.status_code for answer in answers]
    assert codes == [202] * 32 + [429] * 168
    assert await settled(lambda: sum(sleeping(f"88.{i:03d}") for i in range(200)), 32) == 32
