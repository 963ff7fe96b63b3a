"""Label and field selectors, parsed from their query-string forms.

Covers: every label operator (=, ==, !=, in, notin, exists, !exists, gt, lt) including that
!= and notin match objects without the label; set requirements with commas inside parentheses;
malformed selectors are 400 BadRequest; field selectors on metadata and declared field labels,
with escapes and !=; an unsupported field label is a 400 naming it; structured LabelSelectors
render as their string form.
"""

from __future__ import annotations

import pytest

from serinus.sandbox.apiserver.selectors import format_label_selector, parse_fields, parse_labels
from serinus.sandbox.apiserver.status import ApiError


def labelled(**labels: str) -> dict[str, object]:
    return {"metadata": {"name": "x", "labels": labels}}


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app==web", {"app": "web"}, True),
        ("app=web", {"app": "api"}, False),
        ("app!=web", {"app": "api"}, True),
        ("app!=web", {}, True),
        ("app in (web, api)", {"app": "api"}, True),
        ("app in (web,api)", {"app": "db"}, False),
        ("app notin (web,api)", {"app": "db"}, True),
        ("app notin (web,api)", {}, True),
        ("app", {"app": ""}, True),
        # the real parser reads "()" as the empty value, and an empty item as one too
        ("app in ()", {"app": ""}, True),
        ("app in ()", {"app": "web"}, False),
        ("app in ()", {}, False),
        ("app notin ()", {"app": "web"}, True),
        ("app in (web,,api)", {"app": ""}, True),
        ("app", {}, False),
        ("!app", {}, True),
        ("!app", {"app": "web"}, False),
        ("tier in (a,b),app=web", {"tier": "b", "app": "web"}, True),
        ("tier in (a,b),app=web", {"tier": "c", "app": "web"}, False),
        ("weight>5", {"weight": "10"}, True),
        ("weight<5", {"weight": "10"}, False),
        ("app.kubernetes.io/name=web", {"app.kubernetes.io/name": "web"}, True),
        ("", {"anything": "x"}, True),
    ],
)
def test_label_selector(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_labels(selector).matches(labelled(**labels)) is expected


@pytest.mark.parametrize("bad", ["app=we b", "=web", "app in (a,b", "weight>x", "-app=web"])
def test_malformed_label_selector_is_a_bad_request(bad: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_labels(bad)
    assert caught.value.code == 400
    assert caught.value.reason == "BadRequest"


def test_field_selector_on_name_namespace_and_declared_labels() -> None:
    event = {
        "metadata": {"name": "e1", "namespace": "prod"},
        "involvedObject": {"kind": "Canary", "name": "podinfo"},
        "source": {"component": "serinus"},
    }
    allowed = {
        "metadata.name",
        "metadata.namespace",
        "involvedObject.kind",
        "involvedObject.name",
        "source",
    }.__contains__
    assert parse_fields(
        "involvedObject.name=podinfo,involvedObject.kind=Canary", allowed=allowed
    ).matches(event)
    assert parse_fields("metadata.namespace==prod", allowed=allowed).matches(event)
    assert not parse_fields("metadata.name!=e1", allowed=allowed).matches(event)
    assert parse_fields("source=serinus", allowed=allowed).matches(event)
    assert not parse_fields("involvedObject.kind=Deployment", allowed=allowed).matches(event)


def test_field_selector_escapes() -> None:
    obj = {"metadata": {"name": "a,b=c"}}
    selector = parse_fields(r"metadata.name=a\,b\=c", allowed={"metadata.name"}.__contains__)
    assert selector.matches(obj)


def test_unsupported_field_label_is_a_bad_request_naming_it() -> None:
    with pytest.raises(ApiError) as caught:
        parse_fields("spec.replicas=3", allowed={"metadata.name"}.__contains__)
    assert caught.value.code == 400
    assert caught.value.message == "field label not supported: spec.replicas"


def test_structured_selector_renders_as_string() -> None:
    selector = {
        "matchLabels": {"app": "web", "tier": "front"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "dev"]},
            {"key": "canary", "operator": "DoesNotExist"},
        ],
    }
    text = format_label_selector(selector)
    assert text == "app=web,tier=front,env in (dev,prod),!canary"
    assert parse_labels(text).matches(labelled(app="web", tier="front", env="dev"))
