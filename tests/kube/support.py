"""What the kube tests share: a fault-injecting HTTP proxy in front of the API server, builders.

:class:`FaultProxy` forwards every request to the real local API server, streaming watch
answers chunk by chunk, and lets a test break the path the way networks and overloaded servers
do: answer the next requests with an error status instead (500, 429 with Retry-After, a load
balancer's HTML 502), cut every open watch stream mid-body, refuse new requests (close the
connection without an answer), or run a hook right before a request is forwarded (to change an
object under a writer's feet and force a real 409). It records every request it sees. The event
tests share :class:`Clock`, a clock that stands still until advanced.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime
import functools
import json
import pathlib
import subprocess
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from tests.support import loopback, manifests

REPO = pathlib.Path(__file__).resolve().parents[2]
CRDS = REPO / "deploy" / "crds"
PODINFO_CANARY = REPO / "examples" / "podinfo-canary.yaml"
ROOT_CA = "kube-root-ca.crt"
"""The ConfigMap the API server puts in every namespace, as a real cluster's controllers do."""

_HOP_HEADERS = {
    "host",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
}


@dataclasses.dataclass
class Fault:
    status: int
    times: int
    body: bytes
    content_type: str
    headers: dict[str, str]
    method: str | None
    path: str | None

    def matches(self, request: web.Request) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        return self.path is None or self.path in request.path_qs


@dataclasses.dataclass
class Hook:
    method: str
    path: str
    action: Callable[[], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class Seen:
    method: str
    path: str
    """Path and query, as sent."""
    user_agent: str = ""


class FaultProxy:
    """An HTTP proxy to ``upstream`` whose failures a test controls (see the module docstring)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.requests: list[Seen] = []
        self.refuse = False
        self._arrived = asyncio.Condition()
        self._faults: list[Fault] = []
        self._hooks: list[Hook] = []
        self._streams: set[tuple[asyncio.Transport, aiohttp.ClientResponse]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FaultProxy:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        app = loopback.handling(self._handle)
        self._runner, _ = await loopback.start(app, handle_signals=False)
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.drop_streams()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    # controls

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        message: str = "injected",
        reason: str = "InternalError",
        headers: dict[str, str] | None = None,
        method: str | None = None,
        path: str | None = None,
        raw: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (Status body or raw text)."""
        if raw is not None:
            body, content_type = raw.encode(), "text/html"
        else:
            status_body = {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": message,
                "reason": reason,
                "code": status,
            }
            body, content_type = json.dumps(status_body).encode(), "application/json"
        self._faults.append(Fault(status, times, body, content_type, headers or {}, method, path))

    def before(self, method: str, path: str, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action`` once, right before the next matching request is forwarded."""
        self._hooks.append(Hook(method, path, action))

    def drop_streams(self) -> None:
        """Cut every open streamed (watch) answer mid-body, as a dying connection does."""
        for transport, upstream in list(self._streams):
            transport.abort()
            upstream.close()
        self._streams.clear()

    async def wait_streaming(self) -> None:
        """Return once a streamed (watch) answer is open, so :meth:`drop_streams` has one to cut
        (a watch's request may still be on its way when its list's objects have arrived)."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: bool(self._streams))

    def seen(self, method: str, fragment: str) -> list[str]:
        """Paths of recorded requests with this method whose path and query contain ``fragment``."""
        return [r.path for r in self.requests if r.method == method and fragment in r.path]

    async def wait_seen(self, method: str, fragment: str) -> None:
        """Return once a matching request has arrived (see :meth:`seen`)."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: bool(self.seen(method, fragment)))

    # serving

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            Seen(request.method, request.path_qs, request.headers.get("User-Agent", ""))
        )
        async with self._arrived:
            self._arrived.notify_all()
        if self.refuse and request.transport is not None:
            request.transport.abort()
            return web.Response(status=503)
        for fault in self._faults:
            if fault.times > 0 and fault.matches(request):
                fault.times -= 1
                await request.read()
                return web.Response(
                    status=fault.status,
                    body=fault.body,
                    headers={"Content-Type": fault.content_type, **fault.headers},
                )
        for hook in list(self._hooks):
            if hook.method == request.method and hook.path in request.path_qs:
                self._hooks.remove(hook)
                await hook.action()
        return await self._forward(request)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        body = await request.read()
        upstream = await self._session.request(
            request.method,
            self.upstream + request.path_qs,
            headers=headers,
            data=body or None,
            allow_redirects=False,
        )
        try:
            out_headers = {
                k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS
            }
            if "watch=" not in request.query_string:
                payload = await upstream.read()
                return web.Response(status=upstream.status, body=payload, headers=out_headers)
            return await self._stream(request, upstream, out_headers)
        finally:
            upstream.close()

    async def _stream(
        self, request: web.Request, upstream: aiohttp.ClientResponse, headers: dict[str, str]
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=upstream.status, headers=headers)
        response.enable_chunked_encoding()
        transport = request.transport
        assert transport is not None
        entry = (transport, upstream)
        self._streams.add(entry)
        async with self._arrived:
            self._arrived.notify_all()
        try:
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
        except (ConnectionError, aiohttp.ClientError, RuntimeError):
            pass  # cut by drop_streams, or the client went away
        finally:
            self._streams.discard(entry)
        return response


def load(path: pathlib.Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


@functools.cache
def _crds() -> tuple[dict[str, Any], ...]:
    return tuple(load(path) for path in sorted(CRDS.glob("*.yaml")))


def crds() -> list[dict[str, Any]]:
    """The repository's CRDs (parsed once per test session; copies, so tests may change them)."""
    return copy.deepcopy(list(_crds()))


namespace = manifests.namespace


def configmap(name: str, namespace: str = "prod", **data: str) -> dict[str, Any]:
    return manifests.configmap(name, namespace, data=data)


def deployment(name: str = "podinfo", namespace: str = "prod") -> dict[str, Any]:
    containers = [
        {"name": "podinfod", "image": "stefanprodan/podinfo:3.1.0"},
        {"name": "sidecar", "image": "busybox:1"},
    ]
    return manifests.deployment(name, namespace, containers)


def podinfo_canary() -> dict[str, Any]:
    """The seed's Canary, as the user wrote it (flagger.app/v1alpha3)."""
    return load(PODINFO_CANARY)


def make_certificate(directory: pathlib.Path, name: str) -> tuple[pathlib.Path, pathlib.Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as ``<name>.crt`` and ``<name>.key``."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=kubernetes",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


START = datetime.datetime(2026, 11, 29, 8, 0, 0, tzinfo=datetime.UTC)
"""When the Events of the event tests are recorded (:class:`Clock`)."""


class Clock:
    """A clock that stands still until advanced."""

    def __init__(self) -> None:
        self.moment = START

    def now(self) -> datetime.datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += datetime.timedelta(seconds=seconds)
