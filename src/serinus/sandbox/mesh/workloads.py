"""Which pods stand behind a Service port, and which Deployment or StatefulSet each belongs to.

The proxy forwards to the ready addresses of a Service's core/v1 Endpoints, exactly as kube-proxy
does: a Service port reaches the Endpoints port of the same name, and only ``addresses`` (not
``notReadyAddresses``) receive traffic. Each address is labelled with its pod, found by the
address's ``targetRef`` (or, when the writer left it out, by pod IP within the namespace).

The pod's Deployment is what Flagger's Linkerd queries select on (``deployment=~"podinfo"`` must
match the canary's pods and never ``podinfo-primary``'s). Linkerd's injector finds it through
ownerReferences, Pod -> ReplicaSet -> Deployment; so does :func:`deployment_of`. While a pod's
ReplicaSet has not reached the proxy's cache yet (separate watch streams), the name is derived
from the ReplicaSet's name minus the pod's ``pod-template-hash``, which the Deployment controller
guarantees. A pod owned by a StatefulSet carries the ``statefulset`` label instead, as Linkerd
labels it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from serinus.apis.base import Manifest
from serinus.sandbox.mesh.objects import Key, as_list, as_map, dig, key_of

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One pod address that can take a request, with the labels its metrics carry."""

    ip: str
    port: int
    namespace: str
    pod: str
    deployment: str
    statefulset: str = ""

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


class Workloads:
    """Pods and ReplicaSets indexed for endpoint labelling (built once per routing table)."""

    def __init__(self, pods: Mapping[Key, Manifest], replicasets: Mapping[Key, Manifest]) -> None:
        self._pods = pods
        self._replicasets = replicasets
        self._by_ip: dict[tuple[str, str], Manifest] = {}
        for (namespace, _), pod in pods.items():
            ip = dig(pod, "status", "podIP")
            if isinstance(ip, str) and ip:
                self._by_ip[(namespace, ip)] = pod

    def endpoints(self, endpoints: Manifest | None, port_name: str) -> tuple[Endpoint, ...]:
        """The ready addresses of ``endpoints`` on the port named ``port_name`` ("" if unnamed)."""
        if endpoints is None:
            return ()
        namespace = key_of(endpoints)[0]
        found: list[Endpoint] = []
        for subset in as_list(endpoints.get("subsets")):
            port = _port_named(as_map(subset), port_name)
            if port is None:
                continue
            for address in as_list(as_map(subset).get("addresses")):
                ip = as_map(address).get("ip")
                if not isinstance(ip, str) or not ip:
                    continue
                pod = self._pod_of(namespace, as_map(address))
                found.append(
                    Endpoint(
                        ip=ip,
                        port=port,
                        namespace=namespace,
                        pod=key_of(pod)[1] if pod else "",
                        deployment=self.deployment_of(pod) if pod else "",
                        statefulset=statefulset_of(pod) if pod else "",
                    )
                )
        return tuple(sorted(found, key=lambda endpoint: (endpoint.ip, endpoint.port)))

    def _pod_of(self, namespace: str, address: dict[str, object]) -> Manifest | None:
        target = as_map(address.get("targetRef"))
        if target.get("kind") == "Pod" and target.get("name"):
            pod_namespace = str(target.get("namespace") or namespace)
            pod = self._pods.get((pod_namespace, str(target["name"])))
            if pod is not None:
                return pod
        return self._by_ip.get((namespace, str(address.get("ip"))))

    def deployment_of(self, pod: Manifest) -> str:
        """The name of the Deployment owning ``pod`` through its ReplicaSet, or "" if none."""
        owner = _controller(pod)
        if owner is None or owner.get("kind") != "ReplicaSet":
            return ""
        namespace = key_of(pod)[0]
        replicaset_name = str(owner.get("name") or "")
        replicaset = self._replicasets.get((namespace, replicaset_name))
        if replicaset is not None:
            deployment = _controller(replicaset)
            if deployment is None or deployment.get("kind") != "Deployment":
                return ""
            return str(deployment.get("name") or "")
        template_hash = as_map(dig(pod, "metadata", "labels")).get("pod-template-hash")
        if isinstance(template_hash, str) and replicaset_name.endswith(f"-{template_hash}"):
            return replicaset_name[: -len(template_hash) - 1]
        return ""


def statefulset_of(pod: Manifest) -> str:
    """The name of the StatefulSet owning ``pod``, or "" if none."""
    owner = _controller(pod)
    if owner is None or owner.get("kind") != "StatefulSet":
        return ""
    return str(owner.get("name") or "")


def _controller(manifest: Manifest) -> dict[str, object] | None:
    for reference in as_list(dig(manifest, "metadata", "ownerReferences")):
        if as_map(reference).get("controller") is True:
            return as_map(reference)
    return None


def _port_named(subset: dict[str, object], name: str) -> int | None:
    ports = [as_map(port) for port in as_list(subset.get("ports"))]
    for port in ports:
        number = port.get("port")
        if str(port.get("name") or "") == name and isinstance(number, int):
            return number
    return None
