"""``kubectl logs`` for sandbox pods: the API server's log source, reading the pods' log files.

The runner writes each container run's output to ``pods/<ns>/<pod>/<container>/<n>.log`` (see
:mod:`layout`); :class:`PodLogs` serves the latest run, or the one before with ``--previous``,
honouring ``--tail`` and ``--limit-bytes``. With ``-f`` it keeps sending what is appended until
that run has ended (its ``<n>.exit`` file appears), a newer run starts, or the pod's directory is
removed. It reads files only, so it can be registered on an API server in another task or
before the runner starts.

The files carry no per-line times: ``--timestamps`` and ``--since`` are not honoured (the lines
come without times, and from the start of the run).
"""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import AsyncIterator

from serinus.sandbox.apiserver import LogRequest
from serinus.sandbox.workloads.layout import SandboxDir

_CHUNK = 64 * 1024


def _tail(data: bytes, lines: int) -> bytes:
    if lines <= 0:
        return b""
    parts = data.splitlines(keepends=True)
    return b"".join(parts[-lines:])


class PodLogs:
    """A :class:`~serinus.sandbox.apiserver.LogSource` over a sandbox directory."""

    def __init__(self, layout: SandboxDir, *, poll: float = 0.2) -> None:
        self.layout = layout
        self.poll = poll

    def __call__(self, request: LogRequest) -> AsyncIterator[bytes] | None:
        runs = self.layout.runs(request.namespace, request.pod, request.container)
        if request.previous:
            runs = runs[:-1]
        if not runs:
            return None
        run = runs[-1]
        return self._stream(request, run)

    async def _stream(self, request: LogRequest, run: int) -> AsyncIterator[bytes]:
        layout = self.layout
        path = layout.log(request.namespace, request.pod, request.container, run)
        ended = layout.exit_file(request.namespace, request.pod, request.container, run)
        budget = request.limit_bytes if request.limit_bytes is not None else -1
        with path.open("rb") as handle:
            data = handle.read()
            if request.tail_lines is not None:
                data = _tail(data, request.tail_lines)
            while True:
                if data:
                    if budget >= 0:
                        data = data[:budget]
                        budget -= len(data)
                    yield data
                if budget == 0 or not request.follow:
                    return
                data = handle.read(_CHUNK)
                if data:
                    continue
                if self._over(request, run, ended):
                    data = handle.read()
                    if not data:
                        return
                    continue
                await asyncio.sleep(self.poll)

    def _over(self, request: LogRequest, run: int, ended: pathlib.Path) -> bool:
        if ended.exists() or not self.layout.pod(request.namespace, request.pod).is_dir():
            return True
        runs = self.layout.runs(request.namespace, request.pod, request.container)
        return bool(runs) and runs[-1] > run
