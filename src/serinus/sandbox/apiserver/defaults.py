"""Defaults the real server fills into built-in objects, and Service address allocation.

Users see these (``kubectl get svc`` shows a CLUSTER-IP, ``-o yaml`` shows ``imagePullPolicy``),
and so do controllers that copy one object into another (serinus copies a Deployment's pod
template into ``<name>-primary``): an operator tested against a server without defaults could
break on a real one. Defaults only fill what is missing, on every write, as the real decoder does.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Callable
from typing import Any

from serinus.sandbox.apiserver.objects import Obj, as_map, dig, metadata, name_of
from serinus.sandbox.apiserver.resources import ResourceType
from serinus.sandbox.apiserver.status import internal

SERVICE_CIDR = "10.96.0.0/12"
"""Where cluster IPs come from by default (kube-apiserver's own default range)."""
_NODE_PORTS = range(30000, 32768)


def apply_defaults(resource: ResourceType, obj: Obj) -> None:
    """Fill the defaults of a built-in kind into ``obj`` (in place)."""
    filler = _FILLERS.get(resource.resource)
    if filler is not None:
        filler(obj)


def _child(parent: Obj | None, key: str) -> Obj | None:
    """``parent[key]`` as a mapping, created when missing; None when it is something else.

    A body of the wrong shape is left for validation to refuse rather than crash on here.
    """
    if parent is None:
        return None
    value = parent.setdefault(key, {})
    return value if isinstance(value, dict) else None


def _fill(target: Obj | None, **values: Any) -> None:
    if target is not None:
        for key, value in values.items():
            target.setdefault(key, value)


def _namespace(obj: Obj) -> None:
    labels = metadata(obj).setdefault("labels", {})
    if isinstance(labels, dict):
        labels["kubernetes.io/metadata.name"] = name_of(obj)
    _fill(_child(obj, "spec"), finalizers=["kubernetes"])


def _pod_spec(spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    _fill(
        spec,
        restartPolicy="Always",
        dnsPolicy="ClusterFirst",
        schedulerName="default-scheduler",
        terminationGracePeriodSeconds=30,
        securityContext={},
    )
    for key in ("containers", "initContainers"):
        containers = spec.get(key)
        for container in containers if isinstance(containers, list) else []:
            if isinstance(container, dict):
                _container(container)


def _container(container: Obj) -> None:
    image = str(container.get("image") or "")
    tag = image.rsplit("/", 1)[-1]
    pinned = "@" in tag or (":" in tag and not tag.endswith(":latest"))
    _fill(
        container,
        imagePullPolicy="IfNotPresent" if pinned else "Always",
        terminationMessagePath="/dev/termination-log",
        terminationMessagePolicy="File",
        resources={},
    )
    ports = container.get("ports")
    for port in ports if isinstance(ports, list) else []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")


def _template(obj: Obj) -> None:
    _pod_spec(dig(obj, ("spec", "template", "spec")))


def _pod(obj: Obj) -> None:
    spec = _child(obj, "spec")
    _pod_spec(spec)
    _fill(spec, serviceAccountName="default", enableServiceLinks=True)


def _rolling(strategy: Obj | None, kind_key: str, **rolling: Any) -> None:
    _fill(strategy, **{kind_key: "RollingUpdate"})
    if strategy is not None and strategy.get(kind_key) == "RollingUpdate":
        _fill(_child(strategy, "rollingUpdate"), **rolling)


def _deployment(obj: Obj) -> None:
    spec = _child(obj, "spec")
    _fill(spec, replicas=1, revisionHistoryLimit=10, progressDeadlineSeconds=600)
    _rolling(_child(spec, "strategy"), "type", maxUnavailable="25%", maxSurge="25%")
    _template(obj)


def _replicaset(obj: Obj) -> None:
    _fill(_child(obj, "spec"), replicas=1)
    _template(obj)


def _replicationcontroller(obj: Obj) -> None:
    """Selector and labels default to the template's labels, as the real server fills them."""
    spec = _child(obj, "spec")
    _fill(spec, replicas=1)
    labels = dig(obj, ("spec", "template", "metadata", "labels"))
    if isinstance(labels, dict) and labels and spec is not None:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        if not metadata(obj).get("labels"):
            metadata(obj)["labels"] = dict(labels)
    _template(obj)


def _daemonset(obj: Obj) -> None:
    spec = _child(obj, "spec")
    _fill(spec, revisionHistoryLimit=10)
    _rolling(_child(spec, "updateStrategy"), "type", maxUnavailable=1, maxSurge=0)
    _template(obj)


def _statefulset(obj: Obj) -> None:
    spec = _child(obj, "spec")
    _fill(spec, replicas=1, revisionHistoryLimit=10, podManagementPolicy="OrderedReady")
    _rolling(_child(spec, "updateStrategy"), "type", partition=0)
    _template(obj)


def _job(obj: Obj) -> None:
    _fill(_child(obj, "spec"), backoffLimit=6, completions=1, parallelism=1)
    _template(obj)


def _service(obj: Obj) -> None:
    spec = _child(obj, "spec")
    if spec is None:
        return
    spec.setdefault("type", "ClusterIP")
    if spec["type"] == "ExternalName":
        return
    _fill(
        spec,
        sessionAffinity="None",
        internalTrafficPolicy="Cluster",
        ipFamilies=["IPv4"],
        ipFamilyPolicy="SingleStack",
    )
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    ports = spec.get("ports")
    for port in ports if isinstance(ports, list) else []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if "port" in port:
                port.setdefault("targetPort", port["port"])


def _secret(obj: Obj) -> None:
    """``stringData`` is write-only: the server folds it into ``data``, base64-encoded."""
    obj.setdefault("type", "Opaque")
    plain = obj.pop("stringData", None)
    if isinstance(plain, dict) and plain:
        data = obj.setdefault("data", {})
        if isinstance(data, dict):
            for key, value in plain.items():
                data[key] = base64.b64encode(str(value).encode()).decode()


_FILLERS: dict[str, Callable[[Obj], None]] = {
    "namespaces": _namespace,
    "pods": _pod,
    "deployments.apps": _deployment,
    "replicasets.apps": _replicaset,
    "replicationcontrollers": _replicationcontroller,
    "daemonsets.apps": _daemonset,
    "statefulsets.apps": _statefulset,
    "jobs.batch": _job,
    "services": _service,
    "secrets": _secret,
}


def service_network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The cluster IP range ``cidr``; ValueError naming it when it is not a network."""
    try:
        return ipaddress.ip_network(cidr)
    except ValueError as error:
        raise ValueError(
            f"service_cidr: expected a network such as {SERVICE_CIDR}, got {cidr!r} ({error})"
        ) from None


def allocate_service_addresses(
    service: Obj,
    old: Obj | None,
    taken: set[str],
    ports: set[int],
    *,
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None,
) -> None:
    """Give a Service its cluster IP (from ``network``, the default range when None) and node
    ports, keeping those it already had."""
    spec = service.setdefault("spec", {})
    if spec.get("type") == "ExternalName":
        return
    old_spec = as_map(old.get("spec")) if old is not None else {}
    if not spec.get("clusterIP") and old_spec.get("clusterIP"):
        spec["clusterIP"] = old_spec["clusterIP"]
    if not spec.get("clusterIP"):
        hosts = (network or service_network(SERVICE_CIDR)).hosts()
        free = (str(h) for h in hosts if int(h) % 256 >= 10 and str(h) not in taken)
        address = next(free, None)
        if address is None:
            raise internal(f"no free cluster IP left in {network or SERVICE_CIDR}")
        spec["clusterIP"] = address
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
