"""CustomResourceDefinitions: checking them, and turning them into served resource types.

When a CRD is written, the server plays the apiextensions controller: it fills in the spec
defaults (singular name, list kind, conversion ``None``), sets the status a client waits for
(``NamesAccepted`` and ``Established``, ``acceptedNames``, ``storedVersions``), and serves every
``served`` version with its subresources, printer columns and schema. All versions share one
storage; an object is rewritten to the requested version on read, as conversion ``None`` does.
"""

from __future__ import annotations

import re

from serinus.sandbox.apiserver.objects import Obj, as_map, dig, name_of, now
from serinus.sandbox.apiserver.resources import PrinterColumn, ResourceType, ScaleSpec
from serinus.sandbox.apiserver.schema import apply_schema, check_schema
from serinus.sandbox.apiserver.status import Cause

_AGE = PrinterColumn(
    "Age",
    "date",
    ".metadata.creationTimestamp",
    description="CreationTimestamp is a timestamp representing the server time when this object "
    "was created.",
)
_COLUMN_HELP = "Custom resource definition column (in JSONPath format): "
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def apply_defaults(crd: Obj) -> None:
    """The spec defaults the real server sets on a CRD."""
    spec = crd.get("spec")
    names = spec.get("names") if isinstance(spec, dict) else None
    if not isinstance(spec, dict) or not isinstance(names, dict):
        return  # invalid: check() says why
    kind = names.get("kind")
    if isinstance(kind, str) and kind:
        names.setdefault("singular", kind.lower())
        names.setdefault("listKind", f"{kind}List")
    spec.setdefault("conversion", {"strategy": "None"})


_STRINGS = {"type": "array", "items": {"type": "string"}}
_NAMES: Obj = {
    "type": "object",
    "properties": {
        "plural": {"type": "string"},
        "singular": {"type": "string"},
        "kind": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9]*$"},
        "listKind": {"type": "string"},
        "shortNames": _STRINGS,
        "categories": _STRINGS,
    },
}
_OPEN: Obj = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_VERSION: Obj = {
    "type": "object",
    "x-kubernetes-preserve-unknown-fields": True,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z]([-a-z0-9]*[a-z0-9])?$"},
        "served": {"type": "boolean"},
        "storage": {"type": "boolean"},
        "schema": {"type": "object", "properties": {"openAPIV3Schema": _OPEN}},
        "subresources": {
            "type": "object",
            "properties": {
                "status": _OPEN,
                "scale": {
                    "type": "object",
                    "required": ["specReplicasPath", "statusReplicasPath"],
                    "properties": {
                        "specReplicasPath": {"type": "string"},
                        "statusReplicasPath": {"type": "string"},
                        "labelSelectorPath": {"type": "string"},
                    },
                },
            },
        },
        "additionalPrinterColumns": {
            "type": "array",
            "items": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "required": ["name", "type", "jsonPath"],
                "properties": {
                    "name": {"type": "string"},
                    "type": {"type": "string"},
                    "jsonPath": {"type": "string"},
                    "priority": {"type": "integer"},
                    "format": {"type": "string"},
                    "description": {"type": "string"},
                },
            },
        },
        "selectableFields": {
            "type": "array",
            "items": {"type": "object", "properties": {"jsonPath": {"type": "string"}}},
        },
    },
}
SHAPE: Obj = {
    "type": "object",
    "x-kubernetes-preserve-unknown-fields": True,
    "properties": {
        "spec": {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {
                "group": {"type": "string"},
                "names": _NAMES,
                "scope": {"type": "string"},
                "versions": {"type": "array", "items": _VERSION},
                "conversion": _OPEN,
            },
        },
        "status": _OPEN,
    },
}
"""The parts of a CRD the server reads, with their types (a wrong type is a 422, not a crash)."""


def _boolean_bounds(node: object, path: str) -> list[Cause]:
    """OpenAPI v3's exclusiveMinimum/exclusiveMaximum are booleans (JSON Schema's numbers are
    refused by the real server when it decodes the CRD)."""
    found: list[Cause] = []
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}"
            if key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
                found.append(_invalid(where, str(value), "a boolean (OpenAPI v3)"))
            elif isinstance(value, dict | list):
                found += _boolean_bounds(value, where)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += _boolean_bounds(item, f"{path}[{index}]")
    return found


def check(crd: Obj) -> list[Cause]:
    """What makes a CRD invalid, as 422 causes."""
    causes = apply_schema(SHAPE, crd).causes
    if causes:
        return causes
    spec = as_map(crd.get("spec"))
    for index, version in enumerate(spec.get("versions") or []):
        schema = as_map(as_map(as_map(version).get("schema")).get("openAPIV3Schema"))
        path = f"spec.versions[{index}].schema.openAPIV3Schema"
        causes += _boolean_bounds(schema, path)
    group = str(spec.get("group") or "")
    names = as_map(spec.get("names"))
    plural, kind = str(names.get("plural") or ""), str(names.get("kind") or "")
    if not group:
        causes.append(Cause("spec.group", "FieldValueRequired", "Required value"))
    if not plural:
        causes.append(Cause("spec.names.plural", "FieldValueRequired", "Required value"))
    elif not _DNS_LABEL.match(plural):
        causes.append(_invalid("spec.names.plural", plural, "a lowercase RFC 1123 label"))
    if not kind:
        causes.append(Cause("spec.names.kind", "FieldValueRequired", "Required value"))
    if plural and group and name_of(crd) != f"{plural}.{group}":
        causes.append(
            _invalid("metadata.name", name_of(crd), 'must be spec.names.plural+"."+spec.group')
        )
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(
            Cause(
                "spec.scope",
                "FieldValueNotSupported",
                f'Unsupported value: "{spec.get("scope") or ""}": supported values: '
                '"Cluster", "Namespaced"',
            )
        )
    causes.extend(_check_versions(spec.get("versions")))
    return causes


