"""Where ``pods/<name>/log`` gets its lines: a registry of pluggable log sources.

The API server runs no containers; the sandbox's workload runner does, and it plugs a
:class:`LogSource` in here so that ``kubectl logs`` (with ``-c``, ``--tail``, ``--timestamps``
and ``-f``) reads the output of the local process standing in for a container. A source answers
None for pods it does not run; when no source claims a pod, the server answers as a real one does
for a container that has not started.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from serinus.sandbox.apiserver.objects import Obj


@dataclass(frozen=True)
class LogRequest:
    """One ``pods/log`` request, with its query parameters decoded."""

    namespace: str
    pod: str
    container: str
    follow: bool = False
    tail_lines: int | None = None
    timestamps: bool = False
    since_seconds: int | None = None
    previous: bool = False
    limit_bytes: int | None = None
    pod_object: Obj | None = None


class LogSource(Protocol):
    """A source of container logs (the workload runner implements one)."""

    def __call__(self, request: LogRequest) -> AsyncIterator[bytes] | None:
        """The log bytes of the requested container, or None when this source does not run it.

        With ``request.follow`` the iterator keeps yielding until the container ends; the
        server stops iterating when the client goes away or the server shuts down.
        """
        ...


class LogSources:
    """The registered sources, asked in order."""

    def __init__(self) -> None:
        self._sources: list[LogSource] = []

    def add(self, source: LogSource) -> None:
        self._sources.append(source)

    def remove(self, source: LogSource) -> None:
        if source in self._sources:
            self._sources.remove(source)

    def open(self, request: LogRequest) -> AsyncIterator[bytes] | None:
        for source in self._sources:
            stream = source(request)
            if stream is not None:
                return stream
        return None
