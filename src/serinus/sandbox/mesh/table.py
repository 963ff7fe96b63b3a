"""The routing table: for a request arriving at ``clusterIP:port``, which pod it goes to.

:func:`build` turns a :class:`~serinus.sandbox.mesh.state.ClusterState` into an immutable
:class:`RoutingTable`. Every Service with a loopback cluster IP gets one :class:`Listener` per TCP
port. A listener sends requests straight to its Service's ready endpoints, unless traffic objects
steer it: HTTPRoutes attached to the Service port win (as in Linkerd 2.14+, where an HTTPRoute
overrides other policy); else the routes of the HTTPProxy named after the Service (Contour's,
see :mod:`serinus.sandbox.mesh.contour`); else the oldest TrafficSplit whose apex is the Service.
A split sends each request to one backend Service by smooth weighted round-robin, then to one of
that Service's endpoints by round-robin. Backends are resolved one level deep: a backend that is
itself an apex is reached directly, as Linkerd does.

Because a table never changes once built, swapping in a new one cannot disturb a request: the
request decided on the old table finishes on the backend it picked, the next one uses the new table.
Balancers live in a :class:`~serinus.sandbox.mesh.balancer.BalancerCache` outside the table, so a
rebuild keeps a split's position unless its backends or weights changed.

Requests the table cannot route get an answer from the proxy itself, with the status Gateway API
prescribes: 404 when routes are attached but none matches, 500 when the picked backend is invalid
(missing Service or port, non-Service kind) or no backend has weight, 503 when the Service has
no ready endpoint.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable, Iterator

from serinus.apis.base import Manifest
from serinus.sandbox.mesh import contour
from serinus.sandbox.mesh.balancer import BalancerCache, SmoothWeighted
from serinus.sandbox.mesh.matching import Match, RequestView
from serinus.sandbox.mesh.objects import Key, as_list, as_map, dig, integer_weights, key_of
from serinus.sandbox.mesh.routes import (
    Parent,
    Rule,
    route_parents,
    route_rules,
    split_apex,
    split_rule,
)
from serinus.sandbox.mesh.state import ClusterState
from serinus.sandbox.mesh.workloads import Endpoint, Workloads

Address = tuple[str, int]
Order = tuple[str, str, int]
"""Tie-break among equally specific matches: route age, route namespace/name, rule index."""


@dataclasses.dataclass(frozen=True)
class ServicePort:
    """A Service port and its ready endpoints, picked round-robin."""

    service: Key
    port: int
    endpoints: tuple[Endpoint, ...]
    balancer: SmoothWeighted | None

    def pick(self) -> Endpoint | None:
        if self.balancer is None:
            return None
        return self.endpoints[self.balancer.pick()]

    def __str__(self) -> str:
        return f"{self.service[0]}/{self.service[1]}:{self.port}"


@dataclasses.dataclass(frozen=True)
class Route:
    """A rule with its backends resolved; ``targets[i]`` is None for an invalid backendRef."""

    rule: Rule
    targets: tuple[ServicePort | None, ...]
    balancer: SmoothWeighted | None


@dataclasses.dataclass(frozen=True)
class Listener:
    """What arrives at one Service's ``clusterIP:port``; ``routes`` empty means direct."""

    address: Address
    service: Key
    port_name: str
    direct: ServicePort
    routes: tuple[tuple[Match, Route], ...] = ()


@dataclasses.dataclass(frozen=True)
class Decision:
    """Where one request goes: ``target`` to forward to, or the ``status`` the proxy answers."""

    target: ServicePort | None
    rule: Rule | None = None
    status: int = 0
    reason: str = ""


class RoutingTable:
    """Listeners by address, built at one :attr:`ClusterState.version`."""

    def __init__(self, listeners: dict[Address, Listener], version: int) -> None:
        self.listeners = listeners
        self.version = version

    def decide(self, address: Address, request: RequestView) -> Decision:
        """Where a request that arrived at ``address`` goes (picks advance the balancers)."""
        listener = self.listeners.get(address)
        if listener is None:
            return Decision(
                None, status=503, reason=f"no Service listens on {address[0]}:{address[1]}"
            )
        if not listener.routes:
            return _ready(Decision(listener.direct))
        for match, route in listener.routes:
            if match.test(request):
                if route.balancer is None:
                    return Decision(
                        None, route.rule, 500, f"{route.rule.source}: no backend has weight"
                    )
                target = route.targets[route.balancer.pick()]
                if target is None:
                    return Decision(
                        None, route.rule, 500, f"{route.rule.source}: invalid backendRef"
                    )
                return _ready(Decision(target, route.rule))
        return Decision(None, status=404, reason="no HTTPRoute rule matches the request")


def _ready(decision: Decision) -> Decision:
    if decision.target is not None and not decision.target.endpoints:
        return dataclasses.replace(
            decision, status=503, reason=f"no ready endpoints for {decision.target}"
        )
    return decision


def build(state: ClusterState, cache: BalancerCache, warn: Callable[[str], None]) -> RoutingTable:
    """A routing table for ``state``; ``warn`` receives each problem found (objects skipped)."""
    builder = _Builder(state, cache, warn)
    listeners = {listener.address: listener for listener in builder.listeners()}
    cache.sweep()
    return RoutingTable(listeners, state.version)


