"""The operator watching chosen namespaces (``--namespace a,b``), as the chart's
``watchNamespaces`` runs it with a Role in each.

Covers: with Canaries in three namespaces and ``--namespace team-a,team-b``, the operator starts
by naming both, creates ``podinfo-primary`` for the Canaries of team-a and team-b, and leaves the
third namespace's Canary untouched (no status, no primary) while it works on the other two.
"""

from __future__ import annotations

import pathlib

import pytest

from serinus.kube import Kube
from tests.operator.processes import Operator
from tests.operator.support import canary, cluster, deployment, eventually

pytestmark = pytest.mark.slow  # starts the operator process


def placed(manifest: dict, namespace: str) -> dict:
    manifest["metadata"]["namespace"] = namespace
    return manifest


async def primary(kube: Kube, namespace: str) -> bool:
    return await kube.get("apps/v1", "Deployment", "podinfo-primary", namespace) is not None


async def test_only_the_chosen_namespaces_are_watched(tmp_path: pathlib.Path) -> None:
    namespaces = ("team-a", "team-b", "team-c")
    async with cluster(tmp_path, namespaces=namespaces) as k8s:
        for namespace in namespaces:
            await k8s.kube.create(placed(deployment(), namespace))
            await k8s.kube.create(placed(canary("podinfo", interval="1s"), namespace))
        operator = Operator(
            k8s.kubeconfig,
            tmp_path / "operator.log",
            metrics_server="http://127.0.0.1:9",
            extra=("--namespace", "team-a,team-b"),
        )
        with operator:
            await operator.metrics_port()
            for namespace in ("team-a", "team-b"):
                await eventually(
                    lambda ns=namespace: primary(k8s.kube, ns), bool, what=f"primary in {namespace}"
                )
            untouched = await k8s.kube.get("flagger.app/v1beta1", "Canary", "podinfo", "team-c")
            assert untouched is not None
            assert "status" not in untouched
            assert not await primary(k8s.kube, "team-c")
        assert any("namespace team-a, team-b" in m for m in operator.messages())
