"""Building the routing table from cluster state, and the decisions it makes.

Covers: a Service's clusterIP:port goes to its ready endpoints round-robin; Services without a
loopback clusterIP are not served (a warning names them); an HTTPRoute attached to the port
outranks a TrafficSplit, one attached to another port does not; the oldest of several
TrafficSplits applies, with a warning; a malformed traffic object is ignored with a warning
naming its field; the proxy's own answers: 404 (no rule matches), 500 (no weight, missing
Service, non-Service backend), 503 (no ready endpoint); a split keeps its exact proportion across
rebuilds caused by unrelated changes; a backend that is itself an apex is reached directly.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Mapping

from multidict import CIMultiDict, MultiDict

from serinus.sandbox.mesh.balancer import BalancerCache
from serinus.sandbox.mesh.state import ClusterState
from serinus.sandbox.mesh.table import Decision, RoutingTable, build
from tests.sandbox.mesh import manifests as m

APEX, PRIMARY, CANARY = "127.96.0.10", "127.96.0.11", "127.96.0.12"


@dataclasses.dataclass
class Request:
    path: str = "/"
    method: str = "GET"
    headers: Mapping[str, str] = dataclasses.field(default_factory=CIMultiDict)
    query: Mapping[str, str] = dataclasses.field(default_factory=MultiDict)


def podinfo_state() -> ClusterState:
    state = ClusterState()
    for manifest in (
        m.service("podinfo", APEX),
        m.service("podinfo-primary", PRIMARY),
        m.service("podinfo-canary", CANARY),
        m.endpoints("podinfo", [("127.244.0.1", "primary-1")]),
        m.endpoints("podinfo-primary", [("127.244.0.1", "primary-1")]),
        m.endpoints("podinfo-canary", [("127.244.0.2", "canary-1")]),
    ):
        state.apply(manifest)
    return state


def table_of(state: ClusterState, warnings: list[str] | None = None) -> RoutingTable:
    return build(state, BalancerCache(), (warnings if warnings is not None else []).append)


def decide(table: RoutingTable, ip: str = APEX, **request: object) -> Decision:
    return table.decide((ip, 9898), Request(**request))  # type: ignore[arg-type]


def target_name(decision: Decision) -> str:
    assert decision.target is not None, decision.reason
    return decision.target.service[1]


def test_a_service_port_goes_to_its_ready_endpoints_round_robin() -> None:
    state = ClusterState()
    state.apply(m.service("web", "127.96.1.1"))
    state.apply(
        m.endpoints("web", [("127.244.1.1", "a"), ("127.244.1.2", "b")], not_ready=("127.244.1.3",))
    )
    table = table_of(state)

    picks = [table.decide(("127.96.1.1", 9898), Request()).target.pick() for _ in range(4)]  # type: ignore[union-attr]

    assert [endpoint.ip for endpoint in picks] == ["127.244.1.1", "127.244.1.2"] * 2  # type: ignore[union-attr]


def test_services_without_a_loopback_cluster_ip_are_not_served() -> None:
    state = ClusterState()
    state.apply(m.service("remote", "10.96.0.20"))
    state.apply(m.service("headless", "None"))
    state.apply(m.service("served", "127.96.0.20"))
    warnings: list[str] = []

    table = table_of(state, warnings)

    assert set(table.listeners) == {("127.96.0.20", 9898)}
    assert warnings == [
        "Service prod/remote has clusterIP 10.96.0.20, not a loopback address: not served"
    ]


def test_an_httproute_on_the_port_outranks_a_traffic_split() -> None:
    state = podinfo_state()
    state.apply(m.split("podinfo", {"podinfo-primary": "100", "podinfo-canary": "0"}))
    state.apply(m.route("podinfo", [{"backendRefs": [m.ref("podinfo-canary", 1)]}]))

    assert target_name(decide(table_of(state))) == "podinfo-canary"


def test_an_httproute_attached_to_another_port_leaves_the_split_in_force() -> None:
    state = podinfo_state()
    state.apply(m.split("podinfo", {"podinfo-primary": "100", "podinfo-canary": "0"}))
    parent = {"group": "core", "kind": "Service", "name": "podinfo", "port": 9999}
    state.apply(m.route("podinfo", [{"backendRefs": [m.ref("podinfo-canary", 1)]}], parent=parent))

    assert target_name(decide(table_of(state))) == "podinfo-primary"


def test_the_oldest_of_several_traffic_splits_applies() -> None:
    state = podinfo_state()
    state.apply(
        m.split("podinfo", {"podinfo-canary": "1"}, name="newer", created="2026-01-02T00:00:00Z")
    )
    state.apply(
        m.split("podinfo", {"podinfo-primary": "1"}, name="older", created="2026-01-01T00:00:00Z")
    )
    warnings: list[str] = []

    assert target_name(decide(table_of(state, warnings))) == "podinfo-primary"
    assert warnings == [
        "several TrafficSplits steer prod/podinfo: only the oldest,"
        " TrafficSplit prod/older, applies"
    ]


def test_a_malformed_traffic_split_is_ignored_with_a_warning() -> None:
    state = podinfo_state()
    state.apply(m.split("podinfo", {"podinfo-canary": "a lot", "podinfo-primary": "1"}))
    warnings: list[str] = []

    decision = decide(table_of(state, warnings))

    assert target_name(decision) == "podinfo"
    assert len(warnings) == 1
    assert "spec.backends[0].weight" in warnings[0]
    assert warnings[0].endswith("; TrafficSplit ignored")


def test_a_request_no_rule_matches_gets_404() -> None:
    state = podinfo_state()
    rule = {
        "matches": [{"headers": [{"name": "x-canary", "value": "insider"}]}],
        "backendRefs": [m.ref("podinfo-canary", 1)],
    }
    state.apply(m.route("podinfo", [rule]))
    table = table_of(state)

    assert target_name(decide(table, headers=CIMultiDict({"X-Canary": "insider"}))) == (
        "podinfo-canary"
    )
    assert decide(table).status == 404


def test_unroutable_backends_get_500_and_empty_services_503() -> None:
    state = podinfo_state()
    state.apply(m.endpoints("podinfo-canary", []))
    cases = {
        "/zero": [m.ref("podinfo-primary", 0)],
        "/missing": [m.ref("nothing", 1)],
        "/bucket": [m.ref("podinfo-primary", 1, group="example.com", kind="Bucket")],
        "/empty": [m.ref("podinfo-canary", 1)],
    }
    rules = [
        {"matches": [{"path": {"type": "Exact", "value": path}}], "backendRefs": refs}
        for path, refs in cases.items()
    ]
    state.apply(m.route("podinfo", rules))
    table = table_of(state)

    answers = {
        path: (decide(table, path=path).status, decide(table, path=path).reason) for path in cases
    }

    assert answers == {
        "/zero": (500, "HTTPRoute prod/podinfo rule 0: no backend has weight"),
        "/missing": (500, "HTTPRoute prod/podinfo rule 1: invalid backendRef"),
        "/bucket": (500, "HTTPRoute prod/podinfo rule 2: invalid backendRef"),
        "/empty": (503, "no ready endpoints for prod/podinfo-canary:9898"),
    }


def test_a_split_keeps_its_exact_proportion_across_unrelated_rebuilds() -> None:
    state = podinfo_state()
    state.apply(m.split("podinfo", {"podinfo-canary": "10", "podinfo-primary": "90"}))
    cache = BalancerCache()
    picks: collections.Counter[str] = collections.Counter()

    for round_number in range(25):
        state.apply(m.service(f"unrelated-{round_number}", f"127.96.9.{round_number + 1}"))
        table = build(state, cache, lambda message: None)
        picks.update(target_name(decide(table)) for _ in range(4))

    assert picks == {"podinfo-primary": 90, "podinfo-canary": 10}


def test_a_backend_that_is_itself_an_apex_is_reached_directly() -> None:
    state = podinfo_state()
    state.apply(m.split("podinfo", {"podinfo-canary": "1"}))
    state.apply(m.split("podinfo-canary", {"podinfo-primary": "1"}, name="loop"))
    table = table_of(state)

    decision = decide(table)

    assert target_name(decision) == "podinfo-canary"
    assert decision.target.pick().ip == "127.244.0.2"  # type: ignore[union-attr]
