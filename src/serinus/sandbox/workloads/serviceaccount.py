"""A pod's service account, given to its containers as the kubelet does: in-cluster API access.

For each pod that mounts its token (``automountServiceAccountToken`` not false on the pod, else
on its ServiceAccount), a token for the pod's ServiceAccount is requested from the API server's
``token`` subresource and written with the cluster CA and the namespace to the pod's folder, which
is bind-mounted at ``/var/run/secrets/kubernetes.io/serviceaccount``; ``KUBERNETES_SERVICE_HOST``
and ``KUBERNETES_SERVICE_PORT`` point at the API server's TLS port. A program using in-cluster
configuration (the operator installed from its chart) thus reaches the API as its
ServiceAccount, and RBAC decides what it may do, as in a cluster.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import pathlib
import urllib.parse
from typing import Any

import httpx
import yaml

from serinus.apis.base import Manifest
from serinus.errors import SerinusError

MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
TLS_CONTEXT = "serinus-sandbox-tls"
_SECONDS = 3607  # what the kubelet asks for (an hour and a few seconds), refreshed on restart


@dataclasses.dataclass(frozen=True)
class InCluster:
    """Where pods reach the API server: the TLS address and CA, and the plain URL to ask on."""

    api_url: str
    host: str
    port: int
    ca: str

    @classmethod
    def from_kubeconfig(cls, path: pathlib.Path) -> InCluster | None:
        """The TLS cluster of a sandbox kubeconfig; None when it has none."""
        config: Any = yaml.safe_load(path.read_text())
        clusters = {c["name"]: c["cluster"] for c in config.get("clusters") or []}
        secure = clusters.get(TLS_CONTEXT)
        plain = clusters.get(config.get("current-context"))
        if secure is None or plain is None:
            return None
        address = urllib.parse.urlsplit(str(secure["server"]))
        ca = base64.b64decode(str(secure.get("certificate-authority-data", ""))).decode()
        return cls(str(plain["server"]), str(address.hostname), int(address.port or 443), ca)


def automount(pod: Manifest, account: Manifest | None) -> bool:
    spec = pod.get("spec") or {}
    if spec.get("automountServiceAccountToken") is not None:
        return bool(spec["automountServiceAccountToken"])
    if account is not None and account.get("automountServiceAccountToken") is not None:
        return bool(account["automountServiceAccountToken"])
    return True


async def project(
    api: InCluster, http: httpx.AsyncClient, pod: Manifest, folder: pathlib.Path
) -> tuple[dict[str, str], tuple[pathlib.Path, str]]:
    """Write the pod's token, CA and namespace to ``folder``; the environment and the mount."""
    meta = pod.get("metadata") or {}
    namespace = str(meta.get("namespace") or "default")
    account = str((pod.get("spec") or {}).get("serviceAccountName") or "default")
    url = f"{api.api_url}/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token"
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": _SECONDS},
    }
    try:
        response = await http.post(url, json=request, timeout=10)
    except httpx.HTTPError as error:
        raise SerinusError(f"no token for serviceaccount {namespace}/{account}: {error}") from None
    if response.status_code != 201:
        raise SerinusError(
            f"no token for serviceaccount {namespace}/{account}: HTTP {response.status_code} "
            f"{response.text[:200]}"
        )
    token = str(response.json()["status"]["token"])
    await asyncio.to_thread(
        _write, folder, {"token": token, "ca.crt": api.ca, "namespace": namespace}
    )
    env = {
        "KUBERNETES_SERVICE_HOST": api.host,
        "KUBERNETES_SERVICE_PORT": str(api.port),
        "KUBERNETES_SERVICE_PORT_HTTPS": str(api.port),
    }
    return env, (await asyncio.to_thread(folder.resolve), MOUNT)


def _write(folder: pathlib.Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
