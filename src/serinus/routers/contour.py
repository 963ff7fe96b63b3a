"""Contour: the ``HTTPProxy <apex>`` (``projectcontour.io/v1``) that weighs ``-primary`` against
``-canary``.

Flagger's users include this proxy from their root HTTPProxy (the one with the virtual host), so
it has routes and no ``virtualhost``. Its route matches ``spec.service.match[0].uri.prefix``
(else ``/``) and sends to ``<apex>-primary`` and ``<apex>-canary`` on the service port, with the
weights, ``timeoutPolicy`` from ``spec.service.timeout`` (idle ``5m``), ``retryPolicy`` from
``spec.service.retries``, and on each service the ``l5d-dst-override`` request header that lets
a Linkerd-meshed Envoy reach the Service as Flagger sets it. As in Flagger's JSON, a weight of 0
is left out (Contour reads a missing weight as 0 when another service has one). The operator's
``--ingress-class`` becomes ``spec.ingressClassName``.

A/B testing (``analysis.match``): one route per match request, its headers as Contour header
conditions (exact as ``exact``, regex as ``regex``, which Contour has since 1.26; prefix and
suffix as ``contains``, which is how Flagger writes them and what ``serinus validate`` notes:
Contour has no prefix or suffix header match), holding the weights, then the plain route
sending everything else to the primary. Contour ANDs the conditions of one route, so each match
request keeps Istio's meaning: its headers all hold, and any one request matches. Contour marks a
proxy it cannot serve ``status.currentStatus: invalid``; reading the routes then fails with its
description, since traffic does not follow the object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.capabilities import Capabilities, Matching, always
from serinus.errors import RouterError
from serinus.kube import Kube
from serinus.ports import Routes
from serinus.routers import quantities, retry_on
from serinus.routers.base import MeshRouter, one_object
from serinus.routers.names import ServiceNames, where
from serinus.routers.objects import ALL_TO_PRIMARY, Blueprint, Desired
from serinus.routers.services import Services

API_VERSION = "projectcontour.io/v1"
PROVIDER = "contour"
LINKERD_HEADER = "l5d-dst-override"
CAPABILITIES = Capabilities(
    matching=Matching(
        "Contour", fields={"headers": frozenset({"exact", "prefix", "suffix", "regex"})}
    )
)
"""Weights, and A/B on headers (exact, regular expression, or contained text); no mirroring, no
session affinity (Flagger's contour router does neither)."""

RETRY_ON = frozenset(
    {
        "5xx",
        "gateway-error",
        "reset",
        "reset-before-request",
        "connect-failure",
        "envoy-ratelimited",
        "retriable-4xx",
        "refused-stream",
        "retriable-status-codes",
        "retriable-headers",
        "http3-post-connect-failure",
        "cancelled",
        "deadline-exceeded",
        "internal",
        "resource-exhausted",
        "unavailable",
    }
)
"""The ``retryOn`` values of Contour's HTTPProxy schema (projectcontour/contour,
apis/projectcontour/v1/httpproxy.go, ``RetryOn``'s enum, 2026-08)."""

_CONTAINS = frozenset({"prefix", "suffix"})
_CONTOUR_KIND = {"exact": "exact", "regex": "regex"}
"""Istio's string match kinds that Contour's header condition has under the same meaning."""


class HTTPProxyBlueprint(Blueprint):
    """``HTTPProxy <apex>``: one weighted route, plus the A/B routes."""

    api_version = API_VERSION
    kind = "HTTPProxy"

    def __init__(self, *, ingress_class: str = "") -> None:
        self.ingress_class = ingress_class

    def name(self, canary: Canary) -> str:
        return ServiceNames.of(canary).apex

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        spec = proxy_spec(canary, routes)
        if self.ingress_class:
            spec["ingressClassName"] = self.ingress_class
        return Desired.with_metadata({"spec": spec}, canary.spec.service.apex)

    def routes(self, canary: Canary, manifest: Manifest) -> Routes:
        names = ServiceNames.of(canary)
        found = (manifest.get("spec") or {}).get("routes") or []
        services = (found[0].get("services") or []) if found else []
        by_name = {service.get("name"): service.get("weight") or 0 for service in services}
        what = where(self.kind, canary, self.name(canary))
        return quantities.routes(by_name, names, what=what, provider=PROVIDER)

    def check_programmed(self, canary: Canary, manifest: Manifest) -> None:
        status = manifest.get("status") or {}
        if status.get("currentStatus") == "invalid":
            raise RouterError(
                PROVIDER,
                f"{where(self.kind, canary, self.name(canary))}: Contour does not serve it: "
                f"{status.get('description') or 'invalid'}",
            )


def proxy_spec(canary: Canary, routes: Routes) -> Manifest:
    """The HTTPProxy spec for the Canary with the given weights (A/B routes first)."""
    prefix = _prefix(canary)
    analysis = canary.spec.effective_analysis
    matches = list(analysis.match or []) if analysis is not None else []
    if not matches:
        return {"routes": [_route(canary, [{"prefix": prefix}], routes)]}
    ab = [_route(canary, _conditions(match, prefix), routes) for match in matches]
    return {"routes": [*ab, _route(canary, [{"prefix": prefix}], ALL_TO_PRIMARY)]}


def problems(canary: Canary) -> list[str]:
    """``retryOn`` values Contour does not know (its schema would refuse the HTTPProxy)."""
    return retry_on.unknown(canary, RETRY_ON, mesh="Contour")


def notes(canary: Canary) -> list[str]:
    """Where Contour matches less precisely than the Canary says (prefix/suffix as contains)."""
    analysis = canary.spec.effective_analysis
    found: list[str] = []
    for index, match in enumerate((analysis.match or []) if analysis is not None else []):
        for header, condition in sorted((match.get("headers") or {}).items()):
            kind, text = _single(condition)
            if kind in _CONTAINS:
                found.append(
                    f"spec.analysis.match[{index}].headers.{header}: Contour has no {kind} "
                    f"match; the header condition is 'contains {text}', as Flagger writes it"
                )
    return found


def _route(canary: Canary, conditions: list[Manifest], routes: Routes) -> Manifest:
    names = ServiceNames.of(canary)
    route: Manifest = {
        "conditions": conditions,
        "services": [
            _service(canary, names.primary, routes.primary),
            _service(canary, names.canary, routes.canary),
        ],
    }
    service = canary.spec.service
    if service.timeout:
        route["timeoutPolicy"] = {"response": service.timeout, "idle": "5m"}
    if service.retries is not None:
        retry: Manifest = {"count": service.retries.attempts or 0}
        if service.retries.per_try_timeout:
            retry["perTryTimeout"] = service.retries.per_try_timeout
        if service.retries.retry_on:
            retry["retryOn"] = service.retries.retry_on.split(",")
        route["retryPolicy"] = retry
    return route


def _service(canary: Canary, name: str, weight: int) -> Manifest:
    port = canary.spec.service.port
    found: Manifest = {"name": name, "port": port}
    if weight:
        found["weight"] = weight
    override = f"{name}.{canary.namespace}.svc.cluster.local:{port}"
    found["requestHeadersPolicy"] = {"set": [{"name": LINKERD_HEADER, "value": override}]}
    return found


def _conditions(match: Mapping[str, Any], prefix: str) -> list[Manifest]:
    """One match request as Contour conditions: the route's prefix once, then every header."""
    conditions: list[Manifest] = []
    for header, condition in sorted((match.get("headers") or {}).items()):
        kind, text = _single(condition)
        found: Manifest = {"name": header, _CONTOUR_KIND.get(kind, "contains"): text}
        conditions.append({"header": found})
    if not conditions:
        return [{"prefix": prefix}]
    conditions[0] = {"prefix": prefix, **conditions[0]}
    return conditions


def _single(condition: Any) -> tuple[str, str]:
    """The kind and text of a StringMatch the capabilities already accepted."""
    ((kind, text),) = dict(condition).items()
    return str(kind), str(text)


def _prefix(canary: Canary) -> str:
    """``spec.service.match[0].uri.prefix``, else ``/`` (the only uri condition Flagger keeps)."""
    matches = canary.spec.service.match or []
    uri = (matches[0].get("uri") or {}) if matches else {}
    prefix = uri.get("prefix") if isinstance(uri, dict) else None
    return prefix if isinstance(prefix, str) and prefix else "/"


def router(kube: Kube, services: Services, *, ingress_class: str = "") -> MeshRouter:
    """The contour provider's router."""
    blueprint = HTTPProxyBlueprint(ingress_class=ingress_class)
    return one_object(kube, services, blueprint, provider=PROVIDER, capabilities=capabilities)


capabilities = always(CAPABILITIES)
