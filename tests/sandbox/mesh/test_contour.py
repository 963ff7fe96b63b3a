"""The sandbox's reading of Contour's HTTPProxy header conditions (no proxy started).

Covers: a ``regex`` header condition (what serinus's contour router writes for an A/B regex,
Contour 1.26+) matches the whole header value, as Envoy's regex match does; ``contains``
matches a part; a condition the sandbox does not evaluate, or a regex that does not compile,
fails naming the field.
"""

from __future__ import annotations

import pytest

from serinus.sandbox.mesh.contour import proxy_rules


def proxy(header: dict[str, object]) -> dict[str, object]:
    route = {
        "conditions": [{"prefix": "/", "header": header}],
        "services": [{"name": "podinfo-canary", "port": 9898, "weight": 100}],
    }
    return {
        "apiVersion": "projectcontour.io/v1",
        "kind": "HTTPProxy",
        "metadata": {"name": "podinfo", "namespace": "prod"},
        "spec": {"routes": [route]},
    }


def test_a_regex_header_condition_matches_the_whole_value() -> None:
    (rule,) = proxy_rules(proxy({"name": "Cookie", "regex": "canary=(always|yes)"}))
    (condition,) = rule.matches[0].headers
    assert condition.test("canary=always")
    assert not condition.test("session=1; canary=always")
    assert not condition.test("canary=alwaysx")


def test_contains_matches_a_part_and_an_unknown_kind_names_the_field() -> None:
    (rule,) = proxy_rules(proxy({"name": "user-agent", "contains": "Mobile"}))
    assert rule.matches[0].headers[0].test("Safari Mobile/15")
    with pytest.raises(ValueError, match=r"spec.routes\[0\].conditions\[0\].header: expected"):
        proxy_rules(proxy({"name": "x", "notexact": "y"}))
    with pytest.raises(ValueError, match=r"header.regex: not a regular expression"):
        proxy_rules(proxy({"name": "x", "regex": "(unclosed"}))
