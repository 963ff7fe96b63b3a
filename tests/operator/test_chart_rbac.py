"""The operator chart's RBAC, enforced: the real operator, signed in as the chart's ServiceAccount
to an API server that checks every request against Roles and bindings, with only the chart's
default ClusterRole.

Covers: that ClusterRole is enough to initialize a Canary whose target uses a ConfigMap and a
Secret (the ConfigMap is copied to ``-primary``; the Secret, under the chart's
``--no-track-secrets``, is used as it is and never copied); the ServiceAccount may read a Secret
but not create one (403, checked with its own token); and the operator's log holds no refusal.
"""

from __future__ import annotations

import pathlib
from typing import Any

import httpx
import pytest
import yaml

from serinus.kube import Kube
from tests.deploy.support import SERINUS_CHART, container, helm_template, only
from tests.operator.processes import Operator
from tests.operator.support import NS, Kubelet, canary, cluster, deployment, wait_phase

pytestmark = pytest.mark.slow  # starts the operator process

RELEASE_NS = "serinus-system"


def chart() -> list[dict[str, Any]]:
    return helm_template(SERINUS_CHART, release="serinus", namespace=RELEASE_NS)


async def token_for(url: str, namespace: str, account: str) -> str:
    """A ServiceAccount token, as ``kubectl create token`` gets it."""
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    async with httpx.AsyncClient(base_url=url) as admin:
        answer = await admin.post(
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token", json=request
        )
    answer.raise_for_status()
    return str(answer.json()["status"]["token"])


def token_kubeconfig(path: pathlib.Path, url: str, token: str) -> pathlib.Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "sandbox", "cluster": {"server": url}}],
        "users": [{"name": "serinus", "user": {"token": token}}],
        "contexts": [{"name": "serinus", "context": {"cluster": "sandbox", "user": "serinus"}}],
        "current-context": "serinus",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def uses_config(manifest: dict[str, Any]) -> dict[str, Any]:
    podinfo = manifest["spec"]["template"]["spec"]["containers"][0]
    podinfo["envFrom"] = [
        {"configMapRef": {"name": "podinfo-config"}},
        {"secretRef": {"name": "podinfo-keys"}},
    ]
    return manifest


async def get(kube: Kube, kind: str, name: str) -> dict[str, Any] | None:
    return await kube.get("apps/v1" if kind == "Deployment" else "v1", kind, name, NS)


async def test_the_charts_cluster_role_is_enough_and_secrets_stay_read_only(
    tmp_path: pathlib.Path,
) -> None:
    rendered = chart()
    args = container(only(rendered, "Deployment"))["args"]
    assert "--no-track-secrets" in args
    async with cluster(tmp_path, namespaces=(NS, RELEASE_NS)) as k8s:
        for manifest in rendered:
            if manifest["kind"] in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding"):
                await k8s.kube.create(manifest)
        token = await token_for(k8s.api.url, RELEASE_NS, "serinus")
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "podinfo-keys"},
                  "type": "Opaque", "stringData": {"api": "s3cr3t"}}  # fmt: skip
        async with httpx.AsyncClient(
            base_url=k8s.api.url, headers={"Authorization": f"Bearer {token}"}
        ) as as_operator:
            refused = await as_operator.post(f"/api/v1/namespaces/{NS}/secrets", json=secret)
            assert refused.status_code == 403
            await k8s.kube.create({**secret, "metadata": {"name": "podinfo-keys", "namespace": NS}})
            read = await as_operator.get(f"/api/v1/namespaces/{NS}/secrets/podinfo-keys")
            assert read.status_code == 200
        await k8s.kube.create(
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "podinfo-config", "namespace": NS}, "data": {"color": "blue"}}
        )  # fmt: skip
        await k8s.kube.create(uses_config(deployment()))
        await k8s.kube.create(canary("podinfo", interval="1s"))

        operator = Operator(
            token_kubeconfig(tmp_path / "operator-kubeconfig", k8s.api.url, token),
            tmp_path / "operator.log",
            metrics_server="http://127.0.0.1:9",
            extra=("--no-track-secrets",),
        )
        async with Kubelet(k8s.kube):
            with operator:
                await operator.metrics_port()
                await wait_phase(k8s.kube, "podinfo", "Initialized")

        assert await get(k8s.kube, "ConfigMap", "podinfo-config-primary") is not None
        assert await get(k8s.kube, "Secret", "podinfo-keys-primary") is None
        primary = await get(k8s.kube, "Deployment", "podinfo-primary")
        assert primary is not None
        env_from = primary["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        assert env_from == [
            {"configMapRef": {"name": "podinfo-config-primary"}},
            {"secretRef": {"name": "podinfo-keys"}},
        ]
        refusals = [m for m in operator.messages() if "forbidden" in m.lower()]
        assert refusals == []
