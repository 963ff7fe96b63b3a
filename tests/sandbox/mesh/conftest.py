"""Fixtures of the mesh proxy tests: a real API server, a Kube client, the podinfo canary setup.

``podinfo`` builds what Flagger leaves in a namespace once a Canary is initialised: Deployments
``podinfo-primary`` and ``podinfo`` (the canary) with one pod each, Services ``podinfo`` (the apex,
selecting the primary pods), ``podinfo-primary`` and ``podinfo-canary``, and their Endpoints. The
traffic object (TrafficSplit or HTTPRoute) is left to each test. ``proxy`` is a MeshProxy watching
that API server.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import AsyncIterator

import httpx
import pytest

from serinus.kube import Kube, KubeSettings
from serinus.sandbox.apiserver import ApiServer
from serinus.sandbox.mesh import MeshProxy
from tests.sandbox.mesh.support import SERVICE_PORT, Cluster, Pod


@dataclasses.dataclass
class Podinfo:
    apex: str
    primary: str
    canary: str
    primary_pods: list[Pod]
    canary_pods: list[Pod]

    @property
    def apex_url(self) -> str:
        return f"http://{self.apex}:{SERVICE_PORT}"

    @property
    def canary_url(self) -> str:
        return f"http://{self.canary}:{SERVICE_PORT}"

    @property
    def primary_url(self) -> str:
        return f"http://{self.primary}:{SERVICE_PORT}"


@pytest.fixture
async def api() -> AsyncIterator[ApiServer]:
    async with ApiServer(port=0) as server:
        yield server


@pytest.fixture
async def http(api: ApiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
        yield client


@pytest.fixture
async def kube(api: ApiServer) -> AsyncIterator[Kube]:
    async with Kube(KubeSettings.for_server(api.url)) as client:
        yield client


@pytest.fixture
async def cluster(http: httpx.AsyncClient) -> AsyncIterator[Cluster]:
    """A fresh namespace; the pod servers started in it are stopped at the end."""
    namespace = f"prod-{random.randrange(16**6):06x}"
    await http.post(
        "/api/v1/namespaces",
        json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
    )
    created = Cluster(http, namespace)
    yield created
    await created.stop_pods()


@pytest.fixture
async def podinfo(cluster: Cluster) -> Podinfo:
    await cluster.install_crds()
    primary_pods = await cluster.deployment("podinfo-primary", 1)
    canary_pods = await cluster.deployment("podinfo", 1)
    setup = Podinfo(
        apex=await cluster.service("podinfo", app="podinfo-primary"),
        primary=await cluster.service("podinfo-primary"),
        canary=await cluster.service("podinfo-canary", app="podinfo"),
        primary_pods=primary_pods,
        canary_pods=canary_pods,
    )
    await cluster.endpoints("podinfo", primary_pods)
    await cluster.endpoints("podinfo-primary", primary_pods)
    await cluster.endpoints("podinfo-canary", canary_pods)
    return setup


@pytest.fixture
async def proxy(kube: Kube) -> AsyncIterator[MeshProxy]:
    async with MeshProxy(kube) as mesh:
        yield mesh


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10, trust_env=False) as session:
        yield session
