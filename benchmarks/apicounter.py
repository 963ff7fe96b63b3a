"""A TCP proxy in front of the API server that counts the HTTP requests passing through it.

Used by ``operator_scale.py``: the operator is pointed at the proxy, which copies bytes both ways
unchanged (so it adds little CPU, unlike an HTTP-level proxy) and reads only the request lines of
the client side (``GET /apis/... HTTP/1.1``), noting the time, method and path of each. That is
enough to count API requests per tick (:func:`request_kinds`), and to see when each Canary's tick
starts (:func:`tick_starts`).
"""

from __future__ import annotations

import asyncio
import re
import time

_REQUEST = re.compile(rb"(GET|POST|PUT|PATCH|DELETE|HEAD) (/\S*) HTTP/1\.[01]\r\n")
_KEEP = 4096


Request = tuple[float, str, str]
"""(monotonic time, method, path without the query) of one request."""


class CountingProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream_port`` and records every request line."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.requests: list[Request] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._connections:
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            await asyncio.gather(
                self._pipe(reader, up_writer, count=True),
                self._pipe(up_reader, writer, count=False),
                return_exceptions=True,
            )
        except (OSError, asyncio.CancelledError):
            writer.close()
        finally:
            self._connections.discard(task)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, count: bool
    ) -> None:
        pending = b""
        try:
            while data := await reader.read(65536):
                if count:
                    pending = self._note(pending + data)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    def _note(self, buffer: bytes) -> bytes:
        end = 0
        now = time.monotonic()
        for match in _REQUEST.finditer(buffer):
            path = match.group(2).split(b"?", 1)[0].decode("latin-1")
            self.requests.append((now, match.group(1).decode(), path))
            end = match.end()
        return buffer[max(end, len(buffer) - _KEEP) :]


def _object(path: str) -> tuple[str, str] | None:
    """(owner, resource[/subresource]) of a request about one namespaced object, else None.

    The owner is the object's name without ``-primary``/``-canary``: the Canary the object
    belongs to (Services, Deployments and the TrafficSplit are named after it)."""
    parts = path.strip("/").split("/")
    if "namespaces" not in parts:
        return None
    rest = parts[parts.index("namespaces") + 2 :]
    if len(rest) < 2:
        return None
    name = rest[1].removesuffix("-primary").removesuffix("-canary")
    return name, "/".join([rest[0], *rest[2:]])


def tick_starts(requests: list[Request]) -> dict[str, list[float]]:
    """Per Canary, the times its ticks started.

    A tick starts with a GET of the Canary. A status write also reads the Canary first, but that
    GET is followed by the PUT of the status (or, when nothing changed, by the next tick's GET),
    so a GET of the Canary starts a tick when the Canary's next request is anything else.
    """
    per_canary: dict[str, list[tuple[float, str]]] = {}
    for at, method, path in requests:
        found = _object(path)
        if found is not None:
            per_canary.setdefault(found[0], []).append((at, f"{method} {found[1]}"))
    starts: dict[str, list[float]] = {}
    for name, seen in per_canary.items():
        following = [what for _, what in seen[1:]] + [""]
        for (at, what), after in zip(seen, following, strict=True):
            if what == "GET canaries" and after not in ("PUT canaries/status", "GET canaries"):
                starts.setdefault(name, []).append(at)
    return starts


def request_kinds(requests: list[Request]) -> dict[str, int]:
    """Requests counted by method and resource (``GET deployments``, ``PUT canaries/status``)."""
    kinds: dict[str, int] = {}
    for _, method, path in requests:
        found = _object(path)
        key = f"{method} {found[1] if found else path}"
        kinds[key] = kinds.get(key, 0) + 1
    return kinds
