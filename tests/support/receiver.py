"""A recording HTTP receiver on loopback: what webhooks and chat notifiers are tested against.

:class:`Receiver` is a real aiohttp server on 127.0.0.1 (port 0), over HTTP or, with a
certificate, HTTPS. It records every request (method, path, URL, headers, the exact body bytes and
the JSON payload) and answers from a script: the next scripted answers in order (status, body,
optionally a delay), then answers per path, then a default (200 ``ok`` unless told otherwise).
A delayed answer waits at most until the receiver stops, so no handler outlives its test.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import ssl
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from tests.support import loopback


@dataclasses.dataclass
class Received:
    method: str
    path: str
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> Any:
        """The body as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None


@dataclasses.dataclass
class Answer:
    status: int = 200
    body: str = "ok"
    delay: float = 0.0


class Receiver:
    """Records requests and answers from a script (see the module docstring)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list[Answer] = []
        self.by_path: dict[str, Answer] = {}
        self.default = Answer()
        self.url = ""
        self._stopping = asyncio.Event()

    def answer(self, status: int = 200, body: str = "", *, delay: float = 0.0) -> None:
        """Script the answer to the next request not yet scripted."""
        self.script.append(Answer(status, body, delay))

    def always(self, status: int, body: str = "") -> None:
        """The answer once the script is used up."""
        self.default = Answer(status, body)

    def fail(self, path: str, status: int, body: str) -> None:
        """Answer every request to ``path`` with ``status`` and ``body``."""
        self.by_path[path] = Answer(status, body)

    def paths(self) -> list[str]:
        return [r.path for r in self.received]

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(
            Received(
                request.method,
                request.path,
                str(request.url),
                dict(request.headers),
                await request.read(),
            )
        )
        scripted = self.script.pop(0) if self.script else None
        answer = scripted or self.by_path.get(request.path, self.default)
        if answer.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), answer.delay)
        return web.Response(status=answer.status, text=answer.body)


@contextlib.asynccontextmanager
async def serving(tls: ssl.SSLContext | None = None) -> AsyncIterator[Receiver]:
    """A :class:`Receiver` listening on loopback until the block ends."""
    receiver = Receiver()
    runner, receiver.url = await loopback.start(loopback.handling(receiver.handle), tls=tls)
    try:
        yield receiver
    finally:
        receiver._stopping.set()
        await runner.cleanup()
