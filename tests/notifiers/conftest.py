"""Fixtures for the notifier tests: a recording chat service on loopback, resources, a clock.

The chat service is a real aiohttp server on 127.0.0.1 (port 0) that plays Slack, Teams and the
others: it records every request (method, path, Host, headers, JSON body) and answers 200 "ok"
unless a path is scripted to answer something else. Tests point AlertProviders at paths of it.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import AsyncIterator, Callable
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
    url: str
    headers: dict[str, str]
    payload: Any


class ChatService:
    """Records what it is sent; answers per path."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: dict[str, tuple[int, str]] = {}
        self.url = ""

    def fail(self, path: str, status: int, body: str) -> None:
        self.answers[path] = (status, body)

    def paths(self) -> list[str]:
        return [r.path for r in self.received]

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.received.append(
            Received(
                request.method,
                request.path,
                str(request.url),
                dict(request.headers),
                json.loads(raw) if raw else None,
            )
        )
        status, body = self.answers.get(request.path, (200, "ok"))
        return web.Response(status=status, text=body)


async def _serve(service: ChatService) -> web.AppRunner:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", service.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    service.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    return runner


@pytest.fixture
async def chat() -> AsyncIterator[ChatService]:
    service = ChatService()
    runner = await _serve(service)
    yield service
    await runner.cleanup()


@pytest.fixture
async def proxy() -> AsyncIterator[ChatService]:
    """A second recorder, used as an HTTP proxy: it sees absolute-form requests."""
    service = ChatService()
    runner = await _serve(service)
    yield service
    await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


class MemoryResources:
    """An in-memory ``Resources``: MetricTemplates, AlertProviders and Secrets by namespace/name."""

    def __init__(self) -> None:
        self.templates: dict[tuple[str, str], MetricTemplate] = {}
        self.providers: dict[tuple[str, str], AlertProvider] = {}
        self.secrets: dict[tuple[str, str], dict[str, str]] = {}

    def add_provider(self, name: str, namespace: str = "test", **spec: Any) -> None:
        self.providers[(namespace, name)] = AlertProvider.model_validate(
            {"metadata": {"name": name, "namespace": namespace}, "spec": spec}
        )

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


def new_canary(alerts: list[dict[str, Any]] | None = None, **analysis: Any) -> Canary:
    """podinfo in namespace test; ``analysis`` fields (camelCase) replace the defaults."""
    spec_analysis: dict[str, Any] = {"interval": "1m", "threshold": 5, "stepWeight": 10}
    spec_analysis.update(analysis)
    if alerts is not None:
        spec_analysis["alerts"] = alerts
    return Canary.model_validate(
        {
            "metadata": {"name": "podinfo", "namespace": "test"},
            "spec": {
                "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
                "service": {"port": 9898},
                "analysis": spec_analysis,
            },
        }
    )


@pytest.fixture
def make_canary() -> Callable[..., Canary]:
    return new_canary
