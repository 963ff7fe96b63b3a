"""Running tasks: at most so many at once, each one once at a time, every outcome logged.

:class:`TaskRunner` admits a task only when fewer than ``max_running`` tasks run in all and fewer
than ``max_per_namespace`` run for the payload's namespace; otherwise :class:`Busy` (the route
answers 429), so a caller posting ``sleep 90`` under 200 canary names gets a handful of processes,
not 200. A task whose :attr:`~serinus.loadtester.tasks.Task.key` (namespace, type and line) matches
one still running is not started again: a background caller gets "already running" (Flagger's
dedupe, which keyed on the canary name a caller chooses), a blocking caller waits for the running
one and gets its outcome. So ``hey -z 1m`` posted every analysis interval keeps exactly one load
generator going, for however many Canaries of the namespace post it.

Every task runs under the one time limit (``--timeout``); the runner logs each outcome (with the
parsed ``hey`` summary when the command ran hey), keeps the metrics, and stops everything (whole
process groups) on :meth:`TaskRunner.stop`.
"""

from __future__ import annotations

import asyncio
import collections
import logging

import httpx

from serinus import logs
from serinus.loadtester import hey
from serinus.loadtester.metrics import LoadTesterMetrics
from serinus.loadtester.process import Outcome, ProcessGroups
from serinus.loadtester.tasks import Task, TaskContext

_log = logging.getLogger(__name__)

DEFAULT_MAX_RUNNING = 32
"""Tasks running at once, in all (``--max-running``)."""
DEFAULT_MAX_PER_NAMESPACE = 8
"""Tasks running at once for one namespace (``--max-running-per-namespace``)."""
HTTP_TIMEOUT_SECONDS = 30.0
"""Per request to a remote test service (concord, ngrinder)."""

STOP_GRACE_SECONDS = 5.0
"""On stop, how long runs whose process groups were killed get to report before being cancelled."""

Key = tuple[str, str, str]
_PROGRAM, _REMOTE = "loadtester program ", "loadtester remote "


class Busy(Exception):
    """Too many tasks are running; the message is the 429 text."""


class TaskRunner:
    """Runs tasks under one timeout and two caps, deduplicating identical ones."""

    def __init__(
        self,
        *,
        timeout: float,
        metrics: LoadTesterMetrics,
        max_running: int = DEFAULT_MAX_RUNNING,
        max_per_namespace: int = DEFAULT_MAX_PER_NAMESPACE,
    ) -> None:
        self._timeout = timeout
        self._metrics = metrics
        self._max_running = max_running
        self._max_per_namespace = max_per_namespace
        self._processes = ProcessGroups()
        self._http = httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False)
        self._running: dict[Key, asyncio.Task[Outcome]] = {}
        self._per_namespace: collections.Counter[str] = collections.Counter()

    def start(self, task: Task) -> bool:
        """Start ``task`` in the background; False (nothing new runs) if it is running already.

        Raises Busy when a cap is reached.
        """
        if self._key(task) in self._running:
            self._skip(task)
            return False
        self._launch(task)
        return True

    async def run(self, task: Task) -> Outcome:
        """Run ``task`` to its end, or wait for the identical one running. Busy when full."""
        job = self._running.get(self._key(task))
        if job is not None:
            self._skip(task)
        else:
            job = self._launch(task)
        try:
            return await asyncio.shield(job)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if job.cancelled() and not (current and current.cancelling()):
                return Outcome.failed("stopped: the load tester is shutting down")
            raise

    @property
    def running(self) -> int:
        """Tasks not finished yet."""
        return len(self._running)

    async def stop(self) -> None:
        """Stop every running task (process groups too) and wait for them to end.

        Process groups are stopped first, so a command's run ends with its real outcome (killed by
        a signal) for whoever waits on it; tasks still running after that are cancelled.
        """
        jobs = list(self._running.values())
        remote = [job for job in jobs if job.get_name().startswith(_REMOTE)]
        for job in remote:
            job.cancel()
        await self._processes.stop_all()
        if jobs:
            _, pending = await asyncio.wait(jobs, timeout=STOP_GRACE_SECONDS)
            for job in pending:
                job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        self._running.clear()  # a job cancelled before its first step never cleaned up
        self._per_namespace.clear()
        await self._http.aclose()

    def _key(self, task: Task) -> Key:
        return (task.namespace, task.type, task.line)

    def _skip(self, task: Task) -> None:
        log = logs.CanaryLogger(_log, canary=task.canary)
        log.info("Command skipped, %s is already running", task.line)
        self._metrics.skipped.labels(type=task.type).inc()

    def _launch(self, task: Task) -> asyncio.Task[Outcome]:
        if len(self._running) >= self._max_running:
            self._metrics.rejected.labels(reason="busy").inc()
            raise Busy(f"too many tasks running ({self._max_running}, --max-running); try later")
        if self._per_namespace[task.namespace] >= self._max_per_namespace:
            self._metrics.rejected.labels(reason="busy").inc()
            raise Busy(
                f"too many tasks running for namespace {task.namespace} "
                f"({self._max_per_namespace}, --max-running-per-namespace); try later"
            )
        key = self._key(task)
        prefix = _REMOTE if task.argv is None else _PROGRAM
        job = asyncio.create_task(self._run(task, key), name=f"{prefix}{task.canary}")
        self._running[key] = job
        self._per_namespace[task.namespace] += 1
        return job

    async def _run(self, task: Task, key: Key) -> Outcome:
        log = logs.CanaryLogger(_log, canary=task.canary)
        log.info("Running command %s", task.line)
        self._metrics.started.labels(type=task.type).inc()
        self._metrics.running.labels(type=task.type).inc()
        try:
            context = TaskContext(self._processes, self._http, self._timeout)
            outcome = await task.work(context)
        finally:
            self._metrics.running.labels(type=task.type).dec()
            # In the same step as the end of the run: a call right after it starts a new run.
            del self._running[key]
            self._per_namespace[task.namespace] -= 1
            if not self._per_namespace[task.namespace]:
                del self._per_namespace[task.namespace]
        self._report(task, outcome, log)
        return outcome

    def _report(self, task: Task, outcome: Outcome, log: logs.CanaryLogger) -> None:
        if outcome.ok:
            if task.log_output:
                log.info("Command output of %s:\n%s", task.line, _output(outcome))
            log.info("Command finished %s", task.line)
        else:
            self._metrics.failed.labels(type=task.type).inc()
            log.error("Command failed %s: %s", task.line, outcome.failure())
        if task.argv is not None:
            self._report_hey(task, outcome, log)

    def _report_hey(self, task: Task, outcome: Outcome, log: logs.CanaryLogger) -> None:
        """Log and count every hey summary the command printed (hey's exit code tells nothing)."""
        reports = hey.parse_reports(outcome.stdout)
        if not reports and hey.mentions_hey(task.line):
            log.info("hey ran for %s but printed no summary to read", task.canary)
        for report in reports:
            self._metrics.record_hey(task.canary, report)
            line = hey.describe(task.canary, report)
            if report.all_failed:
                log.warning("%s (not one request succeeded)", line)
            else:
                log.info("%s", line)


def _output(outcome: Outcome) -> str:
    if outcome.stderr.strip():
        return f"{outcome.stdout.rstrip()}\n{outcome.stderr.rstrip()}".strip()
    return outcome.stdout.rstrip()
