"""The task types the load tester runs, and the runner that deduplicates background commands.

``metadata.type`` picks an entry of :data:`TASK_TYPES`, an explicit dict (Flagger fills its registry
from ``init()`` functions and panics on a miss); :func:`task_type` raises for a name that is not in
it, and the route answers 400 naming the supported types:

- ``cmd`` (the default): ``sh -c <cmd>`` in the background; the caller gets 202 at once. While the
  same command for the same canary is still running, another call is skipped, so ``hey -z 1m``
  posted every analysis interval keeps exactly one load generator going.
- ``bash``: ``bash -c <cmd>``, blocking; 200 on success, 500 with the reason otherwise.
- ``kubectl``: the ``kubectl`` binary with ``cmd`` split as a shell would (no shell runs), blocking.
  As in Flagger, ``cmd`` holds the arguments (``get deploy -n test``); a leading ``kubectl`` word is
  accepted too, since Flagger would have run ``kubectl kubectl ...``, which never works.

:class:`TaskRunner` starts background tasks, runs blocking ones, applies the per-task timeout, logs
every outcome (with the parsed ``hey`` summary when the command ran hey) and keeps the metrics.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shlex
from collections.abc import Callable

from serinus import logs
from serinus.errors import UnknownProviderError
from serinus.loadtester import hey
from serinus.loadtester.metrics import LoadTesterMetrics
from serinus.loadtester.process import Outcome, ProcessGroups

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TaskType:
    """One value of ``metadata.type``: how its command runs, and whether the caller waits."""

    name: str
    blocking: bool
    command_line: Callable[[str], str]
    """The full command line that will run, shown in logs and matched by ``--allow-command``."""
    argv: Callable[[str], list[str]]
    """The program and arguments for a command line built by ``command_line``."""


def _kubectl_line(command: str) -> str:
    words = shlex.split(command)
    if words[:1] == ["kubectl"]:
        words = words[1:]
    return shlex.join(["kubectl", *words])


TASK_TYPES: dict[str, TaskType] = {
    "cmd": TaskType(
        name="cmd",
        blocking=False,
        command_line=str.strip,
        argv=lambda line: ["sh", "-c", line],
    ),
    "bash": TaskType(
        name="bash",
        blocking=True,
        command_line=str.strip,
        argv=lambda line: ["bash", "-c", line],
    ),
    "kubectl": TaskType(
        name="kubectl",
        blocking=True,
        command_line=_kubectl_line,
        argv=shlex.split,
    ),
}

DEFAULT_TYPE = "cmd"


def task_type(name: str) -> TaskType:
    """The registered type called ``name``; UnknownProviderError when there is none."""
    try:
        return TASK_TYPES[name]
    except KeyError:
        raise UnknownProviderError("load tester task type", name) from None


@dataclasses.dataclass(frozen=True)
class Task:
    """A command to run for one canary."""

    canary: str
    type: TaskType
    command_line: str
    log_output: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """Identical command for the same canary: Flagger's dedupe key."""
        return (self.canary, self.command_line)


class TaskRunner:
    """Runs tasks under one timeout; background ``cmd`` tasks are deduplicated per canary."""

    def __init__(self, *, timeout: float, metrics: LoadTesterMetrics) -> None:
        self._timeout = timeout
        self._metrics = metrics
        self._processes = ProcessGroups()
        self._background: dict[tuple[str, str], asyncio.Task[Outcome]] = {}

    def start(self, task: Task) -> bool:
        """Start ``task`` in the background; False (and nothing runs) if it is running already."""
        log = logs.CanaryLogger(_log, canary=task.canary)
        if task.key in self._background:
            log.info("Command skipped, %s is already running", task.command_line)
            self._metrics.skipped.labels(type=task.type.name).inc()
            return False
        job = asyncio.create_task(self._run_background(task), name=f"loadtester {task.canary}")
        self._background[task.key] = job
        return True

    async def _run_background(self, task: Task) -> Outcome:
        try:
            return await self.run(task)
        finally:
            # In the same step as the end of the run: a call right after it starts a new run.
            del self._background[task.key]

    async def run(self, task: Task) -> Outcome:
        """Run ``task`` to its end (or its timeout), log how it went and count it."""
        log = logs.CanaryLogger(_log, canary=task.canary)
        kind = task.type.name
        log.info("Running command %s", task.command_line)
        self._metrics.started.labels(type=kind).inc()
        self._metrics.running.labels(type=kind).inc()
        try:
            outcome = await self._processes.run(
                task.type.argv(task.command_line), time_limit=self._timeout
            )
        finally:
            self._metrics.running.labels(type=kind).dec()
        self._report(task, outcome, log)
        return outcome

    def _report(self, task: Task, outcome: Outcome, log: logs.CanaryLogger) -> None:
        if outcome.ok:
            if task.log_output:
                log.info("Command output of %s:\n%s", task.command_line, _output(outcome))
            log.info("Command finished %s", task.command_line)
        else:
            self._metrics.failed.labels(type=task.type.name).inc()
            log.error("Command failed %s: %s", task.command_line, outcome.failure())
        self._report_hey(task, outcome, log)

    def _report_hey(self, task: Task, outcome: Outcome, log: logs.CanaryLogger) -> None:
        """Log and count every hey summary the command printed (hey's exit code tells nothing)."""
        reports = hey.parse_reports(outcome.stdout)
        if not reports and hey.mentions_hey(task.command_line):
            log.info("hey ran for %s but printed no summary to read", task.canary)
        for report in reports:
            self._metrics.record_hey(task.canary, report)
            line = hey.describe(task.canary, report)
            if report.all_failed:
                log.warning("%s (not one request succeeded)", line)
            else:
                log.info("%s", line)

    @property
    def running(self) -> int:
        """Background tasks not finished yet."""
        return len(self._background)

    async def stop(self) -> None:
        """Stop every running command (background and blocking) and wait for them to end."""
        jobs = list(self._background.values())
        for job in jobs:
            job.cancel()
        await self._processes.stop_all()
        await asyncio.gather(*jobs, return_exceptions=True)


def _output(outcome: Outcome) -> str:
    if outcome.stderr.strip():
        return f"{outcome.stdout.rstrip()}\n{outcome.stderr.rstrip()}".strip()
    return outcome.stdout.rstrip()
