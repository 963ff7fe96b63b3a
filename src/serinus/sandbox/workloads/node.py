"""What every pod of the sandbox's one node shares: the API, the files, the image map, addresses.

The runner builds one :class:`Node` and hands it to each pod worker, instead of a dozen
arguments. It also knows the node's own object (``kubectl get nodes`` lists it as Ready), and
the base environment of every container: PATH with this serinus' virtualenv first, HOME (the
pod's directory), HOSTNAME (the pod name), KUBECONFIG (the sandbox's, so ``kubectl`` in a pod
talks to the sandbox, as a service account would) and PYTHONUNBUFFERED (logs appear as written).
"""

from __future__ import annotations

import dataclasses
import datetime
import pathlib
import platform
import sys
from collections.abc import Callable, Mapping

import httpx

from serinus.apis.base import Manifest
from serinus.kube import Kube
from serinus.sandbox.names import Isolation
from serinus.sandbox.workloads.addresses import PodAddresses
from serinus.sandbox.workloads.events import PodEvents
from serinus.sandbox.workloads.images import ImageMap
from serinus.sandbox.workloads.layout import SandboxDir
from serinus.sandbox.workloads.serviceaccount import InCluster

Clock = Callable[[], datetime.datetime]
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HOST_IP = "127.0.0.1"


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclasses.dataclass
class Node:
    kube: Kube
    layout: SandboxDir
    images: ImageMap
    isolation: Isolation
    addresses: PodAddresses
    http: httpx.AsyncClient
    services: Callable[[], list[Manifest]]
    """The Services known now (for Service link variables)."""
    ensure_hosts: Callable[[str], pathlib.Path]
    """The hosts file of a namespace, written first when it does not exist yet."""
    name: str = "sandbox"
    extra_env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    restart_backoff: float = 10.0
    """Seconds of the first CrashLoopBackOff wait (doubling up to ``max_backoff``)."""
    max_backoff: float = 300.0
    clock: Clock = utc_now
    in_cluster: InCluster | None = None
    """The API server's TLS address: pods get their service account token (in-cluster config)."""
    events: PodEvents | None = None
    """Where the kubelet's and the scheduler's Events go (none: not recorded)."""
    pulled: set[str] = dataclasses.field(default_factory=set)
    """Images "pulled" on this node so far (``IfNotPresent`` finds them present)."""

    def base_env(self, pod_dir: pathlib.Path, pod_name: str) -> dict[str, str]:
        env = {
            "PATH": f"{pathlib.Path(sys.executable).parent}:{SYSTEM_PATH}",
            "HOME": str(pod_dir.resolve()),
            "HOSTNAME": pod_name,
            "PYTHONUNBUFFERED": "1",
            "KUBECONFIG": str(self.layout.kubeconfig.resolve()),
        }
        env.update(self.extra_env)
        return env

    def manifest(self) -> Manifest:
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "labels": {
                    "kubernetes.io/hostname": self.name,
                    "kubernetes.io/os": sys.platform,
                    "kubernetes.io/arch": platform.machine(),
                },
            },
            "spec": {},
        }

    def status(self) -> Manifest:
        now = self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "serinus sandbox workload runner is posting ready status",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": HOST_IP},
                {"type": "Hostname", "address": self.name},
            ],
            "nodeInfo": {
                "kubeletVersion": "serinus-sandbox",
                "containerRuntimeVersion": "local-processes",
                "operatingSystem": sys.platform,
                "architecture": platform.machine(),
                "osImage": platform.platform(),
                "kernelVersion": platform.release(),
            },
        }
