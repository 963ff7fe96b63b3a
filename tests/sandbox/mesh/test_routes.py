"""Reading TrafficSplits and HTTPRoutes into rules.

Covers: a TrafficSplit's apex (plain, ``name.namespace`` and FQDN forms; another namespace is not
ours) and its backends with quantity weights; HTTPRoute parents (only Services, with port and
sectionName), matches with their defaults, backendRef defaults (weight 1, the route's namespace),
non-Service backends kept as invalid, header filters, unsupported filters reported; malformed
fields refused with the object and field named.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from multidict import CIMultiDict

from serinus.sandbox.mesh.matching import Match, ValueMatch
from serinus.sandbox.mesh.routes import (
    BackendRef,
    HeaderChanges,
    Parent,
    route_parents,
    route_rules,
    split_apex,
    split_rule,
)
from tests.sandbox.mesh.manifests import ref, route, split


@pytest.mark.parametrize(
    ("service", "apex"),
    [
        ("podinfo", ("prod", "podinfo")),
        ("podinfo.prod", ("prod", "podinfo")),
        ("podinfo.prod.svc.cluster.local", ("prod", "podinfo")),
        ("podinfo.test.svc.cluster.local", None),
    ],
)
def test_a_traffic_splits_apex_is_a_service_of_its_namespace(
    service: str, apex: tuple[str, str] | None
) -> None:
    assert split_apex(split(service, {}, name="podinfo")) == apex


def test_a_traffic_split_is_one_catch_all_rule_over_weighted_backends() -> None:
    rule = split_rule(split("podinfo", {"podinfo-canary": "100m", "podinfo-primary": 0.9}))

    assert rule.matches == (Match(),)
    assert rule.backends == (
        BackendRef("prod", "podinfo-canary", None, Fraction(1, 10)),
        BackendRef("prod", "podinfo-primary", None, Fraction(9, 10)),
    )
    assert rule.source == "TrafficSplit prod/podinfo"


def test_a_bad_split_weight_is_refused_naming_object_and_field() -> None:
    with pytest.raises(ValueError, match=r"TrafficSplit prod/podinfo: spec\.backends\[1\]\.weight"):
        split_rule(split("podinfo", {"podinfo-canary": "10", "podinfo-primary": "lots"}))


def test_only_service_parents_attach_with_their_port_or_section() -> None:
    manifest = route("podinfo", [])
    manifest["spec"]["parentRefs"] = [
        {"group": "core", "kind": "Service", "name": "podinfo", "port": 9898},
        {
            "group": "",
            "kind": "Service",
            "name": "other",
            "namespace": "test",
            "sectionName": "http",
        },
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public"},
    ]

    parents = route_parents(manifest)

    assert parents == [
        Parent(("prod", "podinfo"), port=9898),
        Parent(("test", "other"), section="http"),
    ]
    assert parents[0].covers(9898, "grpc")
    assert not parents[0].covers(9999, "http")
    assert parents[1].covers(80, "http")
    assert not parents[1].covers(80, "grpc")


def test_httproute_rules_keep_matches_weights_and_header_filters() -> None:
    manifest = route(
        "podinfo",
        [
            {
                "matches": [
                    {"headers": [{"name": "X-Canary", "value": "insider"}], "method": "get"}
                ],
                "backendRefs": [ref("podinfo-canary", 100), {"name": "podinfo-primary"}],
                "filters": [
                    {
                        "type": "RequestHeaderModifier",
                        "requestHeaderModifier": {"add": [{"name": "X-A", "value": "1"}]},
                    },
                    {"type": "RequestMirror", "requestMirror": {}},
                ],
            },
            {"backendRefs": [ref("podinfo-primary", 1, group="example.com", kind="Bucket")]},
        ],
    )

    first, second = route_rules(manifest)

    assert first.matches == (Match(method="GET", headers=(ValueMatch("x-canary", "insider"),)),)
    assert first.backends == (
        BackendRef("prod", "podinfo-canary", 9898, Fraction(100)),
        BackendRef("prod", "podinfo-primary", None, Fraction(1)),
    )
    assert first.request_headers == HeaderChanges(add=(("X-A", "1"),))
    assert first.unsupported_filters == ("RequestMirror",)
    assert second.matches == (Match(),)
    assert second.backends[0].kind == "example.com/Bucket"


def test_header_changes_set_add_and_remove() -> None:
    headers = CIMultiDict({"X-Env": "prod", "X-Secret": "s", "X-List": "a"})

    HeaderChanges(set=(("x-env", "canary"),), add=(("X-List", "b"),), remove=("x-secret",)).apply(
        headers
    )

    assert headers.getall("x-env") == ["canary"]
    assert headers.getall("x-list") == ["a", "b"]
    assert "x-secret" not in headers


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"backendRefs": [{"name": "x", "weight": -1}]}, r"backendRefs\[0\]\.weight"),
        ({"backendRefs": [{"weight": 1}]}, r"backendRefs\[0\]\.name"),
        ({"matches": [{"path": {"type": "Glob", "value": "/"}}]}, r"matches\[0\]\.path\.type"),
        ({"matches": [{"headers": [{"name": "x"}]}]}, r"matches\[0\]\.headers\[0\]"),
        (
            {
                "matches": [
                    {"queryParams": [{"type": "RegularExpression", "name": "q", "value": "("}]}
                ]
            },
            r"matches\[0\]\.queryParams\[0\]\.value",
        ),
    ],
)
def test_malformed_httproute_fields_are_refused_by_name(
    rule: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=rf"HTTPRoute prod/podinfo: spec\.rules\[0\]\.{field}"):
        route_rules(route("podinfo", [rule]))
