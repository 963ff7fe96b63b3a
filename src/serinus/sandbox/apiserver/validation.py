"""Checks every write must pass: the body fits the URL and its kind, and metadata is well formed.

Two kinds of refusal, as on a real cluster: a body that does not fit the request (wrong kind or
apiVersion, a name or namespace that differs from the URL, a field of the wrong JSON type) is a
400 BadRequest; an object that is well addressed but wrong (a bad name, a label that is not a
label, an owner reference without a uid) is a 422 Invalid listing every cause. The rules of
particular kinds live in ``rules`` (built-ins) and ``schema`` (custom resources).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re

from serinus.sandbox.apiserver.objects import Obj, as_map, metadata
from serinus.sandbox.apiserver.resources import ResourceType
from serinus.sandbox.apiserver.status import Cause, bad_request

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_NAMED = frozenset({"namespaces", "services"})
_PATH_NAMED = frozenset({"rbac.authorization.k8s.io"})
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


@functools.lru_cache(maxsize=4096)
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
