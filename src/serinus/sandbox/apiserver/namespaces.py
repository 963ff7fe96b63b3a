"""What a real cluster's controllers put in every namespace: the ``default`` ServiceAccount and
the ``kube-root-ca.crt`` ConfigMap.

Pods name ``serviceAccountName: default`` without creating it, and charts and tools read the
cluster's CA from ``kube-root-ca.crt``; on a real cluster the service-account and root-CA
publisher controllers add both shortly after a namespace appears (and put them back when they are
deleted). Here they are created right after the namespace, by the ``kube-controller-manager``
field manager, so ``kubectl get sa,cm -n NEW`` shows what it shows on a cluster.

The CA is a real self-signed certificate made with ``openssl`` once per cluster and kept in
the published copies, so every namespace carries the same one across restarts. The sandbox
serves plain HTTP, so nothing is signed with it: it is there for clients that mount or read it.
"""

from __future__ import annotations

import logging
import pathlib
import subprocess
import tempfile

from serinus.sandbox.apiserver import writes
from serinus.sandbox.apiserver.cluster import NAMESPACES, Cluster
from serinus.sandbox.apiserver.objects import Obj, as_map, metadata, name_of

logger = logging.getLogger(__name__)

ROOT_CA = "kube-root-ca.crt"
_CONTROLLERS = writes.WriteOptions(field_manager="kube-controller-manager")
_CA_HOLDER = "kube-system"


def populate(cluster: Cluster, namespace: str) -> None:
    """Add the default ServiceAccount and the root CA ConfigMap to ``namespace`` if missing."""
    accounts = cluster.registry.lookup("", "v1", "serviceaccounts")
    configmaps = cluster.registry.lookup("", "v1", "configmaps")
    if accounts is None or configmaps is None:
        return
    if cluster.find(accounts, namespace, "default") is None:
        body: Obj = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}
        writes.create(cluster, accounts, namespace, body, _CONTROLLERS)
    if cluster.find(configmaps, namespace, ROOT_CA) is None:
        config: Obj = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": ROOT_CA,
                "annotations": {
                    "kubernetes.io/description": "Contains a CA bundle that can be used to "
                    "verify the kube-apiserver when using internal endpoints such as the "
                    "internal service IP or kubernetes.default.svc. No other usage is guaranteed "
                    "across distributions of Kubernetes clusters."
                },
            },
            "data": {"ca.crt": cluster_ca(cluster)},
        }
        writes.create(cluster, configmaps, namespace, config, _CONTROLLERS)


def cluster_ca(cluster: Cluster) -> str:
    """The cluster's CA certificate (PEM): the one already published (``kube-system``'s copy
    first), else a new one."""
    held = cluster.store.get("configmaps", _CA_HOLDER, ROOT_CA)
    published = [held] if held else []
    published += [c for c in cluster.store.items("configmaps") if name_of(c) == ROOT_CA]
    for configmap in published:
        pem = as_map(configmap.get("data")).get("ca.crt")
        if pem:
            return str(pem)
    return _new_ca()


def _new_ca() -> str:
    with tempfile.TemporaryDirectory(prefix="serinus-ca-") as folder:
        key, cert = pathlib.Path(folder, "ca.key"), pathlib.Path(folder, "ca.crt")
        command = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "3650", "-subj", "/CN=serinus-sandbox-ca",
            "-keyout", str(key), "-out", str(cert),
        ]  # fmt: skip
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as error:
            logger.warning("no cluster CA for kube-root-ca.crt (openssl failed: %s)", error)
            return ""
        return cert.read_text()


def install(cluster: Cluster) -> None:
    """Populate every namespace the cluster creates from now on (and those it already has)."""

    def created(storage: str, obj: Obj) -> None:
        if storage == NAMESPACES and not metadata(obj).get("deletionTimestamp"):
            populate(cluster, name_of(obj))

    cluster.creation_hooks.append(created)
    for namespace in cluster.store.items(NAMESPACES):
        created(NAMESPACES, namespace)