class _Builder:
    def __init__(self, state: ClusterState, cache: BalancerCache, warn: Callable[[str], None]):
        self.state = state
        self.cache = cache
        self.warn = warn
        self.workloads = Workloads(state.objects("Pod"), state.objects("ReplicaSet"))
        self.ports: dict[tuple[Key, int], ServicePort | None] = {}

    def listeners(self) -> Iterator[Listener]:
        attached = self._attached_routes()
        proxies = self._proxies()
        splits = self._splits()
        for key, service in sorted(self.state.objects("Service").items()):
            ip = _listen_ip(service, self.warn)
            if ip is None:
                continue
            for spec in map(as_map, as_list(dig(service, "spec", "ports"))):
                port, name = spec.get("port"), str(spec.get("name") or "")
                if not isinstance(port, int) or (spec.get("protocol") or "TCP") != "TCP":
                    continue
                direct = self.service_port(key, port)
                if direct is None:  # cannot happen: the Service has this port
                    continue
                candidates = [
                    (order, rule)
                    for parent, order, rule in attached.get(key, [])
                    if parent.covers(port, name)
                ]
                if not candidates and key in proxies:
                    candidates = [
                        (("", "", index), rule) for index, rule in enumerate(proxies[key])
                    ]
                if not candidates and key in splits:
                    candidates = [(("", "", 0), splits[key])]
                routes = self._routes((ip, port), candidates)
                yield Listener((ip, port), key, name, direct, routes)

    def service_port(self, key: Key, port: int) -> ServicePort | None:
        """The ServicePort of Service ``key`` numbered ``port`` (None: no such Service or port)."""
        if (key, port) not in self.ports:
            self.ports[(key, port)] = self._service_port(key, port)
        return self.ports[(key, port)]

    def _service_port(self, key: Key, port: int) -> ServicePort | None:
        service = self.state.objects("Service").get(key)
        specs = [as_map(p) for p in as_list(dig(service or {}, "spec", "ports"))]
        spec = next((p for p in specs if p.get("port") == port), None)
        if spec is None:
            return None
        endpoints = self.workloads.endpoints(
            self.state.objects("Endpoints").get(key), str(spec.get("name") or "")
        )
        balancer = None
        if endpoints:
            addresses = tuple(endpoint.address for endpoint in endpoints)
            balancer = self.cache.get(("endpoints", key, port, addresses), [1] * len(endpoints))
        return ServicePort(key, port, endpoints, balancer)

    def _routes(
        self, address: Address, candidates: list[tuple[Order, Rule]]
    ) -> tuple[tuple[Match, Route], ...]:
        ranked = []
        for order, rule in candidates:
            route = self._route(address, rule)
            for index, match in enumerate(rule.matches):
                rank = tuple(-value for value in match.specificity())
                ranked.append(((rank, order, index), match, route))
        ranked.sort(key=lambda item: item[0])
        return tuple((match, route) for _, match, route in ranked)

    def _route(self, address: Address, rule: Rule) -> Route:
        if rule.unsupported_filters:
            self.warn(f"{rule.source}: filters {', '.join(rule.unsupported_filters)} not applied")
        weighted = [ref for ref in rule.backends if ref.weight > 0]
        targets = tuple(
            self.service_port((ref.namespace, ref.name), ref.port or address[1])
            if ref.kind == "Service"
            else None
            for ref in weighted
        )
        balancer = None
        if weighted:
            names = tuple(f"{ref.kind}:{ref.namespace}/{ref.name}:{ref.port}" for ref in weighted)
            weights = integer_weights([ref.weight for ref in weighted])
            balancer = self.cache.get(("route", rule.source, address, names), weights)
        return Route(rule, targets, balancer)

    def _attached_routes(self) -> dict[Key, list[tuple[Parent, Order, Rule]]]:
        attached: dict[Key, list[tuple[Parent, Order, Rule]]] = {}
        for key, route in self.state.objects("HTTPRoute").items():
            try:
                parents, rules = route_parents(route), route_rules(route)
            except ValueError as error:
                self.warn(f"{error}; HTTPRoute ignored")
                continue
            created = str(dig(route, "metadata", "creationTimestamp") or "")
            for parent in parents:
                for index, rule in enumerate(rules):
                    order = (created, f"{key[0]}/{key[1]}", index)
                    attached.setdefault(parent.service, []).append((parent, order, rule))
        return attached

    def _proxies(self) -> dict[Key, list[Rule]]:
        found: dict[Key, list[Rule]] = {}
        for proxy in self.state.objects("HTTPProxy").values():
            try:
                found[contour.proxy_service(proxy)] = contour.proxy_rules(proxy)
            except ValueError as error:
                self.warn(f"{error}; HTTPProxy ignored")
        return found

    def _splits(self) -> dict[Key, Rule]:
        found: dict[Key, list[tuple[tuple[str, str], Rule]]] = {}
        for key, split in self.state.objects("TrafficSplit").items():
            try:
                apex, rule = split_apex(split), split_rule(split)
            except ValueError as error:
                self.warn(f"{error}; TrafficSplit ignored")
                continue
            if apex is not None:
                order = (str(dig(split, "metadata", "creationTimestamp") or ""), key[1])
                found.setdefault(apex, []).append((order, rule))
        chosen = {}
        for apex, splits in found.items():
            splits.sort(key=lambda item: item[0])
            if len(splits) > 1:
                self.warn(
                    f"several TrafficSplits steer {apex[0]}/{apex[1]}: only the oldest,"
                    f" {splits[0][1].source}, applies"
                )
            chosen[apex] = splits[0][1]
        return chosen


def _listen_ip(service: Manifest, warn: Callable[[str], None]) -> str | None:
    ip = dig(service, "spec", "clusterIP")
    if not isinstance(ip, str) or not ip or ip == "None":
        return None
    try:
        loopback = ipaddress.ip_address(ip).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        namespace, name = key_of(service)
        warn(f"Service {namespace}/{name} has clusterIP {ip}, not a loopback address: not served")
        return None
    return ip
