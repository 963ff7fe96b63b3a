"""The task types the load tester runs: what ``metadata.type`` turns a payload into.

``metadata.type`` picks an entry of :data:`TASK_TYPES`, an explicit dict (Flagger fills its registry
from ``init()`` functions and panics on a miss); :func:`build` raises :class:`PayloadError` for a
name that is not in it or metadata that does not fit, and the route answers 400:

- ``cmd`` (the default): the command in the background; the caller gets 202 at once.
- ``bash``: ``bash -c <cmd>``, blocking; 200 on success, 500 with the reason otherwise.
- ``kubectl``: the ``kubectl`` binary with ``cmd`` split as a shell would, blocking. As in Flagger,
  ``cmd`` holds the arguments (``get deploy -n test``); a leading ``kubectl`` word is accepted too.
- ``helmv3`` and ``helm`` (Flagger runs Helm 3 for both): the ``helm`` binary with ``cmd`` as its
  arguments (``test podinfo -n test``), blocking, a leading ``helm`` word accepted.
- ``concord`` (blocking) and ``ngrinder`` (background): a process on a remote test service
  (:mod:`~serinus.loadtester.concord`, :mod:`~serinus.loadtester.ngrinder`).

How a command runs depends on whether ``--allow-command`` rules are set (see
:mod:`~serinus.loadtester.authz`). Without rules, ``cmd`` runs through ``sh -c`` as in Flagger. With
rules, ``cmd`` is split into arguments and runs without a shell, and every task carries the
:attr:`Task.line` the rules must match: the command line for programs, a ``concord ...`` or
``ngrinder ...`` line of ``key=value`` words for remote tasks.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Awaitable, Callable, Mapping

import httpx

from serinus.loadtester import concord, ngrinder
from serinus.loadtester.authz import command_line
from serinus.loadtester.payload import Payload, PayloadError, quote
from serinus.loadtester.process import Outcome, ProcessGroups

DEFAULT_TYPE = "cmd"


@dataclasses.dataclass(frozen=True)
class TaskContext:
    """What running a task may use: the process groups, an HTTP client and the time limit."""

    processes: ProcessGroups
    http: httpx.AsyncClient
    time_limit: float


Work = Callable[[TaskContext], Awaitable[Outcome]]


@dataclasses.dataclass(frozen=True)
class Task:
    """One task for one canary, checked and ready to run."""

    namespace: str
    canary: str
    """``name.namespace``, for the logs."""
    type: str
    blocking: bool
    line: str
    """What the logs show, what ``--allow-command`` matches and what dedupe compares."""
    work: Work
    argv: tuple[str, ...] | None = None
    """The program and its arguments; None for a remote task."""
    log_output: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """Tasks with equal keys run once at a time: same namespace, same line."""
        return (self.namespace, self.line)


Builder = Callable[[Payload, bool], Task]


def build(payload: Payload, *, locked: bool) -> Task:
    """The task a payload asks for. PayloadError when its metadata does not describe one."""
    metadata = payload.metadata
    if not metadata:
        raise PayloadError("metadata not found in payload")
    type_name = metadata.get("type", DEFAULT_TYPE)
    builder = TASK_TYPES.get(type_name)
    if builder is None:
        supported = ", ".join(sorted(TASK_TYPES))
        raise PayloadError(
            f"metadata.type: unknown task type {quote(type_name)}; supported: {supported}"
        )
    task = builder(payload, locked)
    return dataclasses.replace(task, log_output=payload.flag("logCmdOutput"))


def _command(metadata: Mapping[str, str]) -> str:
    command = metadata.get("cmd", "")
    if not command.strip():
        raise PayloadError("cmd not found in metadata")
    return command


def _split(command: str) -> list[str]:
    try:
        words = shlex.split(command)
    except ValueError as error:  # unbalanced quotes
        raise PayloadError(f"metadata.cmd: cannot split {quote(command)}: {error}") from None
    if not words:
        raise PayloadError("cmd not found in metadata")
    return words


def _program_task(payload: Payload, type_name: str, argv: list[str], *, line: str = "") -> Task:
    def work(context: TaskContext) -> Awaitable[Outcome]:
        return context.processes.run(argv, time_limit=context.time_limit)

    return Task(
        namespace=payload.namespace,
        canary=payload.canary,
        type=type_name,
        blocking=type_name != "cmd",
        line=line or command_line(argv),
        work=work,
        argv=tuple(argv),
    )


def _cmd(payload: Payload, locked: bool) -> Task:
    command = _command(payload.metadata)
    if locked:
        return _program_task(payload, "cmd", _split(command))
    return _program_task(payload, "cmd", ["sh", "-c", command], line=command.strip())


def _bash(payload: Payload, locked: bool) -> Task:
    command = _command(payload.metadata)
    argv = ["bash", "-c", command]
    return _program_task(payload, "bash", argv, line="" if locked else command.strip())


def _with_program(program: str, type_name: str) -> Builder:
    """A type whose ``cmd`` holds the arguments of ``program`` (its name may lead them)."""

    def builder(payload: Payload, locked: bool) -> Task:
        words = _split(_command(payload.metadata))
        if words[0] == program:
            words = words[1:]
        return _program_task(payload, type_name, [program, *words])

    return builder


def _concord(payload: Payload, locked: bool) -> Task:
    process = concord.ConcordProcess.from_metadata(payload.metadata, canary=payload.canary)

    def work(context: TaskContext) -> Awaitable[Outcome]:
        return process.run(context.http, time_limit=context.time_limit)

    return Task(payload.namespace, payload.canary, "concord", True, process.line, work)


def _ngrinder(payload: Payload, locked: bool) -> Task:
    test = ngrinder.NGrinderTest.from_metadata(payload.metadata, canary=payload.canary)

    def work(context: TaskContext) -> Awaitable[Outcome]:
        return test.run(context.http, time_limit=context.time_limit)

    return Task(payload.namespace, payload.canary, "ngrinder", False, test.line, work)


TASK_TYPES: dict[str, Builder] = {
    "cmd": _cmd,
    "bash": _bash,
    "kubectl": _with_program("kubectl", "kubectl"),
    "helmv3": _with_program("helm", "helmv3"),
    "helm": _with_program("helm", "helm"),
    "concord": _concord,
    "ngrinder": _ngrinder,
}
