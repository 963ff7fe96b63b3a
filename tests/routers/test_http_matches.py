"""Istio-style match conditions translated for Gateway API (pure functions).

Covers: exact and regex header/query conditions kept, prefix and suffix turned into escaped
regular expressions that match what the prefix/suffix would; uri exact/prefix/regex as path
types; an exact method; names sorted; empty matches dropped; every unsupported condition is an
InvalidCanaryError naming the field; merging A/B conditions with the route's for Gateway API
(every pair) and Istio (the route's uri copied in).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from serinus.errors import InvalidCanaryError
from serinus.routers.http_matches import as_regex, gateway_matches, merge_gateway, merge_istio


def test_conditions_become_gateway_matches() -> None:
    matches = [
        {
            "uri": {"regex": "^/v[12]/"},
            "method": {"exact": "POST"},
            "headers": {"x-b": {"suffix": ".example"}, "x-a": {"exact": "1"}},
            "queryParams": {"beta": {"regex": "^(1|yes)$"}},
        },
        {},
    ]
    assert gateway_matches(matches, field="spec.analysis.match") == [
        {
            "path": {"type": "RegularExpression", "value": "^/v[12]/"},
            "method": "POST",
            "headers": [
                {"name": "x-a", "type": "Exact", "value": "1"},
                {"name": "x-b", "type": "RegularExpression", "value": r".*\.example$"},
            ],
            "queryParams": [{"name": "beta", "type": "RegularExpression", "value": "^(1|yes)$"}],
        }
    ]


@pytest.mark.parametrize(("kind", "path_type"), [("exact", "Exact"), ("prefix", "PathPrefix")])
def test_uri_conditions_become_path_types(kind: str, path_type: str) -> None:
    assert gateway_matches([{"uri": {kind: "/api"}}], field="m") == [
        {"path": {"type": path_type, "value": "/api"}}
    ]


@pytest.mark.parametrize(
    ("kind", "text", "matching", "other"),
    [
        ("prefix", "Mozilla/5.0 (X", "Mozilla/5.0 (X11; Linux)", "Mozilla/5.0 (Windows)"),
        ("suffix", "+beta", "app/2.0+beta", "app/2.0+betas"),
        ("exact", "a.b", "a.b", "axb"),
    ],
)
def test_prefix_suffix_and_exact_as_regex(kind: str, text: str, matching: str, other: str) -> None:
    pattern = as_regex(kind, text)
    assert re.search(pattern, matching)
    assert not re.search(pattern, other)


@pytest.mark.parametrize(
    ("match", "message"),
    [
        (
            {"sourceLabels": {"app": "web"}},
            "m[0].sourceLabels: Gateway API matches on uri, headers, queryParams, method only, "
            "found sourceLabels",
        ),
        (
            {"uri": {"suffix": ".js"}},
            "m[0].uri: Gateway API matches a path exactly, by prefix or by regex, found suffix",
        ),
        ({"method": {"prefix": "P"}}, "m[0].method: expected an exact method, found prefix"),
        (
            {"headers": {"x": {"exact": "1", "regex": "2"}}},
            "m[0].headers.x: expected one of exact, prefix, suffix or regex with a text, found "
            "{'exact': '1', 'regex': '2'}",
        ),
        (
            {"headers": {"x": {"contains": "1"}}},
            "m[0].headers.x: expected one of exact, prefix, suffix or regex with a text, found "
            "{'contains': '1'}",
        ),
        ({"headers": ["x"]}, "m[0].headers: expected a map of name to match, found ['x']"),
    ],
)
def test_unsupported_conditions_name_the_field(match: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidCanaryError) as raised:
        gateway_matches([match], field="m")
    assert str(raised.value) == message


def test_gateway_merge_pairs_every_condition_with_every_route_condition() -> None:
    ab = [
        {"headers": [{"name": "x", "value": "1"}]},
        {"queryParams": [{"name": "q", "value": "2"}]},
    ]
    service = [
        {"path": {"type": "PathPrefix", "value": "/api"}},
        {"path": {"type": "Exact", "value": "/"}},
    ]
    merged = merge_gateway(ab, service)
    assert len(merged) == 4
    assert merged[0] == {**service[0], **ab[0]}
    assert merged[3] == {**service[1], **ab[1]}
    assert merge_gateway([], service) == service
    assert merge_gateway(ab, []) == ab


def test_istio_merge_copies_the_route_uri() -> None:
    ab = [{"headers": {"x": {"exact": "1"}}}]
    assert merge_istio(ab, [{"uri": {"prefix": "/api"}}]) == [
        {"headers": {"x": {"exact": "1"}}, "uri": {"prefix": "/api"}}
    ]
    assert merge_istio(ab, []) == ab
