"""Fixtures of the API server tests: a server on a free loopback port, an HTTP client, kubectl.

Each test gets its own server (they start in milliseconds) and, for kubectl, its own discovery
cache directory: kubectl caches discovery per host:port for six hours, and a cache left by an
earlier server on a reused port would point it at resources the new server does not serve.
"""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator

import pytest

from serinus.sandbox.apiserver import ApiServer
from tests.sandbox.apiserver.support import Kubectl


@pytest.fixture
async def api() -> AsyncIterator[ApiServer]:
    async with ApiServer(port=0, bookmark_interval=0.2) as server:
        yield server


@pytest.fixture
def kubectl(api: ApiServer, tmp_path: pathlib.Path) -> Kubectl:
    return Kubectl(api.write_kubeconfig(tmp_path / "kubeconfig"), tmp_path / "kube-cache")
