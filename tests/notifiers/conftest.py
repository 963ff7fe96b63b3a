"""Fixtures for the notifier tests: a recording chat service on loopback, resources, a clock.

The chat service is a :class:`tests.support.receiver.Receiver` that plays Slack, Teams and the
others: it records every request (method, path, Host, headers, JSON body) and answers 200 "ok"
unless a path is scripted to answer something else. Tests point AlertProviders at paths of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from tests.support import receiver
from tests.support.receiver import Receiver

from serinus.apis.canary import Canary


@pytest.fixture
async def chat() -> AsyncIterator[Receiver]:
    async with receiver.serving() as service:
        yield service


@pytest.fixture
async def proxy() -> AsyncIterator[Receiver]:
    """A second recorder, used as an HTTP proxy: it sees absolute-form requests."""
    async with receiver.serving() as service:
        yield service


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
