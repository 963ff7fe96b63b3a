"""The three Kubernetes Services every provider routes between: the apex, -primary and -canary.

Flagger's ``KubernetesDefaultRouter``, used under every mesh router. ``initialize`` (before the
primary workload exists) makes ``<apex>-canary``, selecting the target's pods, and
``<apex>-primary``, selecting ``<value>-primary``; ``reconcile_apex`` (once the primary serves)
points the apex at the primary's pods too, so callers outside the mesh keep reaching a stable
version. All three are ClusterIP (headless on request) with the ports of ``spec.service``.

Each Service is a :class:`~serinus.routers.objects.Blueprint`, written by the same
:class:`~serinus.routers.objects.ManagedObject` as the mesh objects. What is particular to
Services is in :meth:`ServiceBlueprint.merge`: a Service that exists already is changed only in
its selector, ports and ``trafficDistribution`` (its clusterIP, node ports and everything else the
API server filled in stay); see :mod:`serinus.routers.metadata` for whose labels and annotations
are kept.

The apex's selector is also the kubernetes provider's only switch: routes of 0/100 point it at
the canary's pods and mark it so (``serinus.io/apex-routes-to: canary``), and it stays there until
routes move it back, as Flagger leaves it. ``finalize`` gives the apex back to the target: it
selects the target's pods again and loses its owner reference, so the Service outlives the Canary
(Flagger would let the garbage collector delete an apex it created, leaving the workload without
its Service).

A Canary whose target is a plain Service (Flagger's ``KubernetesNoopRouter``) gets none of this:
its target is the apex, and :mod:`serinus.targets.service` keeps its ``-primary`` and ``-canary``
copies; with the kubernetes provider its routes stay where they are (all on the primary).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.errors import RouterError
from serinus.kube import Kube
from serinus.ports import Routes
from serinus.routers import metadata, workload
from serinus.routers.names import ServiceNames, where
from serinus.routers.objects import ALL_TO_PRIMARY, Blueprint, Desired, ManagedObject

APEX_ROUTE_ANNOTATION = "serinus.io/apex-routes-to"
"""Set to ``canary`` on an apex Service that routes moved to the canary's pods."""
ALL_TO_CANARY = Routes(0, 100)

Role = Literal["apex", "primary", "canary"]


class Target:
    """The target as the Services see it, read when first needed and then once only (one
    :class:`Target` serves one call of :class:`Services`, so what it read is never stale)."""

    def __init__(self, read: Callable[[Canary], Awaitable[workload.Workload]]) -> None:
        self._read = read
        self._found: workload.Workload | None = None

    async def __call__(self, canary: Canary) -> workload.Workload:
        if self._found is None:
            self._found = await self._read(canary)
        return self._found


class ServiceBlueprint(Blueprint):
    """One of the three Services of a Canary's target."""

    api_version = "v1"
    kind = "Service"
    owns_annotations = True

    def __init__(self, role: Role, target: Target, *, provider: str) -> None:
        self.role = role
        self.target = target
        self.provider = provider
        self.gives_back = role == "apex"

    def name(self, canary: Canary) -> str:
        names = ServiceNames.of(canary)
        return {"apex": names.apex, "primary": names.primary, "canary": names.canary}[self.role]

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        service = canary.spec.service
        custom = {"apex": service.apex, "primary": service.primary, "canary": service.canary}
        to_canary = self.role == "canary" or (
            self.role == "apex" and self._to_canary(canary, routes)
        )
        target = await self.target(canary)
        value = target.value if to_canary else target.primary_value
        desired = Desired.with_metadata(
            {"spec": service_spec(canary, target, value)},
            custom[self.role],
            labels={target.label: self.name(canary)},
        )
        if self.role == "apex" and to_canary:
            desired.annotations[APEX_ROUTE_ANNOTATION] = "canary"
        return desired

    def routes(self, canary: Canary, manifest: Manifest) -> Routes:
        annotations = (manifest.get("metadata") or {}).get("annotations") or {}
        routed = self.role == "apex" and annotations.get(APEX_ROUTE_ANNOTATION) == "canary"
        return ALL_TO_CANARY if routed else ALL_TO_PRIMARY

    def merge(self, canary: Canary, existing: Manifest, desired: Desired) -> Manifest:
        """The existing Service with the desired selector, ports and traffic distribution."""
        owned = metadata.controlled_by(existing, canary)
        self._check_headless(canary, existing, owned=owned)
        wanted = desired.body["spec"]
        spec = dict(existing.get("spec") or {})  # changed below; the rest is shared
        updated = {**existing, "spec": spec}
        spec["selector"] = wanted["selector"]
        if _port_keys(spec.get("ports")) != _port_keys(wanted["ports"]):
            spec["ports"] = _with_node_ports(wanted["ports"], spec.get("ports") or [])
        if "trafficDistribution" in wanted:
            spec["trafficDistribution"] = wanted["trafficDistribution"]
        elif owned:
            spec.pop("trafficDistribution", None)
        return updated

    async def given_back(self, canary: Canary, existing: Manifest) -> Manifest:
        """The apex selecting the target's pods again, owned by no Canary, routed nowhere."""
        updated = copy.deepcopy(existing)
        selector = await self._original_selector(canary, existing)
        updated.setdefault("spec", {})["selector"] = selector
        meta = updated["metadata"]
        metadata.set_or_drop(meta, "ownerReferences", metadata.without_owner(existing, canary))
        annotations = dict(meta.get("annotations") or {})
        annotations.pop(APEX_ROUTE_ANNOTATION, None)
        metadata.set_or_drop(meta, "annotations", annotations)
        return updated

    def _to_canary(self, canary: Canary, routes: Routes) -> bool:
        """Whether routes send the apex to the canary: all or nothing, never a split."""
        if routes.mirrored or (routes.primary, routes.canary) not in ((100, 0), (0, 100)):
            raise RouterError(
                self.provider,
                f"{where('Service', canary, self.name(canary))}: the {self.provider} provider "
                "routes all traffic to "
                f"one side, found {routes.primary}/{routes.canary}"
                f"{' mirrored' if routes.mirrored else ''}; use a mesh provider to split traffic",
            )
        return routes.canary == 100

    async def _original_selector(self, canary: Canary, existing: Manifest) -> dict[str, str]:
        """The selector a taken-over apex had (kubectl's record of it), else the target's."""
        annotations = (existing.get("metadata") or {}).get("annotations") or {}
        applied = annotations.get(metadata.KUBECTL_LAST_APPLIED)
        if applied and not metadata.controlled_by(existing, canary):
            try:
                selector = (json.loads(applied).get("spec") or {}).get("selector")
            except (ValueError, AttributeError):
                selector = None
            if isinstance(selector, dict) and selector:
                return {str(k): str(v) for k, v in selector.items()}
        target = await self.target(canary)
        return {target.label: target.value}

    def _check_headless(self, canary: Canary, existing: Manifest, *, owned: bool) -> None:
        cluster_ip = (existing.get("spec") or {}).get("clusterIP")
        wanted = bool(canary.spec.service.headless)
        if wanted == (cluster_ip == "None") or (not wanted and not owned):
            return
        expected = "None (headless)" if wanted else "an address (not headless)"
        raise RouterError(
            self.provider,
            f"{where('Service', canary, self.name(canary))}: spec.service.headless asks for "
            f"clusterIP {expected}, found {cluster_ip}; a clusterIP cannot change, delete the "
            "Service to have it created again",
        )


