"""The three Kubernetes Services every provider routes between: the apex, -primary and -canary.

Flagger's ``KubernetesDefaultRouter``, used under every mesh router. ``initialize`` (before the
primary workload exists) makes ``<apex>-canary``, selecting the target's pods, and
``<apex>-primary``, selecting ``<value>-primary``; ``reconcile_apex`` (once the primary serves)
points the apex at the primary's pods too, so callers outside the mesh keep reaching a stable
version. All three are ClusterIP (headless on request) with the ports of ``spec.service``.

A Service that exists already is taken over and written only when its selector, ports or metadata
differ from what the Canary asks (its clusterIP, node ports and everything else stay); see
:mod:`serinus.routers.metadata` for whose labels and annotations are kept. An apex that the
kubernetes provider routed to the canary (:meth:`Services.route_apex`) is left there by
``reconcile_apex``, as Flagger leaves it, until routes move it back. ``finalize`` gives the apex
back to the target: it selects the target's pods again and loses its owner reference, so the
Service outlives the Canary (Flagger would let the garbage collector delete an apex it created,
leaving the workload without its Service).
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Sequence

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.apis.service import CustomMetadata
from serinus.errors import RouterError
from serinus.kube import Kube
from serinus.logs import CanaryLogger
from serinus.ports import Routes
from serinus.routers import metadata, workload
from serinus.routers.base import ServiceNames, where

logger = logging.getLogger(__name__)

APEX_ROUTE_ANNOTATION = "serinus.io/apex-routes-to"
"""Set to ``canary`` on an apex Service that routes moved to the canary's pods."""


