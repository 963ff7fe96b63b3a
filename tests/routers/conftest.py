"""Fixtures of the router tests: a local API server with the mesh CRDs, a client, a target.

Each test gets its own API server (it starts in milliseconds) with the Canary, TrafficSplit,
HTTPRoute, VirtualService and DestinationRule CRDs, the ``prod`` namespace and the ``podinfo``
Deployment (``app: podinfo``, port ``http`` 9898) that the Canaries target.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from serinus.kube import KubeSettings
from serinus.sandbox.apiserver import ApiServer
from tests.routers.support import NAMESPACE, CountingKube, crds, deployment
from tests.support import manifests


@pytest.fixture
async def kube(api: ApiServer) -> AsyncIterator[CountingKube]:
    async with CountingKube(KubeSettings.for_server(api.url, namespace=NAMESPACE)) as client:
        await manifests.create_all(
            client, crds=crds(), namespaces=[NAMESPACE], objects=[deployment()]
        )
        client.writes = 0
        yield client
