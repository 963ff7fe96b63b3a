"""Gateway API ``HTTPRoute``: the providers ``gatewayapi``/``gatewayapi:v1`` and ``:v1beta1``.

One HTTPRoute named after the apex, attached to ``spec.service.gatewayRefs`` (a Gateway, or the
apex Service itself for a GAMMA mesh such as Linkerd: ``{group: core, kind: Service, name:
podinfo, port: 9898}``), with ``spec.service.hosts`` as hostnames. Its first rule carries the
route's conditions (``spec.service.match``, else every path), its filters and the weighted
backends, primary first: ``<apex>-primary`` and ``<apex>-canary`` on the service port. The two API
versions have the same shape; the version is a parameter.

* A/B testing: the first rule gets the A/B conditions (``analysis.match``, translated by
  :mod:`serinus.routers.http_matches`) and the weights; a second rule sends everything else to
  the primary.
* Mirroring: while the routes are mirrored the weighted rule gets a RequestMirror filter to
  ``<apex>-canary``.
* Filters: request/response header modifiers from ``spec.service.headers``, a URLRewrite from
  ``spec.service.rewrite``, RequestMirror filters from ``spec.service.mirror``; timeouts from
  ``timeout``/``backendTimeout``. ``retries`` and ``corsPolicy`` are Istio's and, as in Flagger,
  not carried over; ``analysis.mirrorWeight`` neither (the mirror filter's percent is not in
  every Gateway API release).

* Session affinity (:mod:`serinus.routers.affinity`): while the canary has traffic, a first rule
  sends requests with the run's canary cookie to the canary (a second, with a
  ``primaryCookieName``, those with the primary cookie to the primary), and the weighted rule,
  last, adds the cookies to its backends' responses; once the canary has no traffic, a first
  rule answers the run's cookie expired. The weights are read from the last rule.

Reading the weights back also checks the route's status: a parent that has not accepted the
current generation means the gateway does not route by it yet, which is a (retriable) error.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.capabilities import STRING_KINDS, Capabilities, Matching, always
from serinus.errors import InvalidCanaryError, RouterError
from serinus.kube import Kube
from serinus.ports import Routes
from serinus.routers import affinity, http_matches, quantities
from serinus.routers.base import MeshRouter, one_object
from serinus.routers.names import ServiceNames
from serinus.routers.objects import Blueprint, Desired
from serinus.routers.services import Services

GROUP = "gateway.networking.k8s.io"
VERSIONS = ("v1", "v1beta1")
DEFAULT_MATCH: Manifest = {"path": {"type": "PathPrefix", "value": "/"}}
_MIRROR = "RequestMirror"
CAPABILITIES = Capabilities(
    matching=Matching(
        "Gateway API",
        fields={
            "uri": frozenset({"exact", "prefix", "regex"}),
            "headers": STRING_KINDS,
            "queryParams": STRING_KINDS,
            "method": frozenset({"exact"}),
        },
    ),
    mirroring=True,
    session_affinity=True,
)
"""Weights, A/B on path, headers, query parameters and method, mirroring, session affinity."""


class HTTPRouteBlueprint(Blueprint):
    """The HTTPRoute of one Gateway API version."""

    kind = "HTTPRoute"

    def __init__(self, version: str, *, provider: str) -> None:
        if version not in VERSIONS:
            raise ValueError(f"version: expected one of {', '.join(VERSIONS)}, found {version!r}")
        self.api_version = f"{GROUP}/{version}"
        self.provider = provider

    def name(self, canary: Canary) -> str:
        return ServiceNames.of(canary).apex

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        return Desired.with_metadata({"spec": route_spec(canary, routes)}, canary.spec.service.apex)

    def routes(self, canary: Canary, manifest: Manifest) -> Routes:
        names = ServiceNames.of(canary)
        what = f"HTTPRoute {canary.namespace}/{self.name(canary)}"
        rules = (manifest.get("spec") or {}).get("rules") or []
        mirrored = any(_mirrors_to(rule, names.canary) for rule in rules)
        if affinity.applies(canary) and rules:
            rules = [rules[-1]]  # the weighted rule comes after the sticky ones
        for rule in rules:
            weights = {
                ref.get("name"): ref.get("weight", 1) for ref in rule.get("backendRefs") or []
            }
            if set(weights) != {names.primary, names.canary}:
                continue
            try:
                primary = quantities.parse(weights[names.primary], field=f"{what}: weight")
                canary_weight = quantities.parse(weights[names.canary], field=f"{what}: weight")
            except ValueError as error:
                raise RouterError(self.provider, str(error)) from error
            if primary + canary_weight == 0:
                break
            canary_percent = quantities.percent(canary_weight, primary + canary_weight)
            return Routes(100 - canary_percent, canary_percent, mirrored=mirrored)
        raise RouterError(
            self.provider,
            f"{what}: no rule routes to both {names.primary} and {names.canary}",
        )

    def check_programmed(self, canary: Canary, manifest: Manifest) -> None:
        """Every parent that reports on the route accepted its current generation."""
        what = f"HTTPRoute {canary.namespace}/{self.name(canary)}"
        generation = (manifest.get("metadata") or {}).get("generation") or 0
        parents = [_parent(ref) for ref in (manifest.get("spec") or {}).get("parentRefs") or []]
        for status in (manifest.get("status") or {}).get("parents") or []:
            if _parent(status.get("parentRef") or {}) not in parents:
                continue
            for condition in status.get("conditions") or []:
                if condition.get("type") != "Accepted":
                    continue
                observed = condition.get("observedGeneration") or 0
                if condition.get("status") != "True" or observed < generation:
                    name = (status.get("parentRef") or {}).get("name")
                    raise RouterError(
                        self.provider,
                        f"{what}: parent {name} is not ready (status {condition.get('status')}, "
                        f"observed generation {observed}, current generation {generation})",
                    )


def route_spec(canary: Canary, routes: Routes) -> Manifest:
    """The HTTPRoute spec for the Canary with the given weights (and mirror)."""
    service = canary.spec.service
    if not service.gateway_refs:
        raise InvalidCanaryError(
            "spec.service.gatewayRefs: expected at least one parent reference (a Gateway, or "
            "the apex Service for a GAMMA mesh such as Linkerd), found none"
        )
    analysis = canary.spec.effective_analysis
    names = ServiceNames.of(canary)
    base = http_matches.gateway_matches(service.match, field="spec.service.match")
    base = base or [dict(DEFAULT_MATCH)]
    filters = _filters(canary)
    mirror = [_mirror_filter(names.canary, service.port)] if routes.mirrored else []
    weighted = _rule(
        canary,
        base,
        filters + mirror,
        [
            _backend(names.primary, service.port, routes.primary),
            _backend(names.canary, service.port, routes.canary),
        ],
    )
    rules = [weighted]
    cookies = affinity.cookies(canary, routes)
    if cookies is not None:
        api = _CookieRules(names, service.port, base)
        rules = affinity.sticky_routes(cookies, weighted, api, names)
    if analysis is not None and analysis.match:
        ab = http_matches.gateway_matches(analysis.match, field="spec.analysis.match")
        weighted["matches"] = http_matches.merge_gateway(ab, base)
        rules.append(_rule(canary, base, filters, [_backend(names.primary, service.port, 100)]))
    spec: Manifest = {"parentRefs": [_parent(ref) for ref in service.gateway_refs], "rules": rules}
    if service.hosts:
        spec["hostnames"] = list(service.hosts)
    return spec


@dataclasses.dataclass(frozen=True)
class _CookieRules:
    """How an HTTPRoute spells the session-affinity rules (:class:`affinity.CookieRoutes`)."""

    names: ServiceNames
    port: int
    base: list[Manifest]
    """The route's own conditions, which every cookie rule keeps."""

    def on_cookie(self, route: Manifest, cookie: str) -> Manifest:
        header = {"type": "RegularExpression", "name": affinity.COOKIE_HEADER}
        match = {"headers": [{**header, "value": affinity.match_regex(cookie)}]}
        return {**route, "matches": http_matches.merge_gateway([match], self.base)}

    def pinned(self, route: Manifest, *, canary: int) -> Manifest:
        primary = _backend(self.names.primary, self.port, 100 - canary)
        return {**route, "backendRefs": [primary, _backend(self.names.canary, self.port, canary)]}

    def answering(self, route: Manifest, set_cookie: str) -> Manifest:
        answer = _add_header(affinity.SET_COOKIE_HEADER, set_cookie)
        return {**route, "filters": [*(route.get("filters") or []), answer]}

    def set_cookie(self, route: Manifest, backend: str, set_cookie: str) -> None:
        for ref in route["backendRefs"]:
            if ref["name"] == backend:
                ref["filters"] = [_add_header(affinity.SET_COOKIE_HEADER, set_cookie)]


