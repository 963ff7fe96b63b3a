"""What a real cluster's controllers put in every namespace: the ``default`` ServiceAccount and
the ``kube-root-ca.crt`` ConfigMap.

Pods name ``serviceAccountName: default`` without creating it, and charts and tools read the
cluster's CA from ``kube-root-ca.crt``; on a real cluster the service-account and root-CA
publisher controllers add both shortly after a namespace appears (and put them back when they are
deleted). Here they are created right after the namespace, by the ``kube-controller-manager``
field manager, so ``kubectl get sa,cm -n NEW`` shows what it shows on a cluster.

The CA is the cluster's (``pki``): it signs the certificate of the API server's TLS port, which
pods reach as ``kubernetes.default.svc``.
"""

from __future__ import annotations

import logging

from serinus.errors import SerinusError
from serinus.sandbox.apiserver import pki, writes
from serinus.sandbox.apiserver.cluster import NAMESPACES, Cluster
from serinus.sandbox.apiserver.objects import Obj, metadata, name_of

logger = logging.getLogger(__name__)

ROOT_CA = "kube-root-ca.crt"
_CONTROLLERS = writes.WriteOptions(field_manager="kube-controller-manager")


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
    """The cluster's CA certificate (PEM); empty when openssl cannot make one."""
    try:
        return pki.authority(cluster)[0]
    except SerinusError as error:
        logger.warning("no cluster CA for %s: %s", ROOT_CA, error)
        return ""


def install(cluster: Cluster) -> None:
    """Populate every namespace the cluster creates from now on (and those it already has)."""

    def created(storage: str, obj: Obj) -> None:
        if storage == NAMESPACES and not metadata(obj).get("deletionTimestamp"):
            populate(cluster, name_of(obj))

    cluster.creation_hooks.append(created)
    for namespace in cluster.store.items(NAMESPACES):
        created(NAMESPACES, namespace)
