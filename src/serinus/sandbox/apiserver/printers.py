"""The columns ``kubectl get`` shows for built-in kinds, computed on the server as a real one does.

kubectl has no printers of its own for server-side tables: what the server puts in the Table is
what the user sees. These are the column sets of a 1.32 cluster (pods ``NAME READY STATUS RESTARTS
AGE``, deployments ``NAME READY UP-TO-DATE AVAILABLE AGE``, services ``NAME TYPE CLUSTER-IP
EXTERNAL-IP PORT(S) AGE``, ...), with their ``-o wide`` extras at priority 1. Kinds not listed get
``NAME AGE``. ``tables`` assembles the Table; this module only says what each cell holds.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from serinus.sandbox.apiserver.objects import Obj, as_map, dig, metadata, parse_time, to_int
from serinus.sandbox.apiserver.selectors import format_label_selector

Cell = str | int | float | bool | None


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    cell: Callable[[Obj], Cell]
    priority: int = 0
    description: str = ""
    format: str = ""

    def definition(self) -> Obj:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description or self.name,
            "priority": self.priority,
        }


def human_age(moment: datetime.datetime | None, *, at: datetime.datetime | None = None) -> str:
    """A duration as kubectl prints ages: ``45s``, ``3m20s``, ``59m``, ``5h12m``, ``3d4h``."""
    if moment is None:
        return "<unknown>"
    current = at or datetime.datetime.now(tz=datetime.UTC)
    seconds = round((current - moment).total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes, hours = seconds // 60, seconds // 3600
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        rest = days % 365
        return f"{years}y{rest}d" if rest else f"{years}y"
    return f"{years}y"


def age(obj: Obj) -> str:
    return human_age(parse_time(metadata(obj).get("creationTimestamp")))


NAME = Column(
    "Name",
    "string",
    lambda obj: str(metadata(obj).get("name", "")),
    description="Name must be unique within a namespace. Is required when creating resources, "
    "although some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated.",
    format="name",
)
AGE = Column(
    "Age",
    "string",
    age,
    description="CreationTimestamp is a timestamp representing the "
    "server time when this object was created.",
)


def _get(*path: str) -> Callable[[Obj], Any]:
    return lambda obj: dig(obj, path)


def _int(*path: str) -> Callable[[Obj], int]:
    return lambda obj: to_int(dig(obj, path))


def _or_none(value: object) -> str:
    return str(value) if value not in (None, "", []) else "<none>"


def _containers(obj: Obj) -> str:
    return ",".join(
        str(c.get("name", "")) for c in dig(obj, ("spec", "template", "spec", "containers")) or []
    )


def _images(obj: Obj) -> str:
    return ",".join(
        str(c.get("image", "")) for c in dig(obj, ("spec", "template", "spec", "containers")) or []
    )


def _selector(obj: Obj) -> str:
    return _or_none(format_label_selector(dig(obj, ("spec", "selector"))))


_WORKLOAD_WIDE = (
    Column("Containers", "string", _containers, priority=1),
    Column("Images", "string", _images, priority=1),
    Column("Selector", "string", _selector, priority=1),
)


def _pod_ready(obj: Obj) -> str:
    statuses = dig(obj, ("status", "containerStatuses")) or []
    ready = sum(1 for s in statuses if isinstance(s, dict) and s.get("ready"))
    return f"{ready}/{len(dig(obj, ('spec', 'containers')) or [])}"


def _pod_status(obj: Obj) -> str:
    status = as_map(obj.get("status"))
    reason = str(status.get("reason") or status.get("phase") or "Unknown")
    for container in status.get("containerStatuses") or []:
        state = as_map(as_map(container).get("state"))
        waiting, terminated = as_map(state.get("waiting")), as_map(state.get("terminated"))
        if waiting.get("reason"):
            reason = str(waiting["reason"])
        elif terminated:
            reason = str(terminated.get("reason") or f"ExitCode:{terminated.get('exitCode', 0)}")
    if metadata(obj).get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _restarts(obj: Obj) -> int:
    return sum(
        to_int(as_map(s).get("restartCount"))
        for s in dig(obj, ("status", "containerStatuses")) or []
    )


def _service_external(obj: Obj) -> str:
    spec = as_map(obj.get("spec"))
    kind = spec.get("type", "ClusterIP")
    if kind == "ExternalName":
        return str(spec.get("externalName", ""))
    ips = list(spec.get("externalIPs") or [])
    if kind == "LoadBalancer":
        ingress = dig(obj, ("status", "loadBalancer", "ingress")) or []
        ips += [i.get("ip") or i.get("hostname") for i in ingress if isinstance(i, dict)]
        return ",".join(str(ip) for ip in ips) or "<pending>"
    return ",".join(ips) or "<none>"


def _service_ports(obj: Obj) -> str:
    shown = []
    for port in dig(obj, ("spec", "ports")) or []:
        node = f":{port['nodePort']}" if port.get("nodePort") else ""
        shown.append(f"{port.get('port')}{node}/{port.get('protocol', 'TCP')}")
    return ",".join(shown) or "<none>"


def _pairs(value: object) -> str:
    return _or_none(",".join(f"{k}={v}" for k, v in sorted(as_map(value).items())))


def _event_object(obj: Obj) -> str:
    involved = as_map(obj.get("involvedObject"))
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


def _event_seen(obj: Obj) -> str:
    stamp = (
        obj.get("lastTimestamp") or obj.get("eventTime") or dig(obj, ("series", "lastObservedTime"))
    )
    return human_age(parse_time(stamp or metadata(obj).get("creationTimestamp")))


def _endpoints(obj: Obj) -> str:
    found = []
    for subset in obj.get("subsets") or []:
        for address in as_map(subset).get("addresses") or []:
            for port in as_map(subset).get("ports") or [{}]:
                suffix = f":{port['port']}" if port.get("port") else ""
                found.append(f"{address.get('ip')}{suffix}")
    text = ",".join(found[:3])
    return (text + f" + {len(found) - 3} more...") if len(found) > 3 else _or_none(text)


def _hpa_targets(obj: Obj) -> str:
    shown = []
    current = {
        dig(m, ("resource", "name")): dig(m, ("resource", "current", "averageUtilization"))
        for m in dig(obj, ("status", "currentMetrics")) or []
    }
    for metric in dig(obj, ("spec", "metrics")) or []:
        name = dig(metric, ("resource", "name"))
        target = dig(metric, ("resource", "target", "averageUtilization"))
        if name and target is not None:
            now = current.get(name)
            shown.append(f"{name}: {'<unknown>' if now is None else f'{now}%'}/{target}%")
    return ", ".join(shown) or "<none>"


def _node_status(obj: Obj) -> str:
    for condition in dig(obj, ("status", "conditions")) or []:
        if condition.get("type") == "Ready":
            return "Ready" if condition.get("status") == "True" else "NotReady"
    return "Unknown"


def _node_roles(obj: Obj) -> str:
    prefix = "node-role.kubernetes.io/"
    labels = as_map(metadata(obj).get("labels"))
    return _or_none(",".join(sorted(k[len(prefix) :] for k in labels if k.startswith(prefix))))


def _count(*path: str) -> Callable[[Obj], int]:
    return lambda obj: len(dig(obj, path) or {})


def _ratio(top: tuple[str, ...], bottom: tuple[str, ...], default: int = 0) -> Callable[[Obj], str]:
    return lambda obj: f"{to_int(dig(obj, top))}/{to_int(dig(obj, bottom), default)}"


def _slash(left: tuple[str, ...], right: tuple[str, ...]) -> Callable[[Obj], str]:
    return lambda obj: f"{dig(obj, left)}/{dig(obj, right)}"


def _text(*path: str) -> Callable[[Obj], str]:
    return lambda obj: _or_none(dig(obj, path))


def _or_na(*path: str) -> Callable[[Obj], str]:
    return lambda obj: "N/A" if dig(obj, path) is None else str(dig(obj, path))


def _ingress_hosts(obj: Obj) -> str:
    return ",".join(str(r.get("host", "*")) for r in dig(obj, ("spec", "rules")) or []) or "*"


def _ingress_address(obj: Obj) -> str:
    found = dig(obj, ("status", "loadBalancer", "ingress")) or []
    return ",".join(str(i.get("ip") or i.get("hostname")) for i in found)


def _config_data(obj: Obj) -> int:
    return len(obj.get("data") or {}) + len(obj.get("binaryData") or {})


def _event_source(obj: Obj) -> str:
    return _or_none(dig(obj, ("source", "component")) or obj.get("reportingComponent"))


_READY = ("status", "readyReplicas")
_REPLICAS = ("spec", "replicas")
_ROLE = Column("Role", "string", _slash(("roleRef", "kind"), ("roleRef", "name")))


PRINTERS: dict[str, tuple[Column, ...]] = {
    "namespaces": (NAME, Column("Status", "string", _get("status", "phase")), AGE),
    "nodes": (
        NAME,
        Column("Status", "string", _node_status),
        Column("Roles", "string", _node_roles),
        AGE,
        Column("Version", "string", _get("status", "nodeInfo", "kubeletVersion")),
    ),
    "pods": (
        NAME,
        Column("Ready", "string", _pod_ready),
        Column("Status", "string", _pod_status),
        Column("Restarts", "integer", _restarts),
        AGE,
        Column("IP", "string", _text("status", "podIP"), priority=1),
        Column("Node", "string", _text("spec", "nodeName"), priority=1),
        Column("Nominated Node", "string", _text("status", "nominatedNodeName"), priority=1),
        Column("Readiness Gates", "string", _text("spec", "readinessGates"), priority=1),
    ),
    "services": (
        NAME,
        Column("Type", "string", _get("spec", "type")),
        Column("Cluster-IP", "string", _text("spec", "clusterIP")),
        Column("External-IP", "string", _service_external),
        Column("Port(s)", "string", _service_ports),
        AGE,
        Column("Selector", "string", lambda o: _pairs(dig(o, ("spec", "selector"))), priority=1),
    ),
    "endpoints": (NAME, Column("Endpoints", "string", _endpoints), AGE),
    "configmaps": (NAME, Column("Data", "integer", _config_data), AGE),
    "secrets": (
        NAME,
        Column("Type", "string", _get("type")),
        Column("Data", "integer", _count("data")),
        AGE,
    ),
    "serviceaccounts": (NAME, Column("Secrets", "integer", _count("secrets")), AGE),
    "events": (
        Column("Last Seen", "string", _event_seen),
        Column("Type", "string", _get("type")),
        Column("Reason", "string", _get("reason")),
        Column("Object", "string", _event_object),
        Column("Subobject", "string", _get("involvedObject", "fieldPath"), priority=1),
        Column("Source", "string", _event_source, priority=1),
        Column("Message", "string", _get("message")),
        Column("First Seen", "string", lambda o: human_age(parse_time(o.get("firstTimestamp"))), 1),
        Column("Count", "integer", _int("count"), priority=1),
        Column("Name", "string", NAME.cell, priority=1),
    ),
    "deployments.apps": (
        NAME,
        Column("Ready", "string", _ratio(_READY, _REPLICAS)),
        Column("Up-to-date", "integer", _int("status", "updatedReplicas")),
        Column("Available", "integer", _int("status", "availableReplicas")),
        AGE,
        *_WORKLOAD_WIDE,
    ),
    "replicasets.apps": (
        NAME,
        Column("Desired", "integer", _int("spec", "replicas")),
        Column("Current", "integer", _int("status", "replicas")),
        Column("Ready", "integer", _int("status", "readyReplicas")),
        AGE,
        *_WORKLOAD_WIDE,
    ),
    "daemonsets.apps": (
        NAME,
        Column("Desired", "integer", _int("status", "desiredNumberScheduled")),
        Column("Current", "integer", _int("status", "currentNumberScheduled")),
        Column("Ready", "integer", _int("status", "numberReady")),
        Column("Up-to-date", "integer", _int("status", "updatedNumberScheduled")),
        Column("Available", "integer", _int("status", "numberAvailable")),
        Column(
            "Node Selector",
            "string",
            lambda o: _pairs(dig(o, ("spec", "template", "spec", "nodeSelector"))),
        ),
        AGE,
        *_WORKLOAD_WIDE,
    ),
    "statefulsets.apps": (
        NAME,
        Column("Ready", "string", _ratio(_READY, _REPLICAS)),
        AGE,
        *_WORKLOAD_WIDE[:2],
    ),
    "horizontalpodautoscalers.autoscaling": (
        NAME,
        Column(
            "Reference",
            "string",
            _slash(("spec", "scaleTargetRef", "kind"), ("spec", "scaleTargetRef", "name")),
        ),
        Column("Targets", "string", _hpa_targets),
        Column("MinPods", "integer", lambda o: to_int(dig(o, ("spec", "minReplicas")), 1)),
        Column("MaxPods", "integer", _int("spec", "maxReplicas")),
        Column("Replicas", "integer", _int("status", "currentReplicas")),
        AGE,
    ),
    "leases.coordination.k8s.io": (
        NAME,
        Column("Holder", "string", _get("spec", "holderIdentity")),
        AGE,
    ),
    "customresourcedefinitions.apiextensions.k8s.io": (
        NAME,
        Column("Created At", "date", _get("metadata", "creationTimestamp")),
    ),
    "ingresses.networking.k8s.io": (
        NAME,
        Column("Class", "string", _text("spec", "ingressClassName")),
        Column("Hosts", "string", _ingress_hosts),
        Column("Address", "string", _ingress_address),
        Column("Ports", "string", lambda o: "80, 443" if dig(o, ("spec", "tls")) else "80"),
        AGE,
    ),
    "poddisruptionbudgets.policy": (
        NAME,
        Column("Min Available", "string", _or_na("spec", "minAvailable")),
        Column("Max Unavailable", "string", _or_na("spec", "maxUnavailable")),
        Column("Allowed Disruptions", "integer", _int("status", "disruptionsAllowed")),
        AGE,
    ),
    "rolebindings.rbac.authorization.k8s.io": (NAME, _ROLE, AGE),
    "clusterrolebindings.rbac.authorization.k8s.io": (NAME, _ROLE, AGE),
    "jobs.batch": (
        NAME,
        Column(
            "Status",
            "string",
            lambda o: "Complete" if dig(o, ("status", "succeeded")) else "Running",
        ),
        Column(
            "Completions", "string", _ratio(("status", "succeeded"), ("spec", "completions"), 1)
        ),
        AGE,
    ),
    "cronjobs.batch": (
        NAME,
        Column("Schedule", "string", _get("spec", "schedule")),
        Column("Suspend", "boolean", lambda o: bool(dig(o, ("spec", "suspend")))),
        Column("Active", "integer", _count("status", "active")),
        AGE,
    ),
}
"""Column sets by storage resource name (``deployments.apps``)."""