def _add_header(name: str, value: str) -> Manifest:
    modifier = {"add": [{"name": name, "value": value}]}
    return {"type": "ResponseHeaderModifier", "responseHeaderModifier": modifier}


def _rule(
    canary: Canary, matches: list[Manifest], filters: list[Manifest], backends: list[Manifest]
) -> Manifest:
    rule: Manifest = {"matches": [dict(m) for m in matches]}
    if filters:
        rule["filters"] = [dict(f) for f in filters]
    rule["backendRefs"] = backends
    service = canary.spec.service
    timeouts = {"request": service.timeout, "backendRequest": service.backend_timeout}
    timeouts = {key: value for key, value in timeouts.items() if value}
    if timeouts:
        rule["timeouts"] = timeouts
    return rule


def _backend(name: str, port: int, weight: int) -> Manifest:
    return {"group": "", "kind": "Service", "name": name, "port": port, "weight": weight}


def _mirror_filter(name: str, port: int) -> Manifest:
    return {
        "type": _MIRROR,
        "requestMirror": {
            "backendRef": {"group": "", "kind": "Service", "name": name, "port": port}
        },
    }


def _mirrors_to(rule: Manifest, name: str) -> bool:
    for item in rule.get("filters") or []:
        ref = (item.get("requestMirror") or {}).get("backendRef") or {}
        if item.get("type") == _MIRROR and ref.get("name") == name:
            return True
    return False


