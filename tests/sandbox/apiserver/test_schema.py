"""A CRD's structural schema applied to custom resources.

Covers: unknown fields are pruned and reported with their path; preserve-unknown-fields,
additionalProperties and embedded resources keep theirs; defaults fill missing fields (also
after a null is pruned); type, enum, required, minimum/maximum, minLength, pattern and
maxItems problems are reported with the real server's wording; int-or-string; list item paths.
"""

from __future__ import annotations

from typing import Any

from serinus.sandbox.apiserver.schema import apply_schema, list_kind

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["targetRef"],
            "properties": {
                "targetRef": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "kind": {"type": "string", "enum": ["Deployment", "DaemonSet"]},
                        "name": {"type": "string", "minLength": 1},
                    },
                },
                "stepWeight": {"type": "integer", "minimum": 1, "maximum": 100},
                "port": {"x-kubernetes-int-or-string": True},
                "version": {"type": "string", "pattern": "^v[0-9]+$"},
                "weights": {"type": "array", "maxItems": 2, "items": {"type": "integer"}},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {},
                },
                "suspend": {"type": "boolean", "default": False},
                "items": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
            },
        },
        "status": {"type": "object", "properties": {"weight": {"type": "integer", "default": 0}}},
    },
}


def canary(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "podinfo"},
        "spec": {"targetRef": {"name": "podinfo"}, **spec},
    }


def messages(obj: dict[str, Any]) -> list[str]:
    return [f"{c.field}: {c.message}" for c in apply_schema(SCHEMA, obj).causes]


def test_unknown_fields_are_pruned_and_reported() -> None:
    outcome = apply_schema(SCHEMA, canary(stepWeigth=5, targetRef={"name": "x", "nmae": "y"}))
    assert outcome.unknown == ["spec.targetRef.nmae", "spec.stepWeigth"]
    assert outcome.obj["spec"]["targetRef"] == {"name": "x"}
    assert "stepWeigth" not in outcome.obj["spec"]


def test_open_parts_keep_unknown_fields() -> None:
    obj = canary(
        headers={"x-a": "1"},
        free={"anything": {"goes": [1]}},
        template={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}},
    )
    outcome = apply_schema(SCHEMA, obj)
    assert outcome.unknown == []
    assert outcome.obj["spec"]["free"] == {"anything": {"goes": [1]}}
    assert outcome.obj["spec"]["template"]["kind"] == "Pod"


def test_defaults_fill_missing_fields_and_replace_pruned_nulls() -> None:
    obj = canary(suspend=None)
    obj["status"] = {}
    outcome = apply_schema(SCHEMA, obj)
    assert outcome.obj["spec"]["suspend"] is False
    assert outcome.obj["status"] == {"weight": 0}


def test_validation_messages_name_the_field() -> None:
    assert messages(canary(stepWeight=150)) == [
        "spec.stepWeight: Invalid value: 150: "
        "spec.stepWeight in body should be less than or equal to 100"
    ]
    assert messages(canary(stepWeight="5")) == [
        'spec.stepWeight: Invalid value: "string": '
        'spec.stepWeight in body must be of type integer: "string"'
    ]
    assert messages(canary(targetRef={"name": "x", "kind": "Service"})) == [
        'spec.targetRef.kind: Unsupported value: "Service": '
        'supported values: "Deployment", "DaemonSet"'
    ]
    assert messages(canary(targetRef={"name": ""})) == [
        'spec.targetRef.name: Invalid value: "": '
        "spec.targetRef.name in body should be at least 1 chars long"
    ]
    assert messages(canary(version="1.0")) == [
        "spec.version: Invalid value: \"1.0\": spec.version in body should match '^v[0-9]+$'"
    ]
    assert messages(canary(weights=[1, 2, 3])) == [
        "spec.weights: Too many: 3: must have at most 2 items"
    ]
    assert messages(canary(weights=[1, "x"])) == [
        'spec.weights[1]: Invalid value: "string": '
        'spec.weights[1] in body must be of type integer: "string"'
    ]


def test_required_fields() -> None:
    obj = canary()
    del obj["spec"]["targetRef"]
    assert messages(obj) == ["spec.targetRef: Required value"]


def test_int_or_string() -> None:
    assert messages(canary(port=80)) == []
    assert messages(canary(port="http")) == []
    assert len(messages(canary(port=1.5))) == 1


def test_list_kind_reads_list_type_annotations() -> None:
    assert list_kind(SCHEMA, ("spec", "items")) == ("name",)
    assert list_kind(SCHEMA, ("spec", "weights")) is None
    assert list_kind(SCHEMA, ("spec", "missing")) is None
