"""What a router can do, and what a Canary asks of it in vain (:mod:`serinus.capabilities`).

Covers: a Canary that asks for nothing special is refused by no router; a router without weights
is not held to ``match`` or ``mirror`` (the release runs as blue/green, as in Flagger); A/B
conditions are held to the fields, string match kinds and header and cookie counts a router
declares, counted across every match request, a condition repeated in two requests counting once;
a malformed condition is named; the providers able to do what was asked are named, or that none
is yet; every refusal names its field.
"""

from __future__ import annotations

from typing import Any

from serinus.apis.canary import Canary
from serinus.capabilities import STRING_KINDS, Capabilities, Matching, refusals

ABLE = {"matching": ["istio"], "mirroring": ["istio"], "session affinity": []}
ONE_HEADER = Matching(
    "Mesh", fields={"headers": STRING_KINDS, "uri": frozenset({"exact"})}, headers=1
)


def canary(**analysis: Any) -> Canary:
    return Canary.model_validate(
        {
            "metadata": {"name": "podinfo", "namespace": "prod"},
            "spec": {
                "targetRef": {"kind": "Deployment", "name": "podinfo"},
                "service": {"port": 9898},
                "analysis": {"interval": "10s", "iterations": 5, **analysis},
            },
        }
    )


def refused(can: Capabilities, **analysis: Any) -> list[str]:
    return refusals(canary(**analysis), can, provider="mesh", able=ABLE)


def test_a_plain_canary_is_refused_by_no_router() -> None:
    for can in (Capabilities(), Capabilities(weights=False), Capabilities(matching=ONE_HEADER)):
        assert refused(can) == []


def test_a_router_without_weights_is_held_to_match_mirror_and_session_affinity() -> None:
    match = [{"headers": {"x": {"exact": "1"}}}]
    switch = Capabilities(weights=False, limitation="switches all traffic at once")
    assert refused(switch, match=match, mirror=True) == [
        "spec.analysis.match: A/B testing needs a provider that matches requests (istio), found "
        "provider mesh, which switches all traffic at once",
        "spec.analysis.mirror: traffic mirroring needs a provider that mirrors requests (istio), "
        "found provider mesh, which switches all traffic at once",
    ]
    assert refused(Capabilities(weights=False), sessionAffinity={"cookieName": "c"}) == [
        "spec.analysis.sessionAffinity: not supported by serinus's mesh router yet"
    ]


def test_what_a_router_cannot_do_is_named_with_who_can() -> None:
    match = [{"headers": {"x": {"exact": "1"}}}]
    assert refused(Capabilities(), match=match, mirror=True) == [
        "spec.analysis.match: A/B testing needs a provider that matches requests (istio), found "
        "provider mesh, which splits traffic by weight only",
        "spec.analysis.mirror: traffic mirroring needs a provider that mirrors requests (istio), "
        "found provider mesh, which cannot mirror",
    ]
    able = {**ABLE, "session affinity": ["istio"]}
    sticky = refusals(
        canary(sessionAffinity={"cookieName": "c"}), Capabilities(), provider="mesh", able=able
    )
    assert sticky == [
        "spec.analysis.sessionAffinity: session affinity needs a provider that pins clients by "
        "cookie (istio), found provider mesh"
    ]
    nobody = refusals(canary(match=match), Capabilities(), provider="mesh", able={})
    assert "(none of serinus's providers yet)" in nobody[0]


def test_conditions_are_held_to_the_fields_kinds_and_counts_declared() -> None:
    same_header_twice = [
        {"headers": {"x-canary": {"exact": "insider"}}, "name": "first"},
        {"headers": {"X-Canary": {"exact": "insider"}}, "uri": {"exact": "/api"}},
    ]
    assert refused(Capabilities(matching=ONE_HEADER), match=same_header_twice) == []
    wrong = [
        {"headers": {"x-a": {"exact": "1"}}, "queryParams": {"q": {"exact": "1"}}},
        {"headers": {"x-b": {"prefix": "2"}}, "uri": {"prefix": "/api"}},
        {"headers": {"x-a": {"contains": "1"}}},
        {"headers": ["x-a"]},
    ]
    assert refused(Capabilities(matching=ONE_HEADER), match=wrong) == [
        "spec.analysis.match[0].queryParams: Mesh matches on headers, uri only, found queryParams",
        "spec.analysis.match[1].headers.x-b: Mesh matches on one header only, found a second one",
        "spec.analysis.match[1].uri: Mesh matches it by exact only, found prefix",
        "spec.analysis.match[2].headers.x-a: expected one of exact, prefix, suffix or regex with a "
        "text, found {'contains': '1'}",
        "spec.analysis.match[3].headers: expected a map of name to match, found ['x-a']",
    ]


def test_a_cookie_of_its_own_is_one_at_most() -> None:
    nginx_like = Matching(
        "Ingress", fields={"headers": STRING_KINDS}, headers=1, cookie=frozenset({"exact"})
    )
    two_cookies = [{"headers": {"cookie": {"exact": "a"}}}, {"headers": {"Cookie": {"exact": "b"}}}]
    assert refused(Capabilities(matching=nginx_like), match=two_cookies) == [
        "spec.analysis.match[1].headers.Cookie: Ingress matches on one header and one cookie "
        "only, found a second one"
    ]


def test_a_router_that_matches_anything_refuses_no_condition() -> None:
    anything = [{"sourceLabels": {"app": "web"}, "headers": {"x": {"regex": ".*"}}, "port": 80}]
    assert refused(Capabilities(matching=Matching("Istio")), match=anything) == []
