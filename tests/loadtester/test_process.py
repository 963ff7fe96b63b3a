"""Running a command in its own process group.

Covers: stdout and stderr are captured apart and the exit code kept; a program that does not exist
is reported as "could not start", not raised; output beyond the limit is dropped while the command
still runs to its end (no blocked pipe); a time limit kills the whole group (a background child
too) and keeps the output printed before; cancelling the caller kills the group.
"""

from __future__ import annotations

import asyncio

from serinus.loadtester import process
from serinus.loadtester.process import ProcessGroups


async def test_output_and_exit_code_are_kept():
    outcome = await ProcessGroups().run(
        ["sh", "-c", "echo out; echo err >&2; exit 4"], time_limit=30
    )

    assert (outcome.exit_code, outcome.stdout, outcome.stderr) == (4, "out\n", "err\n")
    assert not outcome.ok
    assert outcome.failure() == "exit code 4: err"


async def test_a_missing_program_is_reported_not_raised():
    outcome = await ProcessGroups().run(["no-such-program-serinus"], time_limit=30)

    assert not outcome.ok
    assert outcome.failure().startswith("could not start:")


async def test_output_beyond_the_limit_is_dropped_and_the_command_finishes(tmp_path):
    done = tmp_path / "done"
    size = process.OUTPUT_LIMIT * 2

    outcome = await ProcessGroups().run(
        ["sh", "-c", f"head -c {size} /dev/zero; touch {done}"], time_limit=30
    )

    assert outcome.ok
    assert len(outcome.stdout) == process.OUTPUT_LIMIT
    assert done.exists()


async def test_time_limit_kills_the_group_and_keeps_earlier_output(
    tmp_path, process_alive, wait_for_file
):
    child = tmp_path / "child"

    outcome = await ProcessGroups().run(
        ["sh", "-c", f"echo before; sleep 60 & echo $! > {child}; wait"], time_limit=2.0
    )

    assert outcome.timed_out
    assert outcome.stdout == "before\n"
    assert outcome.failure().startswith("timed out and was killed")
    assert not process_alive(int(await wait_for_file(child)))


async def test_cancelling_the_caller_kills_the_group(tmp_path, process_alive, wait_for_file):
    child = tmp_path / "child"
    run = asyncio.create_task(
        ProcessGroups().run(["sh", "-c", f"sleep 60 & echo $! > {child}; wait"], time_limit=60)
    )
    pid = int(await wait_for_file(child))

    run.cancel()
    await asyncio.gather(run, return_exceptions=True)

    assert not process_alive(pid)
