"""``spec.service`` of a Canary: the ports and the mesh options of the Services serinus creates.

serinus creates three Services from it: the apex ``<name>`` (selects the primary pods),
``<name>-primary`` and ``<name>-canary``; mesh routers read the mesh-specific fields. Mesh
structures (Istio trafficPolicy, Gateway API refs, CORS) are kept as written.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from serinus.apis.base import ApiModel, IntOrString, Passthrough, PassthroughList


class CustomMetadata(ApiModel):
    """Labels and annotations added to a generated object."""

    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class UnmanagedMetadata(ApiModel):
    """Label and annotation keys that serinus must not add, remove or overwrite."""

    labels: list[str] | None = None
    annotations: list[str] | None = None


class HttpRewrite(ApiModel):
    """Rewrite of the request path or authority before it reaches the workload."""

    uri: str | None = None
    authority: str | None = None
    type: Literal["ReplaceFullPath", "ReplacePrefixMatch"] | None = None
    """Gateway API rewrite type; ReplaceFullPath when unset."""


class HttpRetry(ApiModel):
    """Retry policy of the generated route."""

    attempts: int | None = None
    per_try_timeout: str | None = None
    retry_on: str | None = None


class CanaryService(ApiModel):
    """The Services serinus generates for the target, and the mesh route options."""

    name: str | None = None
    """Name of the apex Service; the target's name when unset."""
    port: Annotated[int, Field(ge=1, le=65535)]
    """Port of the apex, primary and canary Services (required)."""
    port_name: str | None = None
    """Name of the port; http when unset, grpc for gRPC services."""
    target_port: IntOrString | None = None
    """Container port number or name; the service port when unset."""
    app_protocol: str | None = None
    """Application protocol of the port; tcp makes Istio generate a TCP route."""
    traffic_distribution: Literal["PreferClose", "PreferSameZone", "PreferSameNode"] | None = None
    port_discovery: bool | None = None
    """Add every container port of the target to the generated Services."""
    headless: bool | None = None
    """Generate headless Services (ClusterIP None)."""
    timeout: str | None = None
    """Request timeout of the generated route."""
    backend_timeout: str | None = None
    """Gateway API backendRequest timeout."""
    gateways: list[str] | None = None
    """Istio gateways; the mesh gateway when unset."""
    gateway_refs: PassthroughList | None = None
    """Gateway API parentRefs of the generated HTTPRoute (required for gatewayapi)."""
    hosts: list[str] | None = None
    """Hosts of the Istio VirtualService or HTTPRoute."""
    delegation: bool | None = None
    """Generate an Istio delegate VirtualService (no hosts, no gateways)."""
    traffic_policy: Passthrough | None = None
    """Istio DestinationRule traffic policy."""
    match: PassthroughList | None = None
    """Istio HTTPMatchRequest conditions of the generated route."""
    rewrite: HttpRewrite | None = None
    retries: HttpRetry | None = None
    headers: Passthrough | None = None
    """Request and response header operations."""
    mirror: PassthroughList | None = None
    """Gateway API RequestMirror filters."""
    cors_policy: Passthrough | None = None
    mesh_name: str | None = None
    """App Mesh mesh name (deprecated)."""
    backends: list[str] | None = None
    """App Mesh backends."""
    apex: CustomMetadata | None = None
    """Metadata of the apex Service (also put on the mesh or ingress object)."""
    primary: CustomMetadata | None = None
    canary: CustomMetadata | None = None
    unmanaged_metadata: UnmanagedMetadata | None = None

    @property
    def effective_port_name(self) -> str:
        return self.port_name or "http"