class Services:
    """Creates, takes over and reverts the apex, primary and canary Services of a Canary."""

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
        target = await self._workload(canary)
        names = ServiceNames.of(canary)
        service = canary.spec.service
        await self._reconcile(canary, target, names.canary, target.value, service.canary)
        await self._reconcile(canary, target, names.primary, target.primary_value, service.primary)

    async def reconcile_apex(self, canary: Canary) -> None:
        """Create or update the apex Service, selecting the primary's pods. Idempotent."""
        target = await self._workload(canary)
        apex = ServiceNames.of(canary).apex
        existing = await self._get(canary, apex)
        if existing is not None and _routed_to_canary(existing):
            return
        await self._reconcile(
            canary, target, apex, target.primary_value, canary.spec.service.apex, existing
        )

    async def route_apex(self, canary: Canary, *, to_canary: bool) -> None:
        """Point the apex at the canary's pods or back at the primary's (kubernetes provider)."""
        target = await self._workload(canary)
        apex = ServiceNames.of(canary).apex
        existing = await self._require(canary, apex)
        updated = copy.deepcopy(existing)
        value = target.value if to_canary else target.primary_value
        updated.setdefault("spec", {})["selector"] = {target.label: value}
        annotations = dict(updated["metadata"].get("annotations") or {})
        if to_canary:
            annotations[APEX_ROUTE_ANNOTATION] = "canary"
        else:
            annotations.pop(APEX_ROUTE_ANNOTATION, None)
        _set_or_drop(updated["metadata"], "annotations", annotations)
        await self._write(canary, existing, updated)

    async def apex_routes(self, canary: Canary) -> Routes:
        """All traffic to the canary when routes moved the apex there, else to the primary."""
        existing = await self._require(canary, ServiceNames.of(canary).apex)
        return Routes(0, 100) if _routed_to_canary(existing) else Routes(100, 0)

    async def finalize(self, canary: Canary) -> None:
        """Give the apex back to the target: its selector, no owner reference. Idempotent."""
        apex = ServiceNames.of(canary).apex
        existing = await self._get(canary, apex)
        if existing is None:
            return
        updated = copy.deepcopy(existing)
        updated.setdefault("spec", {})["selector"] = await self._original_selector(canary, existing)
        meta = updated["metadata"]
        _set_or_drop(meta, "ownerReferences", metadata.without_owner(existing, canary))
        annotations = dict(meta.get("annotations") or {})
        annotations.pop(APEX_ROUTE_ANNOTATION, None)
        _set_or_drop(meta, "annotations", annotations)
        await self._write(canary, existing, updated)

    # internals

    async def _workload(self, canary: Canary) -> workload.Workload:
        return await workload.read(
            self.kube, canary, provider=self.provider, selector_labels=self.selector_labels
        )

    async def _get(self, canary: Canary, name: str) -> Manifest | None:
        return await self.kube.get("v1", "Service", name, canary.namespace)

    async def _require(self, canary: Canary, name: str) -> Manifest:
        found = await self._get(canary, name)
        if found is None:
            raise RouterError(
                self.provider, f"{where('Service', canary, name)}: not found (not reconciled yet)"
            )
        return found

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
        target = await self._workload(canary)
        return {target.label: target.value}

    async def _reconcile(
        self,
        canary: Canary,
        target: workload.Workload,
        name: str,
        value: str,
        custom: CustomMetadata | None,
        existing: Manifest | None = None,
    ) -> None:
        spec = service_spec(canary, target, value)
        labels = {**((custom.labels if custom else None) or {}), target.label: name}
        annotations = {
            **((custom.annotations if custom else None) or {}),
            **metadata.FLUX_ANNOTATIONS,
        }
        found = existing if existing is not None else await self._get(canary, name)
        if found is None:
            await self._create(canary, name, spec, labels, annotations)
            return
        metadata.check_not_foreign(
            found, canary, provider=self.provider, what=where("Service", canary, name)
        )
        updated = self._updated(canary, found, spec, labels, annotations)
        await self._write(canary, found, updated)

    async def _create(
        self,
        canary: Canary,
        name: str,
        spec: Manifest,
        labels: dict[str, str],
        annotations: dict[str, str],
    ) -> None:
        label_keys, annotation_keys = metadata.unmanaged_keys(canary)
        meta: Manifest = {
            "name": name,
            "namespace": canary.namespace,
            "ownerReferences": [metadata.owner_reference(canary, provider=self.provider)],
        }
        _set_or_drop(
            meta, "labels", metadata.merge(None, labels, unmanaged=label_keys, keep_others=False)
        )
        _set_or_drop(
            meta,
            "annotations",
            metadata.merge(None, annotations, unmanaged=annotation_keys, keep_others=False),
        )
        body = {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}
        await self.kube.create(body)
        CanaryLogger(logger, canary=canary.key).info(
            "Service %s.%s created", name, canary.namespace
        )

    def _updated(
        self,
        canary: Canary,
        existing: Manifest,
        desired: Manifest,
        labels: dict[str, str],
        annotations: dict[str, str],
    ) -> Manifest:
        """The existing Service with the desired selector, ports and metadata."""
        owned = metadata.controlled_by(existing, canary)
        updated = copy.deepcopy(existing)
        spec = updated.setdefault("spec", {})
        self._check_headless(canary, existing, owned=owned)
        spec["selector"] = desired["selector"]
        if _port_keys(spec.get("ports")) != _port_keys(desired["ports"]):
            spec["ports"] = _with_node_ports(desired["ports"], spec.get("ports") or [])
        if "trafficDistribution" in desired:
            spec["trafficDistribution"] = desired["trafficDistribution"]
        elif owned:
            spec.pop("trafficDistribution", None)
        meta = updated.setdefault("metadata", {})
        label_keys, annotation_keys = metadata.unmanaged_keys(canary)
        keep = not owned
        merged_labels = metadata.merge(
            meta.get("labels"), labels, unmanaged=label_keys, keep_others=keep
        )
        merged_annotations = metadata.merge(
            meta.get("annotations"), annotations, unmanaged=annotation_keys, keep_others=keep
        )
        _set_or_drop(meta, "labels", merged_labels)
        _set_or_drop(meta, "annotations", merged_annotations)
        return updated

    def _check_headless(self, canary: Canary, existing: Manifest, *, owned: bool) -> None:
        cluster_ip = (existing.get("spec") or {}).get("clusterIP")
        wanted = bool(canary.spec.service.headless)
        if wanted == (cluster_ip == "None") or (not wanted and not owned):
            return
        name = (existing.get("metadata") or {}).get("name", "")
        expected = "None (headless)" if wanted else "an address (not headless)"
        raise RouterError(
            self.provider,
            f"{where('Service', canary, name)}: spec.service.headless asks for clusterIP "
            f"{expected}, found {cluster_ip}; a clusterIP cannot change, delete the Service "
            "to have it created again",
        )

    async def _write(self, canary: Canary, existing: Manifest, updated: Manifest) -> None:
        if updated == existing:
            return
        await self.kube.replace(updated)
        name = updated["metadata"].get("name")
        CanaryLogger(logger, canary=canary.key).info(
            "Service %s.%s updated", name, canary.namespace
        )


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


def _routed_to_canary(service: Manifest) -> bool:
    annotations = (service.get("metadata") or {}).get("annotations") or {}
    return annotations.get(APEX_ROUTE_ANNOTATION) == "canary"


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


def _set_or_drop(meta: Manifest, key: str, value: dict[str, str] | list[Manifest]) -> None:
    if value:
        meta[key] = value
    else:
        meta.pop(key, None)
