"""The supervisor: a sandbox part that exits is started again, and ``state.json`` says so.

A cluster's control plane is kept running by something (systemd, the kubelet's static pods);
the sandbox's parts are kept running by :class:`Supervisor`, which ``serinus sandbox up`` runs in
its own event loop (in the foreground) or in a process of its own (``--detach``: the hidden
``serinus sandbox part supervisor``, which starts the parts itself so that it is their parent and
learns how each one ended).

Every :data:`PERIOD` seconds it asks the kernel whether each recorded part still runs. When one
has ended it collects the exit status (``exit code 1``, ``signal SIGKILL``), appends a line saying
so to the part's log, and starts the same command again: at once the first time, then after
:data:`BACKOFF` seconds, doubling up to :data:`MAX_BACKOFF`, and back to at once after a run of
:data:`STEADY` seconds, as the kubelet's CrashLoopBackOff does with shorter waits. The part keeps
its ports (they are in its command), so every client finds it where it was. Each restart is
written to ``state.json`` (the part's new pid, its restart count, its last exit and when), which
``serinus sandbox status`` shows.

What a restart means for each part: the API server reloads its objects from its state file and
journal (no answered write is lost); the workload runner adopts the pods whose processes still
run (see :mod:`serinus.sandbox.workloads.adoption`); the mesh proxy and the GitOps applier read
everything again from the API; Prometheus replays its write-ahead log. The operator and the load
tester are pods: the runner restarts their containers, and their restart counts are the pods'.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
import os
import pathlib
import signal
import time
from collections.abc import Mapping

from serinus.sandbox.orchestration import processes, state

logger = logging.getLogger(__name__)

PERIOD = 0.5
"""Seconds between two looks at the parts."""
BACKOFF = 1.0
"""Seconds before the second restart of a part in a row (doubling after)."""
MAX_BACKOFF = 30.0
STEADY = 60.0
"""A run this long resets the back-off."""


def describe_exit(status: int | None) -> str:
    """``exit code N``, ``signal NAME``, or ``unknown`` when the status could not be collected."""
    if status is None:
        return "unknown (not a child of this supervisor)"
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"signal {signal.Signals(-code).name}"
    except ValueError:
        return f"signal {-code}"


class NotYetReapable(Exception):
    """The child is dead but cannot be waited for yet (see :func:`collect`)."""


def collect(pid: int) -> int | None:
    """The wait status of an ended child ``pid`` (reaping it); None when it is not a child.

    NotYetReapable when ``pid`` shows as a zombie but Linux does not report it yet: a
    multi-threaded process's leader turns zombie while its other threads are still exiting, and
    waitpid answers 0 until the last one is gone (Prometheus and the Python parts have threads).
    """
    try:
        found, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    if found == 0:
        raise NotYetReapable(pid)
    return status


@dataclasses.dataclass
class _Crashes:
    count: int = 0
    due: float = 0.0
    """When the part is started again (monotonic seconds); 0 while it runs."""


class Supervisor:
    """Keeps the parts of one sandbox running."""

    def __init__(
        self,
        sandbox: state.SandboxState,
        *,
        environment: Mapping[str, str],
        period: float = PERIOD,
        backoff: float = BACKOFF,
        max_backoff: float = MAX_BACKOFF,
        steady: float = STEADY,
    ) -> None:
        self.sandbox = sandbox
        self.environment = dict(environment)
        self.period = period
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.steady = steady
        self._crashes: dict[str, _Crashes] = {}
        self._started: dict[str, float] = {name: time.monotonic() for name in sandbox.parts}

    async def run(self, stop: asyncio.Event) -> None:
        """Look after the parts until ``stop`` is set (the parts are left running then)."""
        self.sandbox.supervisor = os.getpid()
        self.sandbox.save()
        logger.info("supervising %s", ", ".join(self.sandbox.parts))
        while not stop.is_set():
            self.check()
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({stopping}, timeout=self.period)
            stopping.cancel()

    def check(self) -> None:
        """One look at every part: note the ended ones, restart those whose wait is over."""
        now = time.monotonic()
        for name, part in list(self.sandbox.parts.items()):
            crashes = self._crashes.setdefault(name, _Crashes())
            if crashes.due:
                if now >= crashes.due:
                    self._restart(name, part, crashes)
                continue
            if processes.alive(part.pid):
                if crashes.count and now - self._started.get(name, now) >= self.steady:
                    crashes.count = 0
                continue
            try:
                status = collect(part.pid)
            except NotYetReapable:
                continue  # its threads are still exiting: the next look collects it
            self._ended(name, part, crashes, now, describe_exit(status))

    def _ended(self, name: str, part: state.Part, crashes: _Crashes, now: float, how: str) -> None:
        delay = 0.0 if crashes.count == 0 else self.backoff * 2 ** (crashes.count - 1)
        delay = min(delay, self.max_backoff)
        crashes.count += 1
        crashes.due = now + delay
        stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        self.sandbox.parts[name] = dataclasses.replace(part, last_exit=how, last_exit_at=stamp)
        self.sandbox.save()
        logger.warning(
            "sandbox part %s (pid %d) ended with %s; restarting it in %.0fs",
            name,
            part.pid,
            how,
            delay,
        )
        _note(part, f"--- ended with {how} at {stamp}; the supervisor restarts it in {delay:.0f}s")

    def _restart(self, name: str, part: state.Part, crashes: _Crashes) -> None:
        crashes.due = 0.0
        try:
            pid = processes.spawn(
                part.command,
                log=pathlib.Path(part.log),
                directory=self.sandbox.directory,
                env=self.environment,
            )
        except OSError as error:
            logger.error("sandbox part %s could not be restarted: %s", name, error)
            crashes.due = time.monotonic() + self.max_backoff
            return
        self._started[name] = time.monotonic()
        self.sandbox.parts[name] = dataclasses.replace(part, pid=pid, restarts=part.restarts + 1)
        self.sandbox.save()
        logger.warning(
            "sandbox part %s restarted (pid %d, restart %d)", name, pid, part.restarts + 1
        )


def _note(part: state.Part, line: str) -> None:
    with contextlib.suppress(OSError), open(part.log, "a") as out:
        out.write(line + "\n")
