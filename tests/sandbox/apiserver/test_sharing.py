"""Objects handed out by the write verbs share nothing with the store.

The server copies as little as it can (a write used to copy the object a dozen times), so this
checks what the copies were for: whatever a write returns, and whatever a caller passed in, can
be changed without changing a stored object or the previous version a watch replays; a write
changing nothing returns a copy too. Versions of one object may share what did not change
(stored objects are never changed in place): a custom resource's status write keeps the previous
version's spec, and when the schema walk has to change that spec (a default its CRD gained since),
it changes a copy, never the previous version. Covers create, update, status update, a write
changing nothing, merge and server-side apply patches, and a custom resource's status writes, in
process against one Cluster.
"""

from __future__ import annotations

import json
from typing import Any

from serinus.sandbox.apiserver import patching, writes
from serinus.sandbox.apiserver.cluster import Cluster
from serinus.sandbox.apiserver.objects import deep_copy
from serinus.sandbox.apiserver.resources import ResourceType
from tests.sandbox.apiserver.support import containers, deployment, namespace
from tests.support.manifests import simple_crd

OPTIONS = writes.WriteOptions(field_manager="test")


def _shared(one: Any, other: Any) -> bool:
    return bool({id(c) for c in containers(one)} & {id(c) for c in containers(other)})


def _setup() -> tuple[Cluster, ResourceType]:
    cluster = Cluster()
    cluster.seed()
    writes.create(cluster, cluster.type_of("namespaces"), "", namespace("prod"), OPTIONS)
    found = cluster.registry.lookup("apps", "v1", "deployments")
    assert found is not None
    return cluster, found


def _stored(cluster: Cluster, resource: ResourceType) -> dict[str, Any]:
    found = cluster.find(resource, "prod", "podinfo")
    assert found is not None
    return found


def test_created_and_updated_objects_are_the_callers_own() -> None:
    cluster, deployments = _setup()
    body = deployment()
    created = writes.create(cluster, deployments, "prod", body, OPTIONS).obj
    stored = _stored(cluster, deployments)
    assert not _shared(created, stored)
    assert not _shared(body, stored)
    before = deep_copy(stored)
    created["spec"]["replicas"] = 5
    created["status"] = {"replicas": 1, "conditions": [{"type": "Available", "status": "True"}]}
    updated = writes.update(cluster, deployments, "prod", "podinfo", created, OPTIONS).obj
    new_stored = _stored(cluster, deployments)
    assert stored == before  # the previous version, as a watch resuming before it replays it
    assert not _shared(updated, new_stored)
    assert not _shared(created, new_stored)
    kept = deep_copy(new_stored)
    updated["status"] = {"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]}
    status = writes.update(
        cluster, deployments, "prod", "podinfo", updated, OPTIONS, subresource="status"
    ).obj
    after_status = _stored(cluster, deployments)
    assert after_status["status"]["replicas"] == 2
    assert not _shared(status, after_status)
    assert not _shared(updated, after_status)
    assert new_stored == kept
    assert stored == before


def test_a_write_changing_nothing_returns_a_copy() -> None:
    cluster, deployments = _setup()
    created = writes.create(cluster, deployments, "prod", deployment(), OPTIONS).obj
    same = writes.update(cluster, deployments, "prod", "podinfo", created, OPTIONS).obj
    stored = _stored(cluster, deployments)
    assert same["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    assert not _shared(same, stored)


def test_patched_objects_share_nothing_with_the_store() -> None:
    cluster, deployments = _setup()
    writes.create(cluster, deployments, "prod", deployment(), OPTIONS)
    previous = _stored(cluster, deployments)
    before = deep_copy(previous)
    merge = json.dumps({"spec": {"template": {"metadata": {"labels": {"v": "2"}}}}}).encode()
    merged = patching.patch(
        cluster,
        deployments,
        "prod",
        "podinfo",
        content_type="application/merge-patch+json",
        raw=merge,
        options=OPTIONS,
    ).obj
    assert previous == before
    assert not _shared(merged, _stored(cluster, deployments))
    applied = patching.patch(
        cluster,
        deployments,
        "prod",
        "podinfo",
        content_type="application/apply-patch+yaml",
        raw=b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: podinfo}\n"
        b"spec: {replicas: 3}\n",
        options=writes.WriteOptions(field_manager="applier"),
        force=True,
    ).obj
    assert applied["spec"]["replicas"] == 3
    assert not _shared(applied, _stored(cluster, deployments))


def _widgets(cluster: Cluster, spec_schema: dict[str, Any]) -> ResourceType:
    crd = simple_crd("example.com", "Widget", "widgets")
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = {
        "type": "object",
        "properties": {
            "spec": spec_schema,
            "status": {"type": "object", "properties": {"weight": {"type": "integer"}}},
        },
    }
    crds = cluster.type_of("customresourcedefinitions.apiextensions.k8s.io")
    found = cluster.find(crds, "", "widgets.example.com")
    if found is None:
        writes.create(cluster, crds, "", crd, OPTIONS)
    else:
        crd["metadata"]["resourceVersion"] = found["metadata"]["resourceVersion"]
        writes.update(cluster, crds, "", "widgets.example.com", crd, OPTIONS)
    widgets = cluster.registry.lookup("example.com", "v1", "widgets")
    assert widgets is not None
    return widgets


def test_status_writes_of_a_custom_resource_never_change_a_previous_version() -> None:
    cluster, _ = _setup()
    widgets = _widgets(
        cluster, {"type": "object", "properties": {"size": {"type": "object", "properties": {}}}}
    )
    body = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "prod"},
        "spec": {"size": {}},
    }
    created = writes.create(cluster, widgets, "prod", body, OPTIONS).obj
    created["status"] = {"weight": 1}
    first = writes.update(cluster, widgets, "prod", "w", created, OPTIONS, subresource="status")
    first_stored = cluster.find(widgets, "prod", "w")
    assert first_stored is not None
    before = deep_copy(first_stored)
    # the CRD gains a default inside spec: the next write of the object fills it in
    widgets = _widgets(
        cluster,
        {
            "type": "object",
            "properties": {
                "size": {
                    "type": "object",
                    "properties": {"unit": {"type": "string", "default": "cm"}},
                }
            },
        },
    )
    second = first.obj
    second["status"] = {"weight": 2}
    written = writes.update(cluster, widgets, "prod", "w", second, OPTIONS, subresource="status")
    assert written.obj["spec"] == {"size": {"unit": "cm"}}
    assert written.obj["status"] == {"weight": 2}
    assert first_stored == before  # the version a watch resuming before the write replays
    assert before["spec"] == {"size": {}}
    third = written.obj
    third["status"] = {"weight": 3}
    writes.update(cluster, widgets, "prod", "w", third, OPTIONS, subresource="status")
    assert first_stored == before
