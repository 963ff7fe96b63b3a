"""Checks on bodies and objects: fit with the URL, metadata, and the built-in rules.

Covers: kind and apiVersion must match the URL (apply must state both); namespace and name are
taken from the URL or must agree with it; unknown metadata fields are found; names follow the
subdomain, label (namespaces, services) or path-segment (RBAC) rules; label keys and values;
owner references need all four fields; workloads need a selector matching the template and
containers with name and image, a non-negative integer replicas, and keep their selector; a
StatefulSet keeps its claim templates, serviceName and podManagementPolicy;
services need ports in range and keep their cluster IP; a pod's spec only changes its images;
an event is in the namespace of its object (these kind rules live in ``rules``).
"""

from __future__ import annotations

from typing import Any

import pytest

from serinus.sandbox.apiserver import rules, validation
from serinus.sandbox.apiserver.builtin import BUILTIN
from serinus.sandbox.apiserver.status import ApiError
from tests.sandbox.apiserver.support import deployment

TYPES = {t.resource: t for t in BUILTIN if not t.storage_name}


def fields(resource: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    kind = TYPES[resource]
    causes = validation.check_metadata(kind, obj) + rules.check(kind, obj, old)
    return [cause.field for cause in causes]


def test_body_must_match_the_url() -> None:
    with pytest.raises(ApiError, match=r"the kind in the data \(Service\)"):
        validation.check_body(TYPES["deployments.apps"], {"kind": "Service"})
    with pytest.raises(ApiError, match=r"the API version in the data \(apps/v1beta1\)"):
        validation.check_body(TYPES["deployments.apps"], {"apiVersion": "apps/v1beta1"})
    with pytest.raises(ApiError, match="invalid object type"):
        validation.check_body(TYPES["deployments.apps"], {"metadata": {}}, apply=True)
    obj: dict[str, Any] = {"metadata": {}}
    validation.check_address(TYPES["deployments.apps"], obj, namespace="prod", name="web")
    assert obj["metadata"] == {"namespace": "prod", "name": "web"}
    cluster_wide: dict[str, Any] = {"metadata": {"namespace": "prod"}}
    validation.check_address(TYPES["namespaces"], cluster_wide, namespace="", name=None)
    assert cluster_wide["metadata"] == {}


def test_unknown_metadata_fields() -> None:
    assert validation.unknown_metadata({"metadata": {"name": "a", "lables": {}, "labels": {}}}) == [
        "metadata.lables"
    ]


@pytest.mark.parametrize(
    ("resource", "name", "valid"),
    [
        ("configmaps", "web.config-1", True),
        ("configmaps", "Web", False),
        ("configmaps", "a" * 254, False),
        ("services", "web.svc", False),
        ("namespaces", "prod", True),
        ("clusterroles.rbac.authorization.k8s.io", "system:controller:x", True),
        ("clusterroles.rbac.authorization.k8s.io", "a/b", False),
    ],
)
def test_names(resource: str, name: str, valid: bool) -> None:
    assert (fields(resource, {"metadata": {"name": name}}) == []) is valid


def test_labels_and_owner_references() -> None:
    obj = {
        "metadata": {
            "name": "a",
            "labels": {"bad key!": "v", "ok": "bad value!"},
            "ownerReferences": [{"kind": "Deployment", "name": "web"}],
        }
    }
    assert fields("configmaps", obj) == [
        "metadata.labels",
        "metadata.labels",
        "metadata.ownerReferences[0].apiVersion",
        "metadata.ownerReferences[0].uid",
    ]


def test_workload_rules() -> None:
    good = deployment()
    assert fields("deployments.apps", good) == []
    bad = deployment()
    bad["spec"]["replicas"] = -1
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    bad["spec"]["template"]["spec"]["containers"] = [{"name": "app"}]
    assert fields("deployments.apps", bad) == [
        "spec.replicas",
        "spec.template.metadata.labels",
        "spec.template.spec.containers[0].image",
    ]
    moved = deployment()
    moved["spec"]["selector"] = {"matchLabels": {"app": "podinfo", "tier": "x"}}
    moved["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    assert fields("deployments.apps", moved, old=good) == ["spec.selector"]
    typed = deployment()
    typed["spec"]["replicas"] = "2"
    assert fields("deployments.apps", typed) == ["spec.replicas"]


def test_a_statefulset_keeps_its_claim_templates() -> None:
    old = deployment()
    old["spec"].update(
        {"serviceName": "podinfo", "volumeClaimTemplates": [{"metadata": {"name": "data"}}]}
    )
    scaled = {**old, "spec": {**old["spec"], "replicas": 5, "updateStrategy": {"type": "OnDelete"}}}
    assert fields("statefulsets.apps", scaled, old) == []
    claims = [{"metadata": {"name": "data"}, "spec": {"storageClassName": "fast"}}]
    for change in ({"volumeClaimTemplates": claims}, {"serviceName": "other"}):
        changed = {**old, "spec": {**old["spec"], **change}}
        kind = TYPES["statefulsets.apps"]
        causes = rules.check(kind, changed, old)
        assert [(c.field, c.reason) for c in causes] == [("spec", "FieldValueForbidden")]
        assert "'replicas', 'ordinals', 'template', 'updateStrategy'" in causes[0].message
    assert fields("statefulsets.apps", old) == []


def test_service_rules() -> None:
    service = {
        "metadata": {"name": "web"},
        "spec": {"ports": [{"port": 70000}], "clusterIP": "10.96.0.11"},
    }
    old = {"metadata": {"name": "web"}, "spec": {"clusterIP": "10.96.0.10"}}
    assert fields("services", service, old) == ["spec.ports[0].port", "spec.clusterIP"]
    headless = {"metadata": {"name": "web"}, "spec": {"clusterIP": "None"}}
    assert fields("services", headless) == []


def test_pod_spec_is_immutable_but_for_images() -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "x:1"}]}}
    new_image = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "x:2"}]}}
    assert fields("pods", new_image, old=pod) == []
    moved = {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a", "image": "x:1"}], "nodeName": "n"},
    }
    assert fields("pods", moved, old=pod) == ["spec"]


def test_events_live_in_the_namespace_of_their_object() -> None:
    event = {
        "metadata": {"name": "e", "namespace": "prod"},
        "involvedObject": {"namespace": "other"},
    }
    assert fields("events", event) == ["involvedObject.namespace"]
    event["involvedObject"]["namespace"] = "prod"
    assert fields("events", event) == []
