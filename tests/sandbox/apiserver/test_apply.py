"""Server-side apply: merging an applied configuration and tracking field ownership.

Covers: first apply records the manager's fields as FieldsV1 (keyed list items as k:{...});
re-applying without a field removes it (an env var, a label); a field another manager also
applied is kept; conflicting values between appliers are a 409 naming the manager and the field,
unless forced, which moves ownership; equal values are shared without conflict; keyed lists
merge items from several managers; server metadata stays out of the field set.
"""

from __future__ import annotations

from typing import Any

import pytest

from serinus.sandbox.apiserver.apply import from_fields_v1, render, server_side_apply
from serinus.sandbox.apiserver.builtin import BUILTIN
from serinus.sandbox.apiserver.ownership import list_rule
from serinus.sandbox.apiserver.status import ApiError

DEPLOYMENTS = next(r for r in BUILTIN if r.resource == "deployments.apps")
RULE = list_rule(DEPLOYMENTS)


def config(
    *,
    env: list[dict[str, str]] | None = None,
    labels: dict[str, str] | None = None,
    replicas: int | None = None,
    image: str = "web:1",
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "web", "image": image}
    if env is not None:
        container["env"] = env
    spec: dict[str, Any] = {"template": {"spec": {"containers": [container]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    metadata: dict[str, Any] = {"name": "web", "namespace": "prod"}
    if labels is not None:
        metadata["labels"] = labels
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec}


def apply(
    live: dict[str, Any] | None, applied: dict[str, Any], manager: str, *, force: bool = False
) -> dict[str, Any]:
    return server_side_apply(
        live, applied, manager=manager, force=force, api_version="apps/v1", rule=RULE
    )


def owned(obj: dict[str, Any], manager: str) -> set[str]:
    for entry in obj["metadata"]["managedFields"]:
        if entry["manager"] == manager:
            return {render(path) for path in from_fields_v1(entry["fieldsV1"])}
    return set()


def test_first_apply_records_fields_of_the_manager() -> None:
    result = apply(None, config(labels={"app": "web"}, replicas=2), "flagger")
    entry = result["metadata"]["managedFields"][0]
    assert entry["manager"] == "flagger"
    assert entry["operation"] == "Apply"
    assert entry["fieldsType"] == "FieldsV1"
    assert (
        entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']["."]
        == {}
    )
    assert owned(result, "flagger") == {
        ".metadata.labels.app",
        ".spec.replicas",
        '.spec.template.spec.containers[name="web"]',
        '.spec.template.spec.containers[name="web"].name',
        '.spec.template.spec.containers[name="web"].image',
    }


def test_fields_left_out_of_a_new_apply_are_removed() -> None:
    first = apply(
        None,
        config(
            env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            labels={"app": "web", "old": "x"},
        ),
        "flagger",
    )
    second = apply(
        first, config(env=[{"name": "A", "value": "1"}], labels={"app": "web"}), "flagger"
    )
    assert second["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "1"}
    ]
    assert second["metadata"]["labels"] == {"app": "web"}


def test_fields_of_other_writers_survive_a_reapply() -> None:
    first = apply(None, config(labels={"app": "web"}), "flagger")
    first["metadata"]["labels"]["added-by-hand"] = "yes"
    second = apply(first, config(labels={"app": "web"}, image="web:2"), "flagger")
    assert second["metadata"]["labels"] == {"app": "web", "added-by-hand": "yes"}
    assert second["spec"]["template"]["spec"]["containers"][0]["image"] == "web:2"


def test_a_field_shared_with_another_applier_is_not_removed() -> None:
    first = apply(None, config(replicas=2), "flagger")
    shared = apply(first, config(replicas=2), "hpa")
    dropped = apply(shared, config(), "flagger")
    assert dropped["spec"]["replicas"] == 2


def test_conflicting_value_is_a_409_naming_manager_and_field() -> None:
    first = apply(None, config(replicas=2), "flagger")
    with pytest.raises(ApiError) as caught:
        apply(first, config(replicas=5), "kubectl")
    assert caught.value.code == 409
    assert caught.value.reason == "Conflict"
    assert caught.value.message == (
        'Apply failed with 1 conflict: conflict with "flagger" using apps/v1: .spec.replicas'
    )
    assert caught.value.details is not None
    assert caught.value.details["causes"][0]["field"] == ".spec.replicas"


def test_force_takes_ownership_and_equal_values_do_not_conflict() -> None:
    first = apply(None, config(replicas=2), "flagger")
    same = apply(first, config(replicas=2), "kubectl")
    assert same["spec"]["replicas"] == 2
    forced = apply(first, config(replicas=5), "kubectl", force=True)
    assert forced["spec"]["replicas"] == 5
    assert ".spec.replicas" not in owned(forced, "flagger")
    assert ".spec.replicas" in owned(forced, "kubectl")


def test_keyed_lists_collect_items_from_several_managers() -> None:
    first = apply(None, config(env=[{"name": "A", "value": "1"}]), "flagger")
    second = apply(first, config(env=[{"name": "B", "value": "2"}]), "mesh")
    env = second["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]


def test_server_metadata_is_not_owned() -> None:
    applied = config()
    applied["metadata"].update({"uid": "x", "resourceVersion": "9", "creationTimestamp": "t"})
    fields = owned(apply(None, applied, "m"), "m")
    assert not any(field.startswith(".metadata") for field in fields)