class Services:
    """Creates, takes over and gives back the apex, primary and canary Services of a Canary."""

    def __init__(
        self,
        kube: Kube,
        *,
        provider: str,
        selector_labels: Sequence[str] = workload.DEFAULT_SELECTOR_LABELS,
    ) -> None:
        self.kube = kube
        self.provider = provider
        self.selector_labels = tuple(selector_labels)

    async def initialize(self, canary: Canary) -> None:
        """Create or update ``<apex>-canary`` and ``<apex>-primary``. Idempotent."""
        if service_target(canary):
            return
        target = Target(self._workload)
        await self.service("canary", target).reconcile(canary)
        await self.service("primary", target).reconcile(canary)

    async def reconcile_apex(self, canary: Canary) -> None:
        """Create or update the apex Service, keeping the side routes sent it to. Idempotent."""
        if not service_target(canary):
            await self.apex().reconcile(canary)

    async def finalize(self, canary: Canary) -> None:
        """Give the apex back to the target: its selector, no owner reference. Idempotent."""
        if not service_target(canary):
            await self.apex().finalize(canary)

    def apex(self) -> ManagedObject:
        """The apex Service (the kubernetes provider's routes are its selector)."""
        return self.service("apex", Target(self._workload))

    def service(self, role: Role, target: Target) -> ManagedObject:
        blueprint = ServiceBlueprint(role, target, provider=self.provider)
        return ManagedObject(self.kube, blueprint, provider=self.provider)

    async def _workload(self, canary: Canary) -> workload.Workload:
        return await workload.read(
            self.kube, canary, provider=self.provider, selector_labels=self.selector_labels
        )


def service_target(canary: Canary) -> bool:
    """A plain Service target is its own apex; its target controller makes its copies."""
    ref = canary.spec.target_ref
    return ref.kind == "Service" and not ref.is_knative_service


def service_spec(canary: Canary, target: workload.Workload, value: str) -> Manifest:
    """The spec of a generated Service selecting ``<label>: <value>``."""
    service = canary.spec.service
    target_port = service.target_port if service.target_port not in (None, 0, "") else service.port
    main: Manifest = {
        "name": service.effective_port_name,
        "protocol": "TCP",
        "port": service.port,
        "targetPort": target_port,
    }
    if service.app_protocol:
        main["appProtocol"] = service.app_protocol
    spec: Manifest = {
        "type": "ClusterIP",
        "selector": {target.label: value},
        "ports": [main, *workload.discovered_ports(canary, target)],
    }
    if service.headless:
        spec["clusterIP"] = "None"
    if service.traffic_distribution:
        spec["trafficDistribution"] = service.traffic_distribution
    return spec


def _port_keys(ports: list[Manifest] | None) -> list[tuple[object, ...]]:
    """Ports as comparable tuples, with the API server's defaults filled in, in port order."""
    keys = [
        (
            p.get("port"),
            p.get("name") or "",
            p.get("targetPort", p.get("port")),
            p.get("protocol") or "TCP",
            p.get("appProtocol") or "",
        )
        for p in ports or []
    ]
    return sorted(keys, key=repr)


def _with_node_ports(desired: list[Manifest], existing: list[Manifest]) -> list[Manifest]:
    """Desired ports keeping the node ports the existing ones were given (by port name)."""
    node_ports = {p.get("name"): p["nodePort"] for p in existing if p.get("nodePort")}
    return [
        {**port, "nodePort": node_ports[port["name"]]} if port["name"] in node_ports else port
        for port in desired
    ]