def _check_versions(versions: object) -> list[Cause]:
    if not isinstance(versions, list) or not versions:
        return [
            Cause(
                "spec.versions",
                "FieldValueInvalid",
                "Invalid value: null: must have exactly one version marked as storage version",
            )
        ]
    causes = []
    storage = [v for v in versions if isinstance(v, dict) and v.get("storage")]
    if len(storage) != 1:
        causes.append(
            Cause(
                "spec.versions",
                "FieldValueInvalid",
                "Invalid value: must have exactly one version marked as storage version",
            )
        )
    seen: set[str] = set()
    for index, version in enumerate(versions):
        name = str(version.get("name") or "") if isinstance(version, dict) else ""
        if not name:
            causes.append(
                Cause(f"spec.versions[{index}].name", "FieldValueRequired", "Required value")
            )
        elif name in seen:
            causes.append(
                Cause(
                    f"spec.versions[{index}].name",
                    "FieldValueDuplicate",
                    f'Duplicate value: "{name}"',
                )
            )
        seen.add(name)
        schema = dig(version, ("schema", "openAPIV3Schema"))
        if isinstance(schema, dict):
            causes += check_schema(schema, f"spec.versions[{index}].schema.openAPIV3Schema")
        else:
            causes.append(
                Cause(
                    f"spec.versions[{index}].schema.openAPIV3Schema",
                    "FieldValueRequired",
                    "Required value: schemas are required",
                )
            )
    return causes


def _invalid(field: str, value: str, why: str) -> Cause:
    return Cause(field, "FieldValueInvalid", f'Invalid value: "{value}": {why}')


def status_for(crd: Obj, *, terminating: bool = False) -> Obj:
    """The status the apiextensions controller would report for this CRD."""
    spec = as_map(crd.get("spec"))
    previous = as_map(crd.get("status"))
    stamp = now()
    conditions = [
        _condition("NamesAccepted", "True", "NoConflicts", "no conflicts found", stamp),
        _condition(
            "Established",
            "True",
            "InitialNamesAccepted",
            "the initial names have been accepted",
            stamp,
        ),
    ]
    if terminating:
        conditions.append(
            _condition(
                "Terminating",
                "True",
                "InstanceDeletionInProgress",
                "CustomResource deletion is in progress",
                stamp,
            )
        )
    old = {c.get("type"): c for c in previous.get("conditions") or [] if isinstance(c, dict)}
    for condition in conditions:
        kept = old.get(condition["type"])
        if kept and kept.get("status") == condition["status"]:
            condition["lastTransitionTime"] = kept.get("lastTransitionTime", stamp)
    stored = list(previous.get("storedVersions") or [])
    for version in spec.get("versions") or []:
        if (
            isinstance(version, dict)
            and version.get("storage")
            and version.get("name") not in stored
        ):
            stored.append(version["name"])
    return {
        "conditions": conditions,
        "acceptedNames": dict(spec.get("names") or {}),
        "storedVersions": stored,
    }


def _condition(kind: str, status: str, reason: str, message: str, stamp: str) -> Obj:
    return {
        "type": kind,
        "status": status,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def resource_types(crd: Obj) -> list[ResourceType]:
    """One served type per ``served: true`` version of a (valid) CRD."""
    spec = crd["spec"]
    names = spec["names"]
    storage = next(v["name"] for v in spec["versions"] if v.get("storage"))
    found = []
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        found.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                kind=names["kind"],
                plural=names["plural"],
                namespaced=spec.get("scope") == "Namespaced",
                singular=names.get("singular") or names["kind"].lower(),
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                status="status" in subresources,
                scale=_scale(subresources.get("scale")),
                generation=True,
                strategic=False,
                custom=True,
                require_resource_version=True,
                storage_version=storage,
                field_labels=frozenset(
                    str(f.get("jsonPath", "")).lstrip(".")
                    for f in version.get("selectableFields") or []
                ),
                printer_columns=_columns(version.get("additionalPrinterColumns")),
                schema=dig(version, ("schema", "openAPIV3Schema")),
            )
        )
    return found


def _scale(declared: object) -> ScaleSpec | None:
    if not isinstance(declared, dict):
        return None
    return ScaleSpec(
        str(declared.get("specReplicasPath") or ".spec.replicas"),
        str(declared.get("statusReplicasPath") or ".status.replicas"),
        declared.get("labelSelectorPath"),
    )


def _columns(declared: object) -> tuple[PrinterColumn, ...]:
    if not isinstance(declared, list) or not declared:
        return (_AGE,)
    return tuple(
        PrinterColumn(
            name=str(column.get("name", "")),
            type=str(column.get("type", "string")),
            json_path=str(column.get("jsonPath", "")),
            priority=int(column.get("priority") or 0),
            format=str(column.get("format") or ""),
            description=str(
                column.get("description") or _COLUMN_HELP + str(column.get("jsonPath"))
            ),
        )
        for column in declared
        if isinstance(column, dict)
    )
