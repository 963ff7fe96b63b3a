"""Gateway API request matching and match precedence.

Covers: PathPrefix matches whole path segments ("/api" matches "/api" and "/api/x", not
"/apix"), Exact and RegularExpression paths; methods; header names case-insensitive, values exact
or by regex (anchors honoured); query parameters; every condition of a match must hold; the
precedence order (exact path, longer prefix, method, more headers, more query params).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest
from multidict import CIMultiDict, MultiDict

from serinus.sandbox.mesh.matching import Match, ValueMatch, check_regex


@dataclasses.dataclass
class Request:
    path: str = "/"
    method: str = "GET"
    headers: Mapping[str, str] = dataclasses.field(default_factory=CIMultiDict)
    query: Mapping[str, str] = dataclasses.field(default_factory=MultiDict)


@pytest.mark.parametrize(
    ("prefix", "path", "matches"),
    [
        ("/", "/anything", True),
        ("/api", "/api", True),
        ("/api", "/api/v1", True),
        ("/api/", "/api", True),
        ("/api", "/apix", False),
        ("/api/v1", "/api", False),
    ],
)
def test_a_path_prefix_matches_whole_segments(prefix: str, path: str, matches: bool) -> None:
    assert Match(path=prefix).test(Request(path=path)) is matches


def test_exact_and_regex_paths() -> None:
    exact = Match(path_type="Exact", path="/status/500")
    regex = Match(path_type="RegularExpression", path=r"^/status/5\d\d$")

    assert exact.test(Request(path="/status/500"))
    assert not exact.test(Request(path="/status/500/x"))
    assert regex.test(Request(path="/status/503"))
    assert not regex.test(Request(path="/status/404"))


def test_headers_match_by_case_insensitive_name_and_exact_or_regex_value() -> None:
    match = Match(
        headers=(
            ValueMatch("x-canary", "insider"),
            ValueMatch("user-agent", r".*Firefox.*", regex=True),
        )
    )
    headers = CIMultiDict({"X-Canary": "insider", "User-Agent": "Mozilla/5.0 Firefox/120"})

    assert match.test(Request(headers=headers))
    assert not match.test(Request(headers=CIMultiDict({"X-Canary": "insider"})))
    assert not match.test(
        Request(headers=CIMultiDict({"X-Canary": "Insider", "User-Agent": "Firefox"}))
    )


def test_method_and_query_parameters_must_hold_too() -> None:
    match = Match(method="POST", query=(ValueMatch("canary", "true"),))

    assert match.test(Request(method="post", query=MultiDict({"canary": "true"})))
    assert not match.test(Request(method="GET", query=MultiDict({"canary": "true"})))
    assert not match.test(Request(method="POST"))


def test_more_specific_matches_sort_first() -> None:
    ordered = [
        Match(path_type="Exact", path="/a"),
        Match(path="/a/b"),
        Match(path="/a", method="GET"),
        Match(path="/a", headers=(ValueMatch("x", "1"), ValueMatch("y", "2"))),
        Match(path="/a", headers=(ValueMatch("x", "1"),)),
        Match(path="/a", query=(ValueMatch("q", "1"),)),
        Match(path="/a"),
        Match(path="/"),
    ]

    assert sorted(ordered, key=lambda m: m.specificity(), reverse=True) == ordered


def test_an_invalid_regex_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"spec\.rules\[0\]\.matches\[0\]\.path\.value"):
        check_regex("(", field="spec.rules[0].matches[0].path.value")
