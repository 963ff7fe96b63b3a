"""Which router serves a provider (:func:`router_for`), what it can do (:func:`capabilities_for`),
what a Canary asks of it in vain (:func:`refusals`) and where it knowingly differs from Flagger
(:func:`notes`): an explicit table that raises on a miss.

Flagger's factory falls back to Istio for a provider it does not know; serinus never guesses: a
name outside the table is an :class:`~serinus.errors.UnknownProviderError`, shown on the Canary
as ``provider consul is not supported``.

=====================================  ==========================================================
provider                               router
=====================================  ==========================================================
``kubernetes``                         apex selector only (blue/green)
``linkerd``, ``smi:v1alpha1[:mesh]``   SMI TrafficSplit v1alpha1
``osm``, ``smi:v1alpha2[:mesh]``       SMI TrafficSplit v1alpha2
``smi:v1alpha3[:mesh]``                SMI TrafficSplit v1alpha3
``gatewayapi``, ``gatewayapi:v1``      Gateway API HTTPRoute v1
``gatewayapi:v1beta1``                 Gateway API HTTPRoute v1beta1
``istio``                              Istio VirtualService + DestinationRules
``nginx``                              canary Ingress, NGINX annotations
``contour``                            Contour HTTPProxy
``gloo``                               Gloo Edge RouteTable + two Upstreams
``traefik``                            TraefikService
``apisix``                             canary ApisixRoute (copy of ``spec.routeRef``)
``skipper``                            canary Ingress, Skipper annotations
``kuma``                               Kuma TrafficRoute (cluster-scoped)
``appmesh``, ``appmesh:v1beta2``       App Mesh v1beta2 virtual nodes, routers and services
``knative``                            the Knative Service's traffic block
=====================================  ==========================================================
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence

from serinus import capabilities
from serinus.apis.canary import Canary
from serinus.errors import InvalidCanaryError, UnknownProviderError
from serinus.kube import Kube
from serinus.ports import Router
from serinus.routers import (
    apisix,
    appmesh,
    contour,
    gateway_api,
    gloo,
    istio,
    knative,
    kubernetes,
    kuma,
    nginx,
    skipper,
    smi,
    traefik,
)
from serinus.routers.base import CapabilitiesOf
from serinus.routers.services import Services
from serinus.routers.workload import DEFAULT_SELECTOR_LABELS

_SMI_ALIASES = {"linkerd": "v1alpha1", "osm": "v1alpha2"}
_GATEWAY_VERSIONS = {"gatewayapi": "v1", "gatewayapi:v1": "v1", "gatewayapi:v1beta1": "v1beta1"}


@dataclasses.dataclass(frozen=True)
class Context:
    """What a router is built from: the client, the Services, the operator's settings."""

    provider: str
    kube: Kube
    services: Services
    ingress_class: str
    nginx_annotations_prefix: str


def _no_notes(canary: Canary, provider: str) -> list[str]:
    return []


def _no_problems(canary: Canary) -> list[str]:
    return []


@dataclasses.dataclass(frozen=True)
class Entry:
    """One router of the table."""

    build: Callable[[Context], Router]
    capabilities: CapabilitiesOf
    problems: Callable[[Canary], list[str]] = _no_problems
    """What the Canary lacks for this provider (a required reference) or asks that the mesh's
    schema would refuse (a ``retryOn`` value), each naming the field."""
    notes: Callable[[Canary, str], list[str]] = _no_notes
    """Where the router knowingly differs from Flagger's for this Canary."""


def _smi(context: Context) -> Router:
    version = _smi_version(context.provider)
    if version is None:
        raise UnknownProviderError("provider", context.provider)
    return smi.router(context.kube, context.services, version=version, provider=context.provider)


_TABLE: dict[str, Entry] = {
    "kubernetes": Entry(lambda c: kubernetes.router(c.services), kubernetes.capabilities),
    "istio": Entry(lambda c: istio.router(c.kube, c.services), istio.capabilities),
    "nginx": Entry(
        lambda c: nginx.router(c.kube, c.services, prefix=c.nginx_annotations_prefix),
        nginx.capabilities,
        problems=nginx.problems,
    ),
    "gatewayapi": Entry(
        lambda c: gateway_api.router(
            c.kube, c.services, version=_GATEWAY_VERSIONS[c.provider], provider=c.provider
        ),
        gateway_api.capabilities,
    ),
    "smi": Entry(_smi, smi.capabilities),
    "contour": Entry(
        lambda c: contour.router(c.kube, c.services, ingress_class=c.ingress_class),
        contour.capabilities,
        problems=contour.problems,
        notes=lambda canary, _: contour.notes(canary),
    ),
    "gloo": Entry(
        lambda c: gloo.router(c.kube, c.services),
        gloo.capabilities,
        notes=lambda canary, _: gloo.notes(canary),
    ),
    "traefik": Entry(lambda c: traefik.router(c.kube, c.services), traefik.capabilities),
    "apisix": Entry(
        lambda c: apisix.router(c.kube, c.services), apisix.capabilities, apisix.problems
    ),
    "skipper": Entry(
        lambda c: skipper.router(c.kube, c.services), skipper.capabilities, skipper.problems
    ),
    "kuma": Entry(lambda c: kuma.router(c.kube, c.services), kuma.capabilities),
    "appmesh": Entry(
        lambda c: appmesh.router(c.kube, c.services, provider=c.provider),
        appmesh.capabilities,
        problems=appmesh.problems,
        notes=appmesh.notes,
    ),
    "knative": Entry(lambda c: knative.router(c.kube), knative.capabilities),
}


