"""Defaults the real server fills into built-in objects, and Service address allocation.

Users see these (``kubectl get svc`` shows a CLUSTER-IP, ``-o yaml`` shows ``imagePullPolicy``),
and so do controllers that copy one object into another (serinus copies a Deployment's pod
template into ``<name>-primary``): an operator tested against a server without defaults could
break on a real one. Defaults only fill what is missing, on every write, as the real decoder does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from serinus.sandbox.apiserver.objects import Obj, as_map, dig, metadata, name_of
from serinus.sandbox.apiserver.resources import ResourceType

_SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/12")
_NODE_PORTS = range(30000, 32768)


def apply_defaults(resource: ResourceType, obj: Obj) -> None:
    """Fill the defaults of a built-in kind into ``obj`` (in place)."""
    filler = _FILLERS.get(resource.resource)
    if filler is not None:
        filler(obj)


def _namespace(obj: Obj) -> None:
    labels = metadata(obj).setdefault("labels", {})
    if isinstance(labels, dict):
        labels["kubernetes.io/metadata.name"] = name_of(obj)
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])


def _pod_spec(spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                _container(container)


def _container(container: Obj) -> None:
    image = str(container.get("image") or "")
    tag = image.rsplit("/", 1)[-1]
    pinned = "@" in tag or (":" in tag and not tag.endswith(":latest"))
    container.setdefault("imagePullPolicy", "IfNotPresent" if pinned else "Always")
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")


def _template(obj: Obj) -> None:
    _pod_spec(dig(obj, ("spec", "template", "spec")))


def _pod(obj: Obj) -> None:
    _pod_spec(obj.get("spec"))
    spec = as_map(obj.get("spec"))
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("enableServiceLinks", True)


def _deployment(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    _template(obj)


def _replicaset(obj: Obj) -> None:
    obj.setdefault("spec", {}).setdefault("replicas", 1)
    _template(obj)


def _daemonset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("revisionHistoryLimit", 10)
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    _template(obj)


def _statefulset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    _template(obj)


def _job(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completions", 1)
    spec.setdefault("parallelism", 1)
    _template(obj)


def _service(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    if spec["type"] == "ExternalName":
        return
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if "port" in port:
                port.setdefault("targetPort", port["port"])


def _secret(obj: Obj) -> None:
    obj.setdefault("type", "Opaque")


_FILLERS: dict[str, Callable[[Obj], None]] = {
    "namespaces": _namespace,
    "pods": _pod,
    "deployments.apps": _deployment,
    "replicasets.apps": _replicaset,
    "daemonsets.apps": _daemonset,
    "statefulsets.apps": _statefulset,
    "jobs.batch": _job,
    "services": _service,
    "secrets": _secret,
}


def allocate_service_addresses(
    service: Obj, old: Obj | None, taken: set[str], ports: set[int]
) -> None:
    """Give a Service its cluster IP and node ports, keeping those it already had."""
    spec = service.setdefault("spec", {})
    if spec.get("type") == "ExternalName":
        return
    old_spec = as_map(old.get("spec")) if old is not None else {}
    if not spec.get("clusterIP") and old_spec.get("clusterIP"):
        spec["clusterIP"] = old_spec["clusterIP"]
    if not spec.get("clusterIP"):
        spec["clusterIP"] = next(
            str(host)
            for host in _SERVICE_RANGE.hosts()
            if int(host) % 256 >= 10 and str(host) not in taken
        )
    spec["clusterIPs"] = [spec["clusterIP"]]
    if spec.get("type") not in ("NodePort", "LoadBalancer"):
        return
    old_ports = {
        p.get("port"): p.get("nodePort") for p in old_spec.get("ports") or [] if isinstance(p, dict)
    }
    for port in spec.get("ports") or []:
        if isinstance(port, dict) and not port.get("nodePort"):
            kept = old_ports.get(port.get("port"))
            port["nodePort"] = kept or next(n for n in _NODE_PORTS if n not in ports)
            ports.add(port["nodePort"])
