"""The traffic objects the serinus routers write, read into routing rules.

Two kinds steer traffic sent to an apex Service across backend Services:

* SMI ``TrafficSplit`` (``split.smi-spec.io`` v1alpha1/2/3, Flagger's ``linkerd`` and ``smi:*``
  providers): ``spec.service`` names the apex, ``spec.backends[]`` the Services and their relative
  weights (quantities: ``"10"``, ``"900m"`` or numbers). It becomes one catch-all rule. v1alpha3's
  ``matches`` are ignored, as Linkerd's SMI adaptor ignores them.
* Gateway API ``HTTPRoute`` (``gateway.networking.k8s.io`` v1/v1beta1, Flagger's ``gatewayapi:*``
  providers on Linkerd): attached to a Service through ``parentRefs`` of kind Service (GAMMA),
  optionally to one port (``port`` or ``sectionName``); each rule has matches (see
  :mod:`serinus.sandbox.mesh.matching`), weighted ``backendRefs`` and header-modifier filters.

Both are parsed into the same :class:`Rule`. Parsing raises :class:`ValueError` naming the object
and field when a field is malformed; the routing table logs that once and ignores the object.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any

from multidict import CIMultiDict

from serinus.apis.base import Manifest
from serinus.sandbox.mesh.matching import Match, ValueMatch, check_regex
from serinus.sandbox.mesh.objects import Key, as_list, as_map, key_of, parse_quantity

_SERVICE_GROUPS = ("", "core")
_HEADER_FILTERS = ("RequestHeaderModifier", "ResponseHeaderModifier")


@dataclasses.dataclass(frozen=True)
class BackendRef:
    """A weighted destination of a rule; ``kind`` other than Service is invalid (500)."""

    namespace: str
    name: str
    port: int | None
    weight: Fraction
    kind: str = "Service"


@dataclasses.dataclass(frozen=True)
class HeaderChanges:
    """A Gateway API header modifier: set (replace), add (append), remove."""

    set: tuple[tuple[str, str], ...] = ()
    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[str, ...] = ()

    def apply(self, headers: CIMultiDict[str]) -> None:
        for name, value in self.set:
            headers[name] = value
        for name, value in self.add:
            headers.add(name, value)
        for name in self.remove:
            headers.popall(name, None)


@dataclasses.dataclass(frozen=True)
class Rule:
    """Where matching requests go; ``source`` names the object and rule for logs."""

    source: str
    matches: tuple[Match, ...]
    backends: tuple[BackendRef, ...]
    request_headers: HeaderChanges = HeaderChanges()
    response_headers: HeaderChanges = HeaderChanges()
    unsupported_filters: tuple[str, ...] = ()
    envoy_stats: bool = False
    """Count the requests it routes in Envoy's cluster statistics (an ingress's rule)."""


@dataclasses.dataclass(frozen=True)
class Parent:
    """A Service an HTTPRoute attaches to; ``port``/``section`` narrow it to one Service port."""

    service: Key
    port: int | None = None
    section: str | None = None

    def covers(self, port: int, port_name: str) -> bool:
        if self.port is not None and self.port != port:
            return False
        return self.section is None or self.section == port_name


def split_apex(split: Manifest) -> Key | None:
    """The apex Service a TrafficSplit steers, or None when it names another namespace."""
    namespace, name = key_of(split)
    service = as_map(split.get("spec")).get("service")
    if not isinstance(service, str) or not service:
        raise ValueError(
            f"TrafficSplit {namespace}/{name}: spec.service: required, got {service!r}"
        )
    parts = service.split(".")
    if len(parts) > 1 and parts[1] != namespace:
        return None
    return (namespace, parts[0])


def split_rule(split: Manifest) -> Rule:
    """The one catch-all rule of a TrafficSplit."""
    namespace, name = key_of(split)
    where = f"TrafficSplit {namespace}/{name}"
    backends = []
    for index, backend in enumerate(as_list(as_map(split.get("spec")).get("backends"))):
        service = as_map(backend).get("service")
        field = f"{where}: spec.backends[{index}]"
        if not isinstance(service, str) or not service:
            raise ValueError(f"{field}.service: required, got {service!r}")
        weight = parse_quantity(as_map(backend).get("weight"), field=f"{field}.weight")
        backends.append(BackendRef(namespace, service, None, weight))
    return Rule(source=where, matches=(Match(),), backends=tuple(backends))


def route_parents(route: Manifest) -> list[Parent]:
    """The Services an HTTPRoute attaches to (parentRefs of other kinds are not the mesh's)."""
    namespace, _ = key_of(route)
    parents = []
    for ref in map(as_map, as_list(as_map(route.get("spec")).get("parentRefs"))):
        if ref.get("kind") != "Service" or (ref.get("group") or "") not in _SERVICE_GROUPS:
            continue
        port = ref.get("port")
        section = ref.get("sectionName")
        parents.append(
            Parent(
                service=(str(ref.get("namespace") or namespace), str(ref.get("name") or "")),
                port=port if isinstance(port, int) else None,
                section=section if isinstance(section, str) and section else None,
            )
        )
    return parents


def route_rules(route: Manifest) -> list[Rule]:
    """The rules of an HTTPRoute, in order."""
    namespace, name = key_of(route)
    rules = []
    for index, raw in enumerate(as_list(as_map(route.get("spec")).get("rules"))):
        field = f"HTTPRoute {namespace}/{name}: spec.rules[{index}]"
        rule = as_map(raw)
        matches = tuple(
            _match(as_map(match), f"{field}.matches[{number}]")
            for number, match in enumerate(as_list(rule.get("matches")))
        )
        filters = [as_map(item) for item in as_list(rule.get("filters"))]
        rules.append(
            Rule(
                source=f"HTTPRoute {namespace}/{name} rule {index}",
                matches=matches or (Match(),),
                backends=tuple(
                    _backend_ref(as_map(ref), namespace, f"{field}.backendRefs[{number}]")
                    for number, ref in enumerate(as_list(rule.get("backendRefs")))
                ),
                request_headers=_header_changes(filters, "RequestHeaderModifier"),
                response_headers=_header_changes(filters, "ResponseHeaderModifier"),
                unsupported_filters=tuple(
                    str(item.get("type"))
                    for item in filters
                    if item.get("type") not in _HEADER_FILTERS
                ),
            )
        )
    return rules


def _backend_ref(ref: dict[str, Any], namespace: str, field: str) -> BackendRef:
    name = ref.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{field}.name: required, got {name!r}")
    port = ref.get("port")
    if port is not None and not isinstance(port, int):
        raise ValueError(f"{field}.port: expected an integer, got {port!r}")
    weight = ref.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
        raise ValueError(f"{field}.weight: expected a non-negative integer, got {weight!r}")
    group = str(ref.get("group") or "")
    kind = str(ref.get("kind") or "Service")
    return BackendRef(
        namespace=str(ref.get("namespace") or namespace),
        name=name,
        port=port,
        weight=Fraction(weight),
        kind=kind if group in _SERVICE_GROUPS else f"{group}/{kind}",
    )


def _match(raw: dict[str, Any], field: str) -> Match:
    path = as_map(raw.get("path"))
    path_type = str(path.get("type") or "PathPrefix")
    value = str(path.get("value") or "/")
    if path_type not in ("Exact", "PathPrefix", "RegularExpression"):
        raise ValueError(f"{field}.path.type: expected Exact, PathPrefix or RegularExpression")
    if path_type == "RegularExpression":
        check_regex(value, field=f"{field}.path.value")
    method = raw.get("method")
    return Match(
        path_type=path_type,  # type: ignore[arg-type]
        path=value,
        method=str(method).upper() if method else None,
        headers=_value_matches(raw.get("headers"), f"{field}.headers", lower=True),
        query=_value_matches(raw.get("queryParams"), f"{field}.queryParams", lower=False),
    )


def _value_matches(raw: Any, field: str, *, lower: bool) -> tuple[ValueMatch, ...]:
    found = []
    for index, item in enumerate(map(as_map, as_list(raw))):
        name, value = item.get("name"), item.get("value")
        kind = str(item.get("type") or "Exact")
        if not isinstance(name, str) or not name or not isinstance(value, str):
            raise ValueError(f"{field}[{index}]: name and value are required strings")
        if kind not in ("Exact", "RegularExpression"):
            raise ValueError(f"{field}[{index}].type: expected Exact or RegularExpression")
        regex = kind == "RegularExpression"
        if regex:
            check_regex(value, field=f"{field}[{index}].value")
        found.append(ValueMatch(name.lower() if lower else name, value, regex))
    return tuple(found)


def _header_changes(filters: list[dict[str, Any]], kind: str) -> HeaderChanges:
    key = kind[0].lower() + kind[1:]
    changes = [as_map(item.get(key)) for item in filters if item.get("type") == kind]
    return HeaderChanges(
        set=tuple(pair for change in changes for pair in _pairs(change.get("set"))),
        add=tuple(pair for change in changes for pair in _pairs(change.get("add"))),
        remove=tuple(str(name) for change in changes for name in as_list(change.get("remove"))),
    )


def _pairs(raw: Any) -> list[tuple[str, str]]:
    return [
        (str(item.get("name")), str(item.get("value") or ""))
        for item in map(as_map, as_list(raw))
        if item.get("name")
    ]
