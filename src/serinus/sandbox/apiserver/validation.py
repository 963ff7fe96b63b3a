"""Checks a write must pass: the body fits the URL, metadata is well formed, built-ins make sense.

Two kinds of refusal, as on a real cluster: a body that does not fit the request (wrong kind or
apiVersion, a name or namespace that differs from the URL) is a 400 BadRequest; an object that is
well addressed but wrong (a bad name, a label that is not a label, a Deployment whose selector does
not match its template, a changed immutable field) is a 422 Invalid listing every cause. Custom
resources are checked against their schema in ``schema``; built-ins get the handful of rules below,
the ones a user or the operator is likely to trip over.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from serinus.sandbox.apiserver.objects import Obj, as_map, dig, metadata
from serinus.sandbox.apiserver.resources import ResourceType
from serinus.sandbox.apiserver.selectors import format_label_selector, parse_labels
from serinus.sandbox.apiserver.status import Cause, bad_request

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_NAMED = frozenset({"namespaces", "services"})
_PATH_NAMED = frozenset({"rbac.authorization.k8s.io"})
_WORKLOADS = frozenset(
    {"deployments.apps", "replicasets.apps", "daemonsets.apps", "statefulsets.apps"}
)
_OBJECT_META = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
_SUBDOMAIN_HELP = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_KEY_HELP = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character"
)
_VALUE_HELP = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character"
)
_LABEL_HELP = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


def check_body(resource: ResourceType, body: object, *, apply: bool = False) -> Obj:
    """The request body as an object of this resource's kind; 400 when it is not one."""
    if not isinstance(body, dict):
        raise bad_request(f"the body of the request is not a {resource.kind} object")
    kind, version = body.get("kind"), body.get("apiVersion")
    if apply and (not kind or not version):
        raise bad_request(f"invalid object type: {version or ''}, Kind={kind or ''}")
    if kind and kind != resource.kind:
        raise bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({resource.kind})"
        )
    if version and version != resource.api_version:
        raise bad_request(
            f"the API version in the data ({version}) does not match the expected API version "
            f"({resource.api_version})"
        )
    problem = _shape_problem(resource, body)
    if problem:
        raise bad_request(
            f'{resource.kind} in version "{resource.version}" cannot be handled '
            f"as a {resource.kind}: {problem}"
        )
    return body


def _shape_problem(resource: ResourceType, body: Obj) -> str:
    """What makes the body undecodable as its kind (a field of the wrong JSON type)."""
    objects = ["metadata"] if resource.custom else ["metadata", "spec", "status"]
    for key in objects:
        if key in body and body[key] is not None and not isinstance(body[key], dict):
            return f"{key} must be an object, got {json.dumps(body[key])[:60]}"
    meta = body.get("metadata")
    if isinstance(meta, dict):
        problem = _metadata_shape(meta)
        if problem:
            return problem
    if resource.resource in ("configmaps", "secrets"):
        for key in ("data", "binaryData", "stringData"):
            value = body.get(key)
            if value is not None and not (
                isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
            ):
                return f"{key} must be a map of strings"
    if resource.resource == "secrets":
        for key, value in as_map(body.get("data")).items():
            try:
                base64.b64decode(str(value), validate=True)
            except binascii.Error:
                return f"illegal base64 data in data[{key!r}]"
    return ""


def _metadata_shape(meta: Obj) -> str:
    for key in ("name", "generateName", "namespace", "resourceVersion", "uid"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            return f"metadata.{key} must be a string"
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value is not None and not (
            isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        ):
            return f"metadata.{key} must be a map of strings"
    for key, item_type in (("ownerReferences", dict), ("finalizers", str), ("managedFields", dict)):
        value = meta.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, item_type) for v in value)
        ):
            return f"metadata.{key} must be a list"
    return ""


def check_address(resource: ResourceType, obj: Obj, *, namespace: str, name: str | None) -> None:
    """The object's namespace and name agree with the URL (filling in the namespace)."""
    meta = metadata(obj)
    if resource.namespaced:
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    if name is not None:
        if meta.get("name") and meta["name"] != name:
            raise bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL "
                f"({name})"
            )
        meta["name"] = name


def unknown_metadata(obj: Obj) -> list[str]:
    """Metadata fields ObjectMeta does not have (pruned, or refused in strict mode)."""
    return [f"metadata.{key}" for key in metadata(obj) if key not in _OBJECT_META]


def check_metadata(resource: ResourceType, obj: Obj) -> list[Cause]:
    """Name, labels, annotations, owner references and finalizers (shapes are checked before)."""
    meta = metadata(obj)
    causes = _check_name(resource, str(meta.get("name") or ""))
    for field in ("labels", "annotations"):
        causes += _check_pairs(field, as_map(meta.get(field)))
    for index, reference in enumerate(meta.get("ownerReferences") or []):
        causes += [
            Cause(
                f"metadata.ownerReferences[{index}].{key}", "FieldValueRequired", "Required value"
            )
            for key in ("apiVersion", "kind", "name", "uid")
            if not isinstance(reference, dict) or not reference.get(key)
        ]
    causes += [
        Cause(
            f"metadata.finalizers[{index}]",
            "FieldValueInvalid",
            f"Invalid value: {json.dumps(finalizer)}: must be a qualified name",
        )
        for index, finalizer in enumerate(meta.get("finalizers") or [])
        if not isinstance(finalizer, str) or not finalizer
    ]
    return causes


def _check_pairs(field: str, values: Obj) -> list[Cause]:
    causes = []
    for key, value in values.items():
        if not _qualified_key(key):
            causes.append(
                Cause(
                    f"metadata.{field}", "FieldValueInvalid", f'Invalid value: "{key}": {_KEY_HELP}'
                )
            )
        if field == "labels" and (len(str(value)) > 63 or not _LABEL_VALUE.match(str(value))):
            causes.append(
                Cause(
                    "metadata.labels",
                    "FieldValueInvalid",
                    f'Invalid value: "{value}": {_VALUE_HELP}',
                )
            )
    return causes


def _qualified_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_QUALIFIED.match(name))


def _check_name(resource: ResourceType, name: str) -> list[Cause]:
    if not name:
        return [
            Cause(
                "metadata.name",
                "FieldValueRequired",
                "Required value: name or generateName is required",
            )
        ]
    if resource.group in _PATH_NAMED:
        if name in (".", "..") or "/" in name or "%" in name:
            return [
                Cause(
                    "metadata.name",
                    "FieldValueInvalid",
                    f"Invalid value: \"{name}\": may not contain '/' or '%'",
                )
            ]
        return []
    if resource.resource in _LABEL_NAMED:
        if len(name) > 63 or not _LABEL.match(name):
            return [
                Cause(
                    "metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {_LABEL_HELP}'
                )
            ]
        return []
    if len(name) > 253 or not _SUBDOMAIN.match(name):
        return [
            Cause(
                "metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {_SUBDOMAIN_HELP}'
            )
        ]
    return []


def check_builtin(resource: ResourceType, obj: Obj, old: Obj | None) -> list[Cause]:
    """The built-in rules users trip over: workloads, pods and services."""
    if resource.resource in _WORKLOADS:
        return _check_workload(obj, old)
    if resource.resource == "pods":
        return _check_containers(dig(obj, ("spec",)), "spec")
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
