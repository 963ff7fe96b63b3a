"""Fixtures for the webhook tests: a recording HTTP receiver on loopback, Secrets, a fixed clock.

The receiver is a :class:`tests.support.receiver.Receiver` (HTTP, or HTTPS with a throwaway
self-signed certificate). Each test scripts its answers (status and body per request, optionally
a delay) and reads back what arrived: method, path, headers and the exact body bytes.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from tests.support import certificates
from tests.support.receiver import Receiver, serving

from serinus.apis.canary import Canary


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving() as recv:
        yield recv


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1, made with the openssl command."""
    return certificates.self_signed(tmp_path)


@pytest.fixture
async def tls_receiver(self_signed: tuple[Path, Path]) -> AsyncIterator[Receiver]:
    """The same receiver behind HTTPS with a self-signed certificate."""
    cert, key = self_signed
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    async with serving(context) as recv:
        yield recv


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
