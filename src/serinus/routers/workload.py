"""What the Services need to know about the target workload: its selector label and its ports.

The generated Services select pods by one label of the target's ``spec.selector.matchLabels``:
the first of the operator's selector labels (Flagger's ``-selector-labels``, by default ``app``,
``name``, ``app.kubernetes.io/name``) that the target has. ``<apex>-canary`` selects the target's
value, ``<apex>-primary`` and the apex select ``<value>-primary``, the label value the primary
workload's pods carry (see :mod:`serinus.targets`).

With ``spec.service.portDiscovery`` every other container port becomes a Service port too, as in
Flagger: ports of mesh proxy containers are left out, and so is the main port (the target port, or
the service port when no target port is set); an unnamed port is called ``tcp-<container>-<index>``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.errors import RouterError, TargetNotFoundError, UnknownProviderError
from serinus.kube import Kube
from serinus.routers.names import where

DEFAULT_SELECTOR_LABELS = ("app", "name", "app.kubernetes.io/name")
"""Flagger's ``-selector-labels`` default."""

PROXY_CONTAINERS = frozenset({"istio-proxy", "envoy", "linkerd-proxy"})
"""Sidecars whose ports belong to the mesh, not to the application."""

_KINDS = {"Deployment": "apps/v1", "DaemonSet": "apps/v1", "StatefulSet": "apps/v1"}


@dataclasses.dataclass(frozen=True)
class ContainerPort:
    """One declared port of one container of the pod template."""

    container: str
    index: int
    name: str
    port: int


@dataclasses.dataclass(frozen=True)
class Workload:
    """The target as the Services see it."""

    label: str
    """The selector label, e.g. ``app``."""
    value: str
    """Its value on the target's pods, e.g. ``podinfo``."""
    ports: tuple[ContainerPort, ...] = ()

    @property
    def primary_value(self) -> str:
        return f"{self.value}-primary"


async def read(
    kube: Kube, canary: Canary, *, provider: str, selector_labels: Sequence[str]
) -> Workload:
    """The target's selector label, value and container ports.

    Raises:
        UnknownProviderError: for a target kind without generated Services (Service targets).
        TargetNotFoundError: when the target is absent.
        RouterError: when the target has none of the selector labels.
    """
    ref = canary.spec.target_ref
    api_version = _KINDS.get(ref.kind)
    if api_version is None:
        raise UnknownProviderError("target kind", ref.kind)
    what = where(ref.kind, canary, ref.name)
    # The kind's own API version, whatever targetRef.apiVersion says: Flagger reads apps/v1 too
    # (its FAQ writes apiVersion v1 for a Deployment), and so do the target controllers.
    manifest = await kube.get(api_version, ref.kind, ref.name, canary.namespace)
    if manifest is None:
        raise TargetNotFoundError(f"{what} not found; its Services select its pods by label")
    spec = manifest.get("spec") or {}
    match_labels = (spec.get("selector") or {}).get("matchLabels") or {}
    for label in selector_labels:
        value = match_labels.get(label)
        if value:
            return Workload(label, str(value), tuple(_container_ports(spec)))
    raise RouterError(
        provider,
        f"{what}: spec.selector.matchLabels must contain one of {', '.join(selector_labels)}, "
        f"found {', '.join(sorted(match_labels)) or 'none'}",
    )


def _container_ports(spec: Manifest) -> list[ContainerPort]:
    template = (spec.get("template") or {}).get("spec") or {}
    found: list[ContainerPort] = []
    for container in template.get("containers") or []:
        name = str(container.get("name", ""))
        for index, port in enumerate(container.get("ports") or []):
            number = port.get("containerPort")
            if isinstance(number, int):
                found.append(ContainerPort(name, index, str(port.get("name") or ""), number))
    return found


def discovered_ports(canary: Canary, workload: Workload) -> list[Manifest]:
    """Service ports for every container port but the main one (``portDiscovery``)."""
    service = canary.spec.service
    if not service.port_discovery:
        return []
    main_port = service.target_port if service.target_port not in (None, 0, "") else service.port
    taken_names = {service.effective_port_name}
    taken_numbers = {service.port}
    ports: list[Manifest] = []
    for found in sorted(workload.ports, key=lambda p: (p.port, p.container, p.index)):
        if found.container in PROXY_CONTAINERS or found.port == main_port:
            continue
        if isinstance(main_port, str) and found.name == main_port:
            continue
        name = found.name or f"tcp-{found.container}-{found.index}"
        if name in taken_names or found.port in taken_numbers:
            continue  # a Service rejects two ports with one name or number
        taken_names.add(name)
        taken_numbers.add(found.port)
        ports.append(
            {"name": name, "protocol": "TCP", "port": found.port, "targetPort": found.port}
        )
    return ports
