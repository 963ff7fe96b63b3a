"""Which router serves a provider (:func:`router_for`), what it can do (:func:`capabilities_for`)
and what a Canary asks of it in vain (:func:`refusals`): an explicit table that raises on a miss.

Flagger's factory falls back to Istio for a provider it does not know; serinus never guesses:
a provider of Flagger's enum that has no router here (appmesh, contour, gloo, kuma, traefik,
apisix, skipper, knative) is an :class:`~serinus.errors.UnknownProviderError`, shown on the
Canary as ``provider contour is not supported``.

=====================================  ==========================================
provider                               router
=====================================  ==========================================
``kubernetes``                         apex selector only (blue/green)
``linkerd``, ``smi:v1alpha1[:mesh]``   SMI TrafficSplit v1alpha1
``osm``, ``smi:v1alpha2[:mesh]``       SMI TrafficSplit v1alpha2
``smi:v1alpha3[:mesh]``                SMI TrafficSplit v1alpha3
``gatewayapi``, ``gatewayapi:v1``      Gateway API HTTPRoute v1
``gatewayapi:v1beta1``                 Gateway API HTTPRoute v1beta1
``istio``                              Istio VirtualService + DestinationRules
``nginx``                              canary Ingress
=====================================  ==========================================
"""

from __future__ import annotations

from collections.abc import Sequence

from serinus import capabilities
from serinus.apis.canary import Canary
from serinus.errors import UnknownProviderError
from serinus.kube import Kube
from serinus.ports import Router
from serinus.routers import gateway_api, istio, kubernetes, nginx, smi
from serinus.routers.base import CapabilitiesOf
from serinus.routers.services import Services
from serinus.routers.workload import DEFAULT_SELECTOR_LABELS

_SMI_ALIASES = {"linkerd": "v1alpha1", "osm": "v1alpha2"}
_GATEWAY_VERSIONS = {"gatewayapi": "v1", "gatewayapi:v1": "v1", "gatewayapi:v1beta1": "v1beta1"}


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
        ingress_class: Flagger's ``-ingress-class``; it selects the ingress controller of the
            contour and gloo routers, which serinus does not implement yet, so it changes nothing.
        nginx_annotations_prefix: the prefix of the NGINX canary annotations.
        selector_labels: the labels, in order, that the Services select pods by.

    Raises:
        UnknownProviderError: for a provider without a router.
    """
    del ingress_class  # no implemented router reads it (see above)
    services = Services(kube, provider=provider, selector_labels=selector_labels)
    if provider == "kubernetes":
        return kubernetes.router(services)
    if provider == "istio":
        return istio.router(kube, services)
    if provider == "nginx":
        return nginx.router(kube, services, prefix=nginx_annotations_prefix)
    if provider in _GATEWAY_VERSIONS:
        version = _GATEWAY_VERSIONS[provider]
        return gateway_api.router(kube, services, version=version, provider=provider)
    smi_version = _smi_version(provider)
    if smi_version is not None:
        return smi.router(kube, services, version=smi_version, provider=provider)
    raise UnknownProviderError("provider", provider)


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
    if provider == "kubernetes":
        return kubernetes.capabilities
    if provider == "istio":
        return istio.capabilities
    if provider == "nginx":
        return nginx.capabilities
    if provider in _GATEWAY_VERSIONS:
        return gateway_api.capabilities
    if _smi_version(provider) is not None:
        return smi.capabilities
    raise UnknownProviderError("provider", provider)


_NAMED = ("gatewayapi", "istio", "kubernetes", "linkerd", "nginx")
"""The providers the refusals name as able, one per router."""


def refusals(canary: Canary, provider: str) -> list[str]:
    """What ``canary`` asks of ``provider``'s router that it cannot do, each naming the field.

    Raises:
        UnknownProviderError: for a provider without a router.
    """
    found = {name: capabilities_for(name)(canary) for name in _NAMED}
    able = {
        "matching": [name for name, can in found.items() if can.matching is not None],
        "mirroring": [name for name, can in found.items() if can.mirroring],
        "session affinity": [name for name, can in found.items() if can.session_affinity],
    }
    own = capabilities_for(provider)(canary)
    return capabilities.refusals(canary, own, provider=provider, able=able)
