"""Fixtures of the operator tests: a cluster on loopback, the kubelet, real Prometheus servers.

Each test gets its own API server (it starts in milliseconds) and kubelet. Prometheus is shared
per module: ``prometheus`` scrapes nothing and answers the tests' MetricTemplates (``vector(...)``
queries, exact and immediate); ``linkerd`` scrapes a Linkerd-shaped exporter every second for the
seed's built-in metrics (its first samples come ~6 s after start, so it is paid once per module).
"""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator, Iterator

import pytest

from serinus.sandbox.prometheus import Prometheus, ScrapeTarget
from tests.operator.support import NS, Cluster, Kubelet, cluster
from tests.operator.traffic import LinkerdExporter


@pytest.fixture
async def k8s(tmp_path: pathlib.Path) -> AsyncIterator[Cluster]:
    async with cluster(tmp_path) as found:
        yield found


@pytest.fixture
async def kubelet(k8s: Cluster) -> AsyncIterator[Kubelet]:
    async with Kubelet(k8s.kube) as running:
        yield running


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    with Prometheus(tmp_path_factory.mktemp("prometheus")) as server:
        yield server


@pytest.fixture(scope="module")
def linkerd(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LinkerdExporter, Prometheus]]:
    """Linkerd's proxy metrics for podinfo and podinfo-primary, scraped by a real Prometheus."""
    with LinkerdExporter(NS, {"podinfo": 10.0, "podinfo-primary": 10.0}) as exporter:
        target = ScrapeTarget("linkerd-proxy", exporter.address)
        directory = tmp_path_factory.mktemp("linkerd-prometheus")
        with Prometheus(directory, [target], scrape_interval=1.0) as server:
            yield exporter, server
