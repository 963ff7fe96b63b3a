"""Objects handed out by the write verbs share nothing with the store.

The server copies as little as it can (a write used to copy the object a dozen times), so this
checks what the copies were for: whatever a write returns, and whatever a caller passed in, can
be changed without changing a stored object or the previous version a watch replays; a write
changing nothing returns a copy too. Covers create, update, status update, a write changing
nothing, and merge and server-side apply patches, in process against one Cluster.
"""

from __future__ import annotations

import json
from typing import Any

from serinus.sandbox.apiserver import patching, writes
from serinus.sandbox.apiserver.cluster import Cluster
from serinus.sandbox.apiserver.objects import deep_copy
from serinus.sandbox.apiserver.resources import ResourceType
from tests.sandbox.apiserver.support import containers, deployment, namespace

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
    assert not _shared(new_stored, stored)
    updated["status"] = {"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]}
    status = writes.update(
        cluster, deployments, "prod", "podinfo", updated, OPTIONS, subresource="status"
    ).obj
    after_status = _stored(cluster, deployments)
    assert after_status["status"]["replicas"] == 2
    assert not _shared(status, after_status)
    assert not _shared(updated, after_status)
    assert not _shared(after_status, new_stored)


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
