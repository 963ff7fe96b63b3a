"""The built-in resources the server serves, as a table of :class:`ResourceType`.

The order here is discovery order, which kubectl follows for ``get all`` (pods, services,
deployments, ...). Short names, categories and field selector labels are those of a real 1.32
cluster; kubectl resolves ``deploy`` or ``all`` from them on the client side, so they must be right.
"""

from __future__ import annotations

import functools

from serinus.sandbox.apiserver.resources import (
    ResourceType,
    ScaleSpec,
)

_POD_FIELDS = frozenset(
    {
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    }
)
_EVENT_FIELDS = frozenset(
    {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    }
)
_NEW_EVENT_FIELDS = frozenset(
    {
        "regarding.kind",
        "regarding.namespace",
        "regarding.name",
        "regarding.uid",
        "regarding.apiVersion",
        "regarding.resourceVersion",
        "regarding.fieldPath",
        "reason",
        "reportingController",
        "type",
    }
)
# events.k8s.io/v1 field -> core/v1 field (the stored form)
_EVENT_RENAMES = (
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
)

_REPLICAS = ScaleSpec(".spec.replicas", ".status.replicas", None)


_core = functools.partial(ResourceType, "", "v1")
"""A core-group (``/api/v1``) resource: ``_core(kind, plural, ...)``."""


BUILTIN: tuple[ResourceType, ...] = (
    _core(
        "Namespace",
        "namespaces",
        namespaced=False,
        short_names=("ns",),
        status=True,
        return_deleted=True,
        field_labels=frozenset({"status.phase"}),
    ),
    _core("Node", "nodes", namespaced=False, short_names=("no",), status=True, return_deleted=True),
    _core(
        "Pod",
        "pods",
        namespaced=True,
        short_names=("po",),
        categories=("all",),
        status=True,
        return_deleted=True,
        log=True,
        field_labels=_POD_FIELDS,
    ),
    _core(
        "Service",
        "services",
        namespaced=True,
        short_names=("svc",),
        categories=("all",),
        status=True,
        return_deleted=True,
    ),
    _core(
        "ReplicationController",
        "replicationcontrollers",
        namespaced=True,
        short_names=("rc",),
        categories=("all",),
        status=True,
        scale=ScaleSpec(".spec.replicas", ".status.replicas", None, map_selector=True),
        generation=True,
        field_labels=frozenset({"status.replicas"}),
    ),
    _core("Endpoints", "endpoints", namespaced=True, short_names=("ep",), singular="endpoints"),
    _core(
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        namespaced=True,
        short_names=("pvc",),
        status=True,
    ),
    _core("ConfigMap", "configmaps", namespaced=True, short_names=("cm",)),
    _core("Secret", "secrets", namespaced=True, field_labels=frozenset({"type"})),
    _core(
        "ServiceAccount",
        "serviceaccounts",
        namespaced=True,
        short_names=("sa",),
        return_deleted=True,
        token=True,
    ),
    _core("Event", "events", namespaced=True, short_names=("ev",), field_labels=_EVENT_FIELDS),
    ResourceType(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        namespaced=True,
        short_names=("deploy",),
        categories=("all",),
        status=True,
        scale=_REPLICAS,
        generation=True,
        generation_annotations=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        namespaced=True,
        short_names=("rs",),
        categories=("all",),
        status=True,
        scale=_REPLICAS,
        generation=True,
        field_labels=frozenset({"status.replicas"}),
    ),
    ResourceType(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        namespaced=True,
        short_names=("ds",),
        categories=("all",),
        status=True,
        generation=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        namespaced=True,
        short_names=("sts",),
        categories=("all",),
        status=True,
        scale=_REPLICAS,
        generation=True,
    ),
    ResourceType(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        namespaced=True,
        short_names=("ev",),
        storage_name="events",
        renames=_EVENT_RENAMES,
        field_labels=_NEW_EVENT_FIELDS,
    ),
    ResourceType(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        namespaced=True,
        short_names=("hpa",),
        categories=("all",),
        status=True,
        generation=True,
    ),
    ResourceType(
        "batch",
        "v1",
        "Job",
        "jobs",
        namespaced=True,
        categories=("all",),
        status=True,
        generation=True,
    ),
    ResourceType(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        namespaced=True,
        short_names=("cj",),
        categories=("all",),
        status=True,
        generation=True,
    ),
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", namespaced=True),
    ResourceType(
        "apiregistration.k8s.io",
        "v1",
        "APIService",
        "apiservices",
        namespaced=False,
        categories=("api-extensions",),
        status=True,
    ),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
        short_names=("crd", "crds"),
        status=True,
        generation=True,
    ),
    ResourceType(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        namespaced=True,
        short_names=("ing",),
        status=True,
        generation=True,
    ),
    ResourceType(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        namespaced=False,
        generation=True,
    ),
    ResourceType(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        namespaced=True,
        short_names=("netpol",),
        generation=True,
    ),
    ResourceType(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        namespaced=True,
        short_names=("pdb",),
        status=True,
        generation=True,
    ),
    ResourceType(
        "rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False
    ),
    ResourceType(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        namespaced=False,
    ),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", namespaced=True),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", namespaced=True),
)
"""Every built-in resource, in discovery order."""


def _review(group: str, kind: str, plural: str, *, namespaced: bool = False) -> ResourceType:
    return ResourceType(
        group, "v1", kind, plural, namespaced=namespaced, verbs=("create",), review=True
    )


REVIEWS: tuple[ResourceType, ...] = (
    _review("authentication.k8s.io", "SelfSubjectReview", "selfsubjectreviews"),
    _review("authentication.k8s.io", "TokenReview", "tokenreviews"),
    _review(
        "authorization.k8s.io", "LocalSubjectAccessReview", "localsubjectaccessreviews",
        namespaced=True,
    ),
    _review("authorization.k8s.io", "SelfSubjectAccessReview", "selfsubjectaccessreviews"),
    _review("authorization.k8s.io", "SelfSubjectRulesReview", "selfsubjectrulesreviews"),
    _review("authorization.k8s.io", "SubjectAccessReview", "subjectaccessreviews"),
)  # fmt: skip
"""The authentication and authorization APIs (``reviews``), served after the stored kinds."""

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
"""Namespaces a fresh cluster starts with."""
