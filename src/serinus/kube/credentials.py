"""The ``Authorization`` header of each API request, from lightkube's credentials of the user.

lightkube reads the kubeconfig user (or the in-cluster service account) into an httpx2 ``Auth``:
a static token, a token file re-read on 401 (kubelet rotates projected service-account tokens),
an exec plugin run again on 401, or basic auth. Client certificates are not an ``Auth``: they
live in the TLS context (:func:`lightkube.config.client_adapter.verify_cluster`). serinus keeps
lightkube for all of that and drives the ``Auth``'s flow itself, the way httpx's client does:
the flow sets the header of a request, looks at the answer, and may ask for one more try with a
new header (a re-read token) — here on a small ``httpx2.Request`` that only carries the header.

Running the whole flow costs about 22 µs a request (a Request and a Response object each time),
so for lightkube's own kinds of ``Auth`` (:data:`STABLE`), whose header stays the same until a
401, the header of the last completed flow is reused, and the flow runs again only after a 401,
fed that 401, exactly where it would have stopped. Any other ``Auth`` runs its flow on every
request.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Protocol, TypeVar

import httpx2
from lightkube.config import client_adapter

STABLE: tuple[type[httpx2.Auth], ...] = (
    client_adapter.BearerAuth,
    client_adapter.BearerTokenFileAuth,
    client_adapter.ExecAuth,
    httpx2.BasicAuth,
)
"""Flows whose header depends only on their own state, which changes only after a 401."""

UNAUTHORIZED = 401


class Answer(Protocol):
    """What the flow reads of an answer: :class:`serinus.http1.Response` (requests) and
    ``aiohttp.ClientResponse`` (watch streams) both are one."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    async def read(self) -> bytes: ...

    def release(self) -> None: ...


A = TypeVar("A", bound=Answer)

Exchange = Callable[[str | None], Awaitable[A]]
"""Sends the request with this ``Authorization`` header (or none); the answer, body unread."""


class Credentials:
    """Signs requests with one ``httpx2.Auth`` (or none); see the module docstring."""

    def __init__(self, auth: httpx2.Auth | None, server: str) -> None:
        self._auth = auth
        self._stable = type(auth) in STABLE
        self._header: str | None = None
        self._server = server

    async def send(self, method: str, url: str, exchange: Exchange[A]) -> A:
        """The answer to ``exchange``, signed; retried with new credentials when the flow asks.

        Every answer but the one returned has been read and released.
        """
        if self._auth is None:
            return await exchange(None)
        if self._header is not None:  # a stable flow that has run before
            answer = await exchange(self._header)
            if answer.status != UNAUTHORIZED:
                return answer
            return await self._flow(method, url, exchange, answer)
        return await self._flow(method, url, exchange, None)

    async def _flow(
        self,
        method: str,
        url: str,
        exchange: Exchange[A],
        answer: A | None,
    ) -> A:
        """Run the flow; ``answer`` is what its first request (the cached header) got already."""
        assert self._auth is not None
        probe = httpx2.Request(method, url)
        flow: AsyncGenerator[httpx2.Request, httpx2.Response]
        async with contextlib.aclosing(self._auth.async_auth_flow(probe)) as flow:
            request = await anext(flow)
            header = request.headers.get("Authorization")
            if answer is None:
                answer = await exchange(header)
            while True:
                response = await self._response(answer, probe)
                try:
                    request = await flow.asend(response)
                except StopAsyncIteration:
                    break
                answer.release()
                header = request.headers.get("Authorization")
                answer = await exchange(header)
        if self._stable:
            self._header = header
        return answer

    async def _response(self, answer: Answer, probe: httpx2.Request) -> httpx2.Response:
        """The answer as the flow reads it; its body only for a 401 (what the flows look at) or a
        flow that asks for bodies, so that a watch stream is not read here."""
        assert self._auth is not None
        content = b""
        if answer.status == UNAUTHORIZED or self._auth.requires_response_body:
            content = await answer.read()
        headers = list(answer.headers.items())
        return httpx2.Response(answer.status, headers=headers, content=content, request=probe)
