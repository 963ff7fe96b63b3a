"""Cells of ``kubectl get`` tables: the column type, ages as kubectl prints them, and the values
built-in kinds show (pod readiness and status, service addresses and ports, event objects...).

``printers`` arranges these into the column set of each kind; ``tables`` builds the Table.
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


def value_at(*path: str) -> Callable[[Obj], Any]:
    return lambda obj: dig(obj, path)


def number_at(*path: str) -> Callable[[Obj], int]:
    return lambda obj: to_int(dig(obj, path))


def or_none(value: object) -> str:
    return str(value) if value not in (None, "", []) else "<none>"


def containers(obj: Obj) -> str:
    return ",".join(
        str(c.get("name", "")) for c in dig(obj, ("spec", "template", "spec", "containers")) or []
    )


def images(obj: Obj) -> str:
    return ",".join(
        str(c.get("image", "")) for c in dig(obj, ("spec", "template", "spec", "containers")) or []
    )


def selector(obj: Obj) -> str:
    return or_none(format_label_selector(dig(obj, ("spec", "selector"))))


def pod_ready(obj: Obj) -> str:
    statuses = dig(obj, ("status", "containerStatuses")) or []
    ready = sum(1 for s in statuses if isinstance(s, dict) and s.get("ready"))
    total = len(dig(obj, ("spec", "containers")) or [])
    for sidecar in _sidecar_statuses(obj):  # started sidecars count, as kubectl counts them
        if sidecar.get("started"):
            total += 1
            ready += 1 if sidecar.get("ready") else 0
    return f"{ready}/{total}"


def _sidecar_statuses(obj: Obj) -> list[Obj]:
    sidecars = {
        c.get("name")
        for c in dig(obj, ("spec", "initContainers")) or []
        if isinstance(c, dict) and c.get("restartPolicy") == "Always"
    }
    return [
        as_map(s)
        for s in dig(obj, ("status", "initContainerStatuses")) or []
        if as_map(s).get("name") in sidecars
    ]


def pod_status(obj: Obj) -> str:
    """The STATUS column as kubectl's printPod works it out: ``Init:1/2``, ``Init:Error``,
    ``PodInitializing``, ``CrashLoopBackOff``, ``Completed``, ``Terminating`` ..."""
    status = as_map(obj.get("status"))
    reason = str(status.get("reason") or status.get("phase") or "Unknown")
    initializing, reason = _init_status(obj, reason)
    initialized = any(
        as_map(c).get("type") == "Initialized" and as_map(c).get("status") == "True"
        for c in status.get("conditions") or []
    )
    if not initializing or initialized:
        running = False
        for container in reversed(status.get("containerStatuses") or []):
            state = as_map(as_map(container).get("state"))
            waiting, terminated = as_map(state.get("waiting")), as_map(state.get("terminated"))
            if waiting.get("reason"):
                reason = str(waiting["reason"])
            elif terminated:
                reason = str(terminated.get("reason") or _exit(terminated))
            elif as_map(container).get("ready") and state.get("running") is not None:
                running = True
        if reason == "Completed" and running:
            ready = any(
                as_map(c).get("type") == "Ready" and as_map(c).get("status") == "True"
                for c in status.get("conditions") or []
            )
            reason = "Running" if ready else "NotReady"
    if metadata(obj).get("deletionTimestamp") and status.get("phase") not in (
        "Succeeded",
        "Failed",
    ):
        reason = "Terminating"
    return reason


def _init_status(obj: Obj, reason: str) -> tuple[bool, str]:
    """Whether the pod is still initializing, and the STATUS its init containers give it."""
    specs = dig(obj, ("spec", "initContainers")) or []
    sidecars = {c.get("name") for c in specs if as_map(c).get("restartPolicy") == "Always"}
    for index, raw in enumerate(dig(obj, ("status", "initContainerStatuses")) or []):
        container = as_map(raw)
        if container.get("name") in sidecars and container.get("started"):
            continue
        state = as_map(container.get("state"))
        waiting, terminated = as_map(state.get("waiting")), as_map(state.get("terminated"))
        if terminated and to_int(terminated.get("exitCode")) == 0:
            continue
        if terminated:
            return True, "Init:" + str(terminated.get("reason") or _exit(terminated))
        if waiting.get("reason") and waiting["reason"] != "PodInitializing":
            return True, f"Init:{waiting['reason']}"
        return True, f"Init:{index}/{len(specs)}"
    return False, reason


def _exit(terminated: Obj) -> str:
    if to_int(terminated.get("signal")):
        return f"Signal:{terminated['signal']}"
    return f"ExitCode:{to_int(terminated.get('exitCode'))}"


def restarts(obj: Obj) -> int:
    """Restarts of the app containers and sidecars, or of the init containers while the pod
    initializes (kubectl's RESTARTS)."""
    status = as_map(obj.get("status"))
    initializing, _ = _init_status(obj, "")
    sidecars = sum(to_int(s.get("restartCount")) for s in _sidecar_statuses(obj))
    if initializing:
        return sum(
            to_int(as_map(s).get("restartCount")) for s in status.get("initContainerStatuses") or []
        )
    return sidecars + sum(
        to_int(as_map(s).get("restartCount")) for s in status.get("containerStatuses") or []
    )


def service_external(obj: Obj) -> str:
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


def service_ports(obj: Obj) -> str:
    shown = []
    for port in dig(obj, ("spec", "ports")) or []:
        node = f":{port['nodePort']}" if port.get("nodePort") else ""
        shown.append(f"{port.get('port')}{node}/{port.get('protocol', 'TCP')}")
    return ",".join(shown) or "<none>"


def pairs(value: object) -> str:
    return or_none(",".join(f"{k}={v}" for k, v in sorted(as_map(value).items())))


def event_object(obj: Obj) -> str:
    involved = as_map(obj.get("involvedObject"))
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


def event_seen(obj: Obj) -> str:
    stamp = (
        obj.get("lastTimestamp") or obj.get("eventTime") or dig(obj, ("series", "lastObservedTime"))
    )
    return human_age(parse_time(stamp or metadata(obj).get("creationTimestamp")))


def endpoints(obj: Obj) -> str:
    found = []
    for subset in obj.get("subsets") or []:
        for address in as_map(subset).get("addresses") or []:
            for port in as_map(subset).get("ports") or [{}]:
                suffix = f":{port['port']}" if port.get("port") else ""
                found.append(f"{address.get('ip')}{suffix}")
    text = ",".join(found[:3])
    return (text + f" + {len(found) - 3} more...") if len(found) > 3 else or_none(text)


def hpa_targets(obj: Obj) -> str:
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


def node_status(obj: Obj) -> str:
    for condition in dig(obj, ("status", "conditions")) or []:
        if condition.get("type") == "Ready":
            return "Ready" if condition.get("status") == "True" else "NotReady"
    return "Unknown"


def node_roles(obj: Obj) -> str:
    prefix = "node-role.kubernetes.io/"
    labels = as_map(metadata(obj).get("labels"))
    return or_none(",".join(sorted(k[len(prefix) :] for k in labels if k.startswith(prefix))))


def count_at(*path: str) -> Callable[[Obj], int]:
    return lambda obj: len(dig(obj, path) or {})


def ratio(top: tuple[str, ...], bottom: tuple[str, ...], default: int = 0) -> Callable[[Obj], str]:
    return lambda obj: f"{to_int(dig(obj, top))}/{to_int(dig(obj, bottom), default)}"


def slash(left: tuple[str, ...], right: tuple[str, ...]) -> Callable[[Obj], str]:
    return lambda obj: f"{dig(obj, left)}/{dig(obj, right)}"


def text_at(*path: str) -> Callable[[Obj], str]:
    return lambda obj: or_none(dig(obj, path))


def or_na(*path: str) -> Callable[[Obj], str]:
    return lambda obj: "N/A" if dig(obj, path) is None else str(dig(obj, path))


def ingress_hosts(obj: Obj) -> str:
    return ",".join(str(r.get("host", "*")) for r in dig(obj, ("spec", "rules")) or []) or "*"


def ingress_address(obj: Obj) -> str:
    found = dig(obj, ("status", "loadBalancer", "ingress")) or []
    return ",".join(str(i.get("ip") or i.get("hostname")) for i in found)


def config_data(obj: Obj) -> int:
    return len(obj.get("data") or {}) + len(obj.get("binaryData") or {})


def event_source(obj: Obj) -> str:
    return or_none(dig(obj, ("source", "component")) or obj.get("reportingComponent"))
