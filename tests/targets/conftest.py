"""Fixtures of the target tests: a local API server with the CRDs, a Kube client, a target.

Each test gets its own API server on a free loopback port (it starts in milliseconds) with the
Canary CRDs and namespace ``prod``, and a :class:`serinus.kube.Kube` talking to it over HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from serinus.apis.crds import custom_resource_definitions
from serinus.kube import Kube, KubeSettings
from serinus.sandbox.apiserver import ApiServer
from serinus.targets.daemonset import DaemonSetTarget
from serinus.targets.deployment import DeploymentTarget
from tests.support import manifests
from tests.targets.support import NS


@pytest.fixture
async def kube(api: ApiServer) -> AsyncIterator[Kube]:
    async with Kube(KubeSettings.for_server(api.url, namespace=NS)) as client:
        await manifests.create_all(
            client, namespaces=[NS], crds=custom_resource_definitions().values()
        )
        yield client


@pytest.fixture
def deployments(kube: Kube) -> DeploymentTarget:
    return DeploymentTarget(kube)


@pytest.fixture
def daemonsets(kube: Kube) -> DaemonSetTarget:
    return DaemonSetTarget(kube)
