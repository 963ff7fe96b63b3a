"""Fixtures for the webhook tests: a recording HTTP receiver on loopback, Secrets, a fixed clock.

The receiver is a real aiohttp server on 127.0.0.1 (port 0). Each test scripts its answers
(status and body per request, optionally a delay) and reads back what arrived: method, path,
headers and the exact body bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from serinus.apis.alert_provider import AlertProvider
from serinus.apis.canary import Canary
from serinus.apis.metric_template import MetricTemplate
from serinus.errors import NotFoundError


@dataclasses.dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclasses.dataclass
class Answer:
    status: int = 200
    body: str = ""
    delay: float = 0.0


class Receiver:
    """A webhook receiver that records requests and answers from a script."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: list[Answer] = []
        self.default = Answer()
        self.url = ""
        self.release = asyncio.Event()

    def answer(self, status: int = 200, body: str = "", *, delay: float = 0.0) -> None:
        """Script the answer to the next request not yet scripted."""
        self.answers.append(Answer(status, body, delay))

    def always(self, status: int, body: str = "") -> None:
        """The answer once the script is used up."""
        self.default = Answer(status, body)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(
            Received(request.method, request.path, dict(request.headers), await request.read())
        )
        answer = self.answers.pop(0) if self.answers else self.default
        if answer.delay:
            # Wait until the test ends (or the delay passes), so no handler outlives the test.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), answer.delay)
        return web.Response(status=answer.status, text=answer.body)


async def start_server(
    handler: Callable[[web.Request], Any], ssl_context: Any = None
) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    return runner, port


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    runner, port = await start_server(recv.handle)
    recv.url = f"http://127.0.0.1:{port}"
    yield recv
    recv.release.set()
    await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1, made with the openssl command."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class MemoryResources:
    """An in-memory ``Resources``: MetricTemplates, AlertProviders and Secrets by namespace/name."""

    def __init__(self) -> None:
        self.templates: dict[tuple[str, str], MetricTemplate] = {}
        self.providers: dict[tuple[str, str], AlertProvider] = {}
        self.secrets: dict[tuple[str, str], dict[str, str]] = {}

    async def metric_template(self, namespace: str, name: str) -> MetricTemplate:
        return self._get(self.templates, "MetricTemplate", namespace, name)

    async def alert_provider(self, namespace: str, name: str) -> AlertProvider:
        return self._get(self.providers, "AlertProvider", namespace, name)

    async def secret(self, namespace: str, name: str) -> dict[str, str]:
        return self._get(self.secrets, "Secret", namespace, name)

    @staticmethod
    def _get(store: dict[tuple[str, str], Any], kind: str, namespace: str, name: str) -> Any:
        try:
            return store[(namespace, name)]
        except KeyError:
            raise NotFoundError(f"{kind} {namespace}/{name} not found") from None


@pytest.fixture
async def tls_receiver(self_signed: tuple[Path, Path]) -> AsyncIterator[Receiver]:
    """The same receiver behind HTTPS with a self-signed certificate."""
    cert, key = self_signed
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    recv = Receiver()
    runner, port = await start_server(recv.handle, ssl_context=context)
    recv.url = f"https://127.0.0.1:{port}"
    yield recv
    recv.release.set()
    await runner.cleanup()


@pytest.fixture
def resources() -> MemoryResources:
    return MemoryResources()


class FixedClock:
    def __init__(self, when: datetime.datetime) -> None:
        self.when = when

    def now(self) -> datetime.datetime:
        return self.when


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=datetime.UTC))


@pytest.fixture
def make_canary() -> Callable[..., Canary]:
    """Builds podinfo in namespace test, with the given status fields (camelCase)."""
    return new_canary


def new_canary(**status: Any) -> Canary:
    document: dict[str, Any] = {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": "test"},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "service": {"port": 9898},
            "analysis": {"interval": "1m", "threshold": 5, "stepWeight": 10, "maxWeight": 50},
        },
    }
    if status:
        document["status"] = status
    return Canary.model_validate(document)
