"""A reverse proxy between the operator and the API server that misbehaves on purpose.

:class:`FaultyProxy` forwards every request to the API server (watch streams included, chunk by
chunk) and, for a share of them chosen by a seeded RNG, does what a struggling control plane or
load balancer does instead:

* ``server_errors``: answers 500 with a Kubernetes ``Status`` body, without forwarding;
* ``throttled``: answers 429 with ``Retry-After: 1`` (API priority and fairness), without
  forwarding;
* ``lost_answers``: forwards a write (it takes effect) but answers 500, as an API server whose
  reply never made it back; the client retries a write that already happened;
* ``cut_watches``: cuts a watch stream after a random 0.5-3 s, half of the time with a clean end
  of stream, half of the time by dropping the connection mid-stream.

With every share at 0 it is a plain pass-through. Either way it records every request it sees
(:attr:`FaultyProxy.requests`, as ``(method, path, answered status)``), so a test can also tell
which replica wrote what.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random

import aiohttp
from aiohttp import web

from tests.support import loopback

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "host",
}


@dataclasses.dataclass
class Faults:
    server_errors: float = 0.0
    throttled: float = 0.0
    lost_answers: float = 0.0
    cut_watches: float = 0.0


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    headers = {"Retry-After": "1"} if code == 429 else {}
    return web.json_response(body, status=code, headers=headers)


class FaultyProxy:
    def __init__(self, upstream: str, *, faults: Faults | None = None, seed: int = 0) -> None:
        self.upstream = upstream
        self.faults = faults or Faults()
        self.rng = random.Random(seed)
        self.requests: list[tuple[str, str, int]] = []
        self.injected: dict[str, int] = {
            "server_errors": 0,
            "throttled": 0,
            "lost_answers": 0,
            "cut_watches": 0,
        }
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FaultyProxy:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner, _ = await loopback.start(app, handle_signals=False, shutdown_timeout=1)
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        # upstream first: watch streams still open end at once instead of holding the shutdown
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def writes(self) -> list[tuple[str, str]]:
        """(method, path) of every request that was not a read."""
        return [(m, p) for m, p, _ in self.requests if m not in ("GET", "HEAD")]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        watch = request.query.get("watch") in ("true", "1", "True")
        roll = self.rng.random()
        faults = self.faults
        if roll < faults.server_errors:
            return self._inject(request, "server_errors", 500, "InternalError", "etcd timed out")
        roll -= faults.server_errors
        if roll < faults.throttled:
            return self._inject(request, "throttled", 429, "TooManyRequests", "slow down")
        roll -= faults.throttled
        if watch:
            cut = self.rng.random() < faults.cut_watches
            return await self._stream(request, cut=cut)
        lose = request.method not in ("GET", "HEAD") and roll < faults.lost_answers
        return await self._forward(request, lose=lose)

    def _inject(
        self, request: web.Request, kind: str, code: int, reason: str, text: str
    ) -> web.Response:
        self.injected[kind] += 1
        self.requests.append((request.method, request.path, code))
        return _status(code, reason, text)

    async def _upstream(self, request: web.Request) -> aiohttp.ClientResponse:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        body = await request.read()
        return await self._session.request(
            request.method,
            self.upstream + request.rel_url.path_qs,
            headers=headers,
            data=body or None,
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
        )

    async def _forward(self, request: web.Request, *, lose: bool) -> web.Response:
        async with await self._upstream(request) as answer:
            body = await answer.read()
            if lose:
                self.injected["lost_answers"] += 1
                self.requests.append((request.method, request.path, 500))
                return _status(500, "InternalError", "the answer was lost")
            self.requests.append((request.method, request.path, answer.status))
            headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            return web.Response(body=body, status=answer.status, headers=headers)

    async def _stream(self, request: web.Request, *, cut: bool) -> web.StreamResponse:
        async with await self._upstream(request) as answer:
            self.requests.append((request.method, request.path, answer.status))
            headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            response = web.StreamResponse(status=answer.status, headers=headers)
            await response.prepare(request)
            deadline = asyncio.get_running_loop().time() + self.rng.uniform(0.5, 3.0)
            abrupt = self.rng.random() < 0.5
            while True:
                left = deadline - asyncio.get_running_loop().time()
                try:
                    async with asyncio.timeout(left if cut else None):
                        chunk = await answer.content.readany()
                except TimeoutError:
                    self.injected["cut_watches"] += 1
                    if abrupt and request.transport is not None:
                        request.transport.abort()
                        return response
                    break
                if not chunk:
                    break
                await response.write(chunk)
            await response.write_eof()
            return response
