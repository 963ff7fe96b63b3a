"""Fixtures of the mesh proxy tests: a real API server, a Kube client, the podinfo canary setup.

``podinfo`` builds what Flagger leaves in a namespace once a Canary is initialised: Deployments
``podinfo-primary`` and ``podinfo`` (the canary) with one pod each, Services ``podinfo`` (the apex,
selecting the primary pods), ``podinfo-primary`` and ``podinfo-canary``, and their Endpoints. The
traffic object (TrafficSplit or HTTPRoute) is left to each test. ``proxy`` is a MeshProxy watching
that API server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from serinus.kube import Kube, KubeSettings
from serinus.sandbox.apiserver import ApiServer
from serinus.sandbox.mesh import MeshProxy
from tests.sandbox.mesh.support import Cluster, Podinfo, new_cluster, podinfo_setup


@pytest.fixture
async def kube(api: ApiServer) -> AsyncIterator[Kube]:
    async with Kube(KubeSettings.for_server(api.url)) as client:
        yield client


@pytest.fixture
async def cluster(http: httpx.AsyncClient) -> AsyncIterator[Cluster]:
    """A fresh namespace; the pod servers started in it are stopped at the end."""
    created = await new_cluster(http)
    yield created
    await created.stop_pods()


@pytest.fixture
async def podinfo(cluster: Cluster) -> Podinfo:
    return await podinfo_setup(cluster)


@pytest.fixture
async def proxy(kube: Kube) -> AsyncIterator[MeshProxy]:
    async with MeshProxy(kube) as mesh:
        yield mesh


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10, trust_env=False) as session:
        yield session