def _parent(ref: Manifest) -> Manifest:
    """A parent reference with Gateway API's defaults written out, so that a server that
    defaults them does not make every comparison differ."""
    return {"group": GROUP, "kind": "Gateway", **ref}


def _filters(canary: Canary) -> list[Manifest]:
    service = canary.spec.service
    filters: list[Manifest] = []
    headers = service.headers or {}
    for side, kind in (
        ("request", "RequestHeaderModifier"),
        ("response", "ResponseHeaderModifier"),
    ):
        if headers.get(side):
            field = f"spec.service.headers.{side}"
            filters.append(
                {"type": kind, _lower_first(kind): _header_changes(headers[side], field)}
            )
    rewrite = service.rewrite
    if rewrite is not None and (rewrite.uri or rewrite.authority):
        change: Manifest = {}
        if rewrite.authority:
            change["hostname"] = rewrite.authority
        if rewrite.uri:
            kind = rewrite.type or "ReplaceFullPath"
            change["path"] = {"type": kind, _lower_first(kind): rewrite.uri}
        filters.append({"type": "URLRewrite", "urlRewrite": change})
    for mirror in service.mirror or []:
        filters.append({"type": _MIRROR, "requestMirror": dict(mirror)})
    return filters


def _header_changes(changes: Any, field: str) -> Manifest:
    """Istio's ``{set: {name: value}, add: {...}, remove: [names]}`` as a Gateway API modifier."""
    if not isinstance(changes, dict):
        raise InvalidCanaryError(
            f"{field}: expected a map with set, add or remove, found {changes!r}"
        )
    result: Manifest = {}
    for operation in ("set", "add"):
        values = changes.get(operation) or {}
        if not isinstance(values, dict):
            raise InvalidCanaryError(
                f"{field}.{operation}: expected a map of header name to value, found {values!r}"
            )
        if values:
            result[operation] = [{"name": k, "value": str(v)} for k, v in sorted(values.items())]
    remove = changes.get("remove") or []
    if not isinstance(remove, list):
        raise InvalidCanaryError(
            f"{field}.remove: expected a list of header names, found {remove!r}"
        )
    if remove:
        result["remove"] = [str(name) for name in remove]
    return result


def _lower_first(text: str) -> str:
    """``RequestHeaderModifier`` -> ``requestHeaderModifier``, Gateway API's field names."""
    return text[:1].lower() + text[1:]


def router(kube: Kube, services: Services, *, version: str, provider: str) -> MeshRouter:
    """The router of a Gateway API provider writing HTTPRoutes of ``version``."""
    blueprint = HTTPRouteBlueprint(version, provider=provider)
    return one_object(kube, services, blueprint, provider=provider, capabilities=capabilities)


capabilities = always(CAPABILITIES)
