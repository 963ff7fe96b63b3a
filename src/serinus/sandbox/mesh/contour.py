"""Contour's ``HTTPProxy`` (``projectcontour.io/v1``), read into routing rules for the sandbox.

In a cluster, Contour's Envoy serves an HTTPProxy at the virtual host of the root proxy that
includes it, and Flagger's contour router writes ``HTTPProxy <apex>``, which a root proxy
includes. The sandbox has no ingress address, so the mesh proxy serves the HTTPProxy where its
callers already go: at the address of the Service it is named after (``podinfo`` for ``HTTPProxy
podinfo``). Requests sent to ``http://podinfo:9898/`` thus pass through the proxy's routes as they
would pass through Envoy, and are counted in Envoy's cluster statistics
(:mod:`serinus.sandbox.mesh.envoy`), which Flagger's contour queries read.

Each route becomes one :class:`~serinus.sandbox.mesh.routes.Rule`: its conditions (one ``prefix``,
``header`` conditions with ``exact``, ``contains``, ``regex`` (the whole value, as Envoy matches
it) or ``present``) as one match, and its services
as weighted backends on their ports. ``requestHeadersPolicy`` is not applied: Flagger sets
Linkerd's ``l5d-dst-override`` there so that a meshed Envoy reaches the chosen Service, which the
sandbox's proxy does by itself. Weights follow Contour: a service without a weight gets 0 when
another has one, and all get an equal share when none has. Conditions the sandbox does not
evaluate (``notexact``, ``notcontains``, ``notpresent``, query parameters) make the parsing fail,
naming the field, and the proxy logs that and ignores the object, rather than routing requests it
should not.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from serinus.apis.base import Manifest
from serinus.sandbox.mesh.matching import Match, ValueMatch
from serinus.sandbox.mesh.objects import Key, as_list, as_map, key_of
from serinus.sandbox.mesh.routes import BackendRef, Rule

_HEADER_KINDS = ("exact", "contains", "regex", "present")


def proxy_service(proxy: Manifest) -> Key:
    """The Service whose address serves the HTTPProxy: the one named like it."""
    return key_of(proxy)


def proxy_rules(proxy: Manifest) -> list[Rule]:
    """The rules of an HTTPProxy's routes, in order.

    Raises:
        ValueError: naming the field, for what the sandbox cannot route by.
    """
    namespace, name = key_of(proxy)
    rules = []
    for index, raw in enumerate(as_list(as_map(proxy.get("spec")).get("routes"))):
        field = f"HTTPProxy {namespace}/{name}: spec.routes[{index}]"
        route = as_map(raw)
        services = [as_map(service) for service in as_list(route.get("services"))]
        rules.append(
            Rule(
                source=f"HTTPProxy {namespace}/{name} route {index}",
                matches=(_match(as_list(route.get("conditions")), field),),
                backends=tuple(_backends(services, namespace, field)),
                envoy_stats=True,
            )
        )
    return rules


def _match(conditions: list[Any], field: str) -> Match:
    prefix = "/"
    headers = []
    for number, raw in enumerate(map(as_map, conditions)):
        at = f"{field}.conditions[{number}]"
        unknown = sorted(set(raw) - {"prefix", "header"})
        if unknown:
            raise ValueError(f"{at}.{unknown[0]}: not routed by the sandbox")
        if "prefix" in raw:
            prefix = str(raw["prefix"] or "/")
        if "header" in raw:
            headers.append(_header(as_map(raw["header"]), f"{at}.header"))
    return Match(path_type="PathPrefix", path=prefix, headers=tuple(headers))


def _header(header: dict[str, Any], field: str) -> ValueMatch:
    name = header.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{field}.name: required, got {name!r}")
    kinds = [kind for kind in header if kind != "name"]
    if len(kinds) != 1 or kinds[0] not in _HEADER_KINDS:
        raise ValueError(
            f"{field}: expected one of {', '.join(_HEADER_KINDS)}, got {', '.join(kinds) or 'none'}"
        )
    kind, value = kinds[0], header[kinds[0]]
    if kind == "present":
        return ValueMatch(name.lower(), "", regex=True)
    if not isinstance(value, str):
        raise ValueError(f"{field}.{kind}: expected a string, got {value!r}")
    if kind == "contains":
        return ValueMatch(name.lower(), re.escape(value), regex=True)
    if kind == "regex":
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"{field}.regex: not a regular expression ({error})") from None
        return ValueMatch(name.lower(), rf"\A(?:{value})\Z", regex=True)
    return ValueMatch(name.lower(), value)


def _backends(services: list[dict[str, Any]], namespace: str, field: str) -> list[BackendRef]:
    weighted = any(service.get("weight") for service in services)
    found = []
    for number, service in enumerate(services):
        name, port = service.get("name"), service.get("port")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{field}.services[{number}].name: required, got {name!r}")
        if not isinstance(port, int):
            raise ValueError(f"{field}.services[{number}].port: expected an integer, got {port!r}")
        if service.get("mirror"):
            raise ValueError(f"{field}.services[{number}].mirror: not routed by the sandbox")
        weight = service.get("weight") or 0
        if not isinstance(weight, int) or weight < 0:
            raise ValueError(f"{field}.services[{number}].weight: expected a whole number")
        share = Fraction(weight) if weighted else Fraction(1)
        found.append(BackendRef(namespace, name, port, share))
    return found
