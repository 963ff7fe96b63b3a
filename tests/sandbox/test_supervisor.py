"""The supervisor of ``serinus sandbox up`` with real processes (covers ``serinus/sandbox/
orchestration/supervisor.py`` and what ``status`` shows of it).

Covers:
- a part killed with SIGKILL is started again with the same command (a new pid, its log kept
  and appended to, with a line saying how it ended), and ``state.json`` records the restart
  count and ``signal SIGKILL`` with the time; ``status`` shows both, and the supervisor;
- a part that exits with a code is recorded with ``exit code 3``; one that keeps exiting is
  restarted at once the first time, then after waits that double (1 s, 2 s, ...), each restart
  counted;
- the other parts are left alone, and stopping the supervisor leaves the parts running;
- a part whose leader thread is dead while its other threads still exit (a zombie that waitpid does
  not report yet) is recorded with its real exit once they are gone, never as ``unknown``.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import signal
import sys
import time

from rich.console import Console

from serinus.sandbox.orchestration import processes, state, status, supervisor


def sandbox_with(directory: pathlib.Path, commands: dict[str, list[str]]) -> state.SandboxState:
    sandbox = state.SandboxState(directory=directory, service_cidr="127.96.1.0/24", started="now")
    for name, command in commands.items():
        log = directory / "logs" / f"{name}.log"
        pid = processes.spawn(command, log=log, directory=directory, env=dict(os.environ))
        sandbox.add(state.Part(name=name, pid=pid, command=tuple(command), log=str(log)))
    return sandbox


def rendered(found: status.SandboxStatus) -> str:
    console = Console(width=200, record=True)
    console.print(status.render(found))
    return console.export_text()


async def until(check, what: str, seconds: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_a_killed_part_is_started_again_and_status_says_so(tmp_path: pathlib.Path) -> None:
    directory = state.canonical(tmp_path)
    sleeper = [sys.executable, "-c", "print('up', flush=True); import time; time.sleep(600)"]
    sandbox = sandbox_with(directory, {"api": sleeper, "mesh": sleeper})
    stop = asyncio.Event()
    watching = asyncio.create_task(supervisor.Supervisor(sandbox, environment=os.environ).run(stop))
    try:
        first, other = sandbox.parts["api"].pid, sandbox.parts["mesh"].pid
        await until(lambda: state.load(directory).supervisor == os.getpid(), "supervising")
        os.kill(first, signal.SIGKILL)
        await until(lambda: sandbox.parts["api"].pid != first, "api restarted")
        recorded = state.load(directory)
        assert recorded is not None
        api = recorded.parts["api"]
        assert api.restarts == 1
        assert api.last_exit == "signal SIGKILL"
        assert api.last_exit_at
        assert processes.alive(api.pid)
        assert recorded.parts["mesh"].pid == other
        assert recorded.parts["mesh"].restarts == 0
        await until(lambda: pathlib.Path(api.log).read_text().count("up\n") == 2, "second run")
        log = await asyncio.to_thread(pathlib.Path(api.log).read_text)
        assert "--- ended with signal SIGKILL at " in log
        assert "the supervisor restarts it in 0s" in log

        shown = rendered(await status.collect(directory))
        assert "signal SIGKILL at" in shown
        assert f"supervisor: pid {os.getpid()}, restarts parts that exit" in shown
    finally:
        stop.set()
        await watching
    assert processes.alive(sandbox.parts["api"].pid)  # the supervisor leaves the parts running
    processes.stop([part.pid for part in sandbox.parts.values()], grace=5)


async def test_a_part_that_keeps_exiting_is_restarted_after_doubling_waits(
    tmp_path: pathlib.Path,
) -> None:
    directory = state.canonical(tmp_path)
    sandbox = sandbox_with(directory, {"flaky": [sys.executable, "-c", "raise SystemExit(3)"]})
    stop = asyncio.Event()
    keeper = supervisor.Supervisor(sandbox, environment=os.environ, period=0.05, backoff=1.0)
    watching = asyncio.create_task(keeper.run(stop))
    starts: list[float] = []
    try:
        seen = sandbox.parts["flaky"].pid
        began = time.monotonic()
        while len(starts) < 3:
            await until(
                lambda seen=seen: sandbox.parts["flaky"].pid != seen, "restarted", seconds=10
            )
            seen = sandbox.parts["flaky"].pid
            starts.append(time.monotonic() - began)
    finally:
        stop.set()
        await watching
    recorded = state.load(directory)
    assert recorded is not None
    assert recorded.parts["flaky"].restarts >= 3
    assert recorded.parts["flaky"].last_exit == "exit code 3"
    log = await asyncio.to_thread(pathlib.Path(recorded.parts["flaky"].log).read_text)
    announced = [line.rsplit(" in ", 1)[1] for line in log.splitlines() if "restarts it" in line]
    assert announced[:3] == ["0s", "1s", "2s"]
    # the waits are kept (each start also takes the time for Python to start and exit)
    assert starts[1] - starts[0] >= 1.0
    assert starts[2] - starts[1] >= 2.0


# The leader thread ends first (pthread_exit) while another thread runs on: the leader shows as a
# zombie, but Linux reports the process to waitpid only once its last thread has exited, as with a
# killed Prometheus or API server whose threads are still unwinding.
LEADER_FIRST = (
    "import ctypes, threading, time\n"
    "threading.Thread(target=time.sleep, args=(2,)).start()\n"
    "ctypes.CDLL(None).pthread_exit(None)\n"
)


async def test_a_dead_leader_with_threads_still_exiting_is_collected_once_they_are_gone(
    tmp_path: pathlib.Path,
) -> None:
    sandbox = sandbox_with(tmp_path, {"threads": [sys.executable, "-c", LEADER_FIRST]})
    part = sandbox.parts["threads"]
    watching = supervisor.Supervisor(sandbox, environment=dict(os.environ), period=0.05)
    await until(lambda: not processes.alive(part.pid), "the leader thread ended")
    watching.check()  # dead to /proc, not yet to waitpid: nothing is recorded yet
    assert sandbox.parts["threads"].last_exit == ""
    assert sandbox.parts["threads"].pid == part.pid

    def recorded() -> bool:
        watching.check()
        return sandbox.parts["threads"].last_exit != ""

    await until(recorded, "the exit recorded once the last thread is gone")
    assert sandbox.parts["threads"].last_exit == "exit code 0"
    processes.stop([sandbox.parts["threads"].pid], grace=1.0)
