"""Fixtures of the GitOps tests: an API server with Flux's kinds, a Git repository, an applier.

The repository is a real one (the machine's git) in the test's directory; commits carry a fixed
author, so they need no git configuration on the machine. The applier runs in the test's event
loop against a real API server, looking at the branch every 0.1 s.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import subprocess
from collections.abc import AsyncIterator

import pytest
import yaml

from serinus.kube import Kube, KubeSettings
from serinus.sandbox import manifests as bundled
from serinus.sandbox.apiserver import ApiServer
from serinus.sandbox.gitops import Applier, Repository
from tests.support import manifests

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


class Checkout:
    """The working copy a user edits and commits in."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def write(self, name: str, *documents: dict) -> None:  # type: ignore[type-arg]
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump_all(documents, sort_keys=False))

    def remove(self, name: str) -> None:
        (self.path / name).unlink()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "--quiet", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(self.path), *args],
            capture_output=True, text=True, env={**os.environ, **IDENTITY}, check=True,
        )  # fmt: skip
        return done.stdout


@pytest.fixture
async def api() -> AsyncIterator[ApiServer]:
    async with ApiServer(port=0) as server:
        yield server


@pytest.fixture
async def kube(api: ApiServer) -> AsyncIterator[Kube]:
    async with Kube(KubeSettings(server=api.url, user_agent="kustomize-controller/v1")) as client:
        await manifests.create_all(client, namespaces=["prod"])
        for manifest in bundled.load("flux.yaml"):
            await client.apply(manifest, field_manager="serinus-sandbox")
        yield client


@pytest.fixture
async def checkout(tmp_path: pathlib.Path) -> Checkout:
    repository = await Repository.prepare(tmp_path / "fleet")
    return Checkout(repository.path)


@pytest.fixture
async def applier(kube: Kube, checkout: Checkout, tmp_path: pathlib.Path) -> AsyncIterator[Applier]:
    repository = await Repository.prepare(checkout.path)
    applying = Applier(kube, repository, interval=3600, poll=0.1, scratch=tmp_path)
    stop = asyncio.Event()
    task = asyncio.create_task(applying.run(stop))
    yield applying
    stop.set()
    await task