def _entry(provider: str) -> Entry:
    """The table's entry for ``provider``; UnknownProviderError when there is none."""
    if provider in _GATEWAY_VERSIONS:
        return _TABLE["gatewayapi"]
    if _smi_version(provider) is not None:
        return _TABLE["smi"]
    if provider == "appmesh:v1beta2":
        return _TABLE["appmesh"]
    if provider in _TABLE and provider not in ("gatewayapi", "smi"):
        return _TABLE[provider]
    raise UnknownProviderError("provider", provider)


def router_for(
    provider: str,
    kube: Kube,
    *,
    ingress_class: str | None = None,
    nginx_annotations_prefix: str = nginx.DEFAULT_ANNOTATIONS_PREFIX,
    selector_labels: Sequence[str] = DEFAULT_SELECTOR_LABELS,
) -> Router:
    """The router of ``provider``, talking to the cluster through ``kube``.

    Args:
        provider: the Canary's ``spec.provider``, else the operator's default.
        ingress_class: Flagger's ``-ingress-class``: the contour router writes it as the
            HTTPProxy's ``spec.ingressClassName``.
        nginx_annotations_prefix: the prefix of the NGINX canary annotations.
        selector_labels: the labels, in order, that the Services select pods by.

    Raises:
        UnknownProviderError: for a provider without a router.
    """
    entry = _entry(provider)
    services = Services(kube, provider=provider, selector_labels=selector_labels)
    context = Context(provider, kube, services, ingress_class or "", nginx_annotations_prefix)
    return entry.build(context)


def _smi_version(provider: str) -> str | None:
    """The TrafficSplit version of an SMI provider (``smi:v1alpha2:osm`` -> ``v1alpha2``)."""
    if provider in _SMI_ALIASES:
        return _SMI_ALIASES[provider]
    family, _, rest = provider.partition(":")
    version = rest.partition(":")[0]
    if family == "smi" and version in smi.VERSIONS:
        return version
    return None


def capabilities_for(provider: str) -> CapabilitiesOf:
    """What ``provider``'s router can do, without a cluster (``serinus validate`` asks too).

    Raises:
        UnknownProviderError: for a provider without a router.
    """
    return _entry(provider).capabilities


_NAMED = (
    "apisix",
    "appmesh",
    "contour",
    "gatewayapi",
    "gloo",
    "istio",
    "knative",
    "kubernetes",
    "kuma",
    "linkerd",
    "nginx",
    "skipper",
    "traefik",
)
"""The providers the refusals name as able, one per router."""


def refusals(canary: Canary, provider: str) -> list[str]:
    """What ``canary`` asks of ``provider``'s router that it cannot do, each naming the field.

    Raises:
        UnknownProviderError: for a provider without a router.
    """
    entry = _entry(provider)
    wrong_target = _target_refusals(canary, provider)
    if wrong_target:
        return wrong_target
    found = {}
    for name in _NAMED:
        with contextlib.suppress(InvalidCanaryError):  # a Knative Canary has no spec.service
            found[name] = capabilities_for(name)(canary)
    able = {
        "matching": [name for name, can in found.items() if can.matching is not None],
        "mirroring": [name for name, can in found.items() if can.mirroring],
        "session affinity": [name for name, can in found.items() if can.session_affinity],
    }
    own = entry.capabilities(canary)
    return [
        *entry.problems(canary),
        *capabilities.refusals(canary, own, provider=provider, able=able),
    ]


def notes(canary: Canary, provider: str) -> list[str]:
    """Where ``provider``'s router knowingly differs from Flagger's for ``canary``."""
    return _entry(provider).notes(canary, provider)


def _target_refusals(canary: Canary, provider: str) -> list[str]:
    """A Knative Service target takes the knative provider, and the knative provider only it."""
    target = canary.spec.target_ref
    if target.is_knative_service and provider != "knative":
        return [
            f"spec.provider: a Knative Service target is routed by provider knative, found "
            f"provider {provider}"
        ]
    if provider == "knative" and not target.is_knative_service:
        found = f"{target.kind} {target.api_version or ''}".strip()
        return [
            "spec.targetRef: provider knative routes a Knative Service (kind Service, apiVersion "
            f"serving.knative.dev/v1), found {found}"
        ]
    return []
