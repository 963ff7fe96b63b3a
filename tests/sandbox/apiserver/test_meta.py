"""Server-owned metadata and what counts as a change.

Covers: create stamps uid, creationTimestamp and generation 1 and drops client values; update
keeps the server's fields; generation moves on spec changes only (status too for kinds without
a status subresource, annotations too for Deployments); a write changing nothing is recognised
even when managedFields timestamps differ; marking deletion sets the timestamp once.
"""

from __future__ import annotations

from typing import Any

from serinus.sandbox.apiserver import meta
from serinus.sandbox.apiserver.builtin import BUILTIN
from serinus.sandbox.apiserver.resources import ResourceType

DEPLOYMENTS = next(t for t in BUILTIN if t.resource == "deployments.apps")
WIDGETS = ResourceType("example.com", "v1", "Widget", "widgets", True, generation=True, custom=True)


def test_create_stamps_server_fields() -> None:
    obj = {"metadata": {"name": "a", "uid": "mine", "generation": 7, "deletionTimestamp": "x"}}
    meta.prepare_create(DEPLOYMENTS, obj)
    assert obj["metadata"]["uid"] != "mine"
    assert obj["metadata"]["generation"] == 1
    assert "deletionTimestamp" not in obj["metadata"]
    assert meta.generate_name("web-").startswith("web-")


def test_generation_rules() -> None:
    old = {
        "metadata": {"name": "a", "uid": "u", "generation": 3},
        "spec": {"replicas": 1},
        "status": {},
    }
    same_spec = {
        "metadata": {"name": "a", "uid": "other"},
        "spec": {"replicas": 1},
        "status": {"x": 1},
    }
    meta.carry_over(DEPLOYMENTS, old, same_spec)
    assert same_spec["metadata"] == {"name": "a", "uid": "u", "generation": 3}
    annotated: dict[str, Any] = {
        "metadata": {"name": "a", "annotations": {"n": "1"}},
        "spec": {"replicas": 1},
    }
    meta.carry_over(DEPLOYMENTS, old, annotated)
    assert annotated["metadata"]["generation"] == 4
    no_status_subresource = {"metadata": {"name": "w"}, "spec": {}, "status": {"ready": True}}
    assert meta.spec_changed(WIDGETS, {"metadata": {}, "spec": {}}, no_status_subresource)


def test_same_content_ignores_versions_and_apply_times() -> None:
    old = {"metadata": {"resourceVersion": "1", "managedFields": [{"manager": "m", "time": "t1"}]}}
    new = {"metadata": {"resourceVersion": "2", "managedFields": [{"manager": "m", "time": "t2"}]}}
    assert meta.same_content(old, new)
    assert not meta.same_content(old, {"metadata": {}, "spec": {}})


def test_same_content_sees_every_other_difference_and_changes_neither_side() -> None:
    def obj() -> dict[str, Any]:
        return {
            "metadata": {
                "name": "a",
                "resourceVersion": "1",
                "labels": {"app": "a"},
                "managedFields": [{"manager": "m", "time": "t1", "fieldsV1": {"f:spec": {}}}],
            },
            "spec": {"ports": [{"port": 80}]},
        }

    old, new = obj(), obj()
    new["metadata"]["resourceVersion"] = "2"
    new["metadata"]["managedFields"][0]["time"] = "t2"
    assert meta.same_content(old, new)
    assert old["metadata"]["resourceVersion"] == "1"
    assert new["metadata"]["managedFields"][0]["time"] == "t2"
    changed = obj()
    changed["spec"]["ports"][0]["port"] = 81
    assert not meta.same_content(old, changed)
    relabelled = obj()
    relabelled["metadata"]["labels"]["app"] = "b"
    assert not meta.same_content(old, relabelled)
    other_manager = obj()
    other_manager["metadata"]["managedFields"][0]["manager"] = "n"
    assert not meta.same_content(old, other_manager)
    assert not meta.same_content({"metadata": {"managedFields": None}}, {"metadata": {}})
    assert meta.same_content({"spec": {}}, {"metadata": {}, "spec": {}})


def test_mark_deleting_once() -> None:
    obj = {"metadata": {"generation": 1}}
    meta.mark_deleting(DEPLOYMENTS, obj)
    stamp = obj["metadata"]["deletionTimestamp"]
    meta.mark_deleting(DEPLOYMENTS, obj)
    assert obj["metadata"]["deletionTimestamp"] == stamp
    assert obj["metadata"]["generation"] == 2
