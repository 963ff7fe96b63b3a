"""Rules of built-in kinds that users and controllers trip over, as 422 causes.

Custom resources are checked against their CRD's schema (``schema``); built-ins have no schema
here, so this module holds the handful of real rules worth having: a workload's selector must
match its template and cannot change, containers need a name and an image, replicas are a
non-negative integer, a StatefulSet's spec changes only in the fields the real server lets change
(not its ``volumeClaimTemplates``, ``serviceName`` or ``podManagementPolicy``), Service ports are
in range and the cluster IP cannot change, a pod's spec is immutable but for images and a few
fields, and an Event lives in the namespace of the object it is about.
"""

from __future__ import annotations

import json

from serinus.sandbox.apiserver.objects import Obj, as_map, dig, metadata
from serinus.sandbox.apiserver.resources import ResourceType
from serinus.sandbox.apiserver.selectors import format_label_selector, parse_labels
from serinus.sandbox.apiserver.status import Cause

_WORKLOADS = frozenset(
    {"deployments.apps", "replicasets.apps", "daemonsets.apps", "statefulsets.apps"}
)


def check(resource: ResourceType, obj: Obj, old: Obj | None) -> list[Cause]:
    """The built-in rules users trip over: workloads, pods and services."""
    if resource.resource == "statefulsets.apps":
        return _check_workload(obj, old) + _check_statefulset_update(obj, old)
    if resource.resource in _WORKLOADS:
        return _check_workload(obj, old)
    if resource.resource == "pods":
        return _check_containers(dig(obj, ("spec",)), "spec") + _check_pod_update(obj, old)
    if resource.storage == "events":
        return _check_event(resource, obj)
    if resource.resource == "services":
        return _check_service(obj, old)
    return []


def _check_workload(obj: Obj, old: Obj | None) -> list[Cause]:
    causes: list[Cause] = []
    selector = dig(obj, ("spec", "selector"))
    labels = dig(obj, ("spec", "template", "metadata", "labels")) or {}
    replicas = dig(obj, ("spec", "replicas"))
    if replicas is not None and (isinstance(replicas, bool) or not isinstance(replicas, int)):
        causes.append(
            Cause(
                "spec.replicas",
                "FieldValueTypeInvalid",
                f"Invalid value: {json.dumps(replicas)}: must be an integer",
            )
        )
    elif isinstance(replicas, int) and replicas < 0:
        causes.append(
            Cause(
                "spec.replicas",
                "FieldValueInvalid",
                f"Invalid value: {replicas}: must be greater than or equal to 0",
            )
        )
    if not isinstance(selector, dict) or not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    ):
        causes.append(Cause("spec.selector", "FieldValueRequired", "Required value"))
    elif not parse_labels(format_label_selector(selector)).matches(
        {"metadata": {"labels": labels}}
    ):
        causes.append(
            Cause(
                "spec.template.metadata.labels",
                "FieldValueInvalid",
                f"Invalid value: {json.dumps(labels)}: `selector` does not match template `labels`",
            )
        )
    if old is not None and dig(old, ("spec", "selector")) != selector:
        causes.append(
            Cause(
                "spec.selector",
                "FieldValueInvalid",
                f"Invalid value: {json.dumps(selector)}: field is immutable",
            )
        )
    causes.extend(_check_containers(dig(obj, ("spec", "template", "spec")), "spec.template.spec"))
    return causes


_STATEFULSET_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)
"""What an update may change in a StatefulSet's spec (the rest is fixed at creation)."""


def _check_statefulset_update(obj: Obj, old: Obj | None) -> list[Cause]:
    if old is None:
        return []

    def fixed(found: Obj) -> dict[str, object]:
        spec = as_map(found.get("spec"))
        return {k: v for k, v in spec.items() if k not in _STATEFULSET_MUTABLE and k != "selector"}

    if fixed(obj) == fixed(old):
        return []
    return [
        Cause(
            "spec",
            "FieldValueForbidden",
            "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals',"
            " 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and"
            " 'minReadySeconds' are forbidden",
        )
    ]


def _check_containers(spec: object, path: str) -> list[Cause]:
    containers = spec.get("containers") if isinstance(spec, dict) else None
    if not isinstance(containers, list) or not containers:
        return [Cause(f"{path}.containers", "FieldValueRequired", "Required value")]
    causes = []
    for index, container in enumerate(containers):
        for key in ("name", "image"):
            if not isinstance(container, dict) or not container.get(key):
                causes.append(
                    Cause(
                        f"{path}.containers[{index}].{key}", "FieldValueRequired", "Required value"
                    )
                )
    return causes


def _check_service(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = as_map(obj.get("spec"))
    causes = []
    headless = spec.get("clusterIP") == "None"
    ports = spec.get("ports") if isinstance(spec.get("ports"), list) else None
    if spec.get("type") != "ExternalName" and not headless and not ports:
        causes.append(Cause("spec.ports", "FieldValueRequired", "Required value"))
    for index, port in enumerate(ports or []):
        number = port.get("port") if isinstance(port, dict) else None
        if not isinstance(number, int) or not 0 < number < 65536:
            causes.append(
                Cause(
                    f"spec.ports[{index}].port",
                    "FieldValueInvalid",
                    f"Invalid value: {json.dumps(number)}: must be between 1 and 65535, inclusive",
                )
            )
    old_ip = dig(old, ("spec", "clusterIP")) if old is not None else None
    if old_ip and spec.get("clusterIP") and spec.get("clusterIP") != old_ip:
        causes.append(
            Cause(
                "spec.clusterIP",
                "FieldValueInvalid",
                f'Invalid value: "{spec.get("clusterIP")}": field is immutable',
            )
        )
    return causes


_POD_MUTABLE = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds")


def _pod_fixed(spec: object) -> object:
    """A pod spec without what an update may change (images and a few scheduling fields)."""
    if not isinstance(spec, dict):
        return spec
    fixed = {k: v for k, v in spec.items() if k not in _POD_MUTABLE}
    for key in ("containers", "initContainers"):
        if isinstance(spec.get(key), list):
            fixed[key] = [
                {k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c
                for c in spec[key]
            ]
    return fixed


def _check_pod_update(obj: Obj, old: Obj | None) -> list[Cause]:
    if old is None or _pod_fixed(obj.get("spec")) == _pod_fixed(old.get("spec")):
        return []
    return [
        Cause(
            "spec",
            "FieldValueForbidden",
            "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
            "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
            "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
            "(allow it to be set to 1 if it was previously negative)",
        )
    ]


def _check_event(resource: ResourceType, obj: Obj) -> list[Cause]:
    about = "regarding" if resource.group else "involvedObject"
    namespace = dig(obj, (about, "namespace"))
    own = metadata(obj).get("namespace")
    if namespace and namespace != own:
        return [
            Cause(
                f"{about}.namespace",
                "FieldValueInvalid",
                f'Invalid value: "{namespace}": does not match event.namespace',
            )
        ]
    return []
