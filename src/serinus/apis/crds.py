"""CustomResourceDefinitions generated from the models.

One source of truth: the pydantic models (and their field docstrings) become the OpenAPI v3 schemas
of ``deploy/crds/``, so the CRDs can never drift from what the operator accepts. Kubernetes wants
*structural* schemas: no ``$ref``, no ``anyOf`` with null, a ``type`` on every node; this module
inlines and simplifies pydantic's JSON schema into that form. ``tests/apis/test_crds.py`` fails
when the committed YAML differs from what this module generates (``make crds`` rewrites it).
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from pydantic import BaseModel

from serinus.apis.alert_provider import AlertProvider
from serinus.apis.canary import GROUP, VERSIONS, Canary
from serinus.apis.metric_template import MetricTemplate

Schema = dict[str, Any]

_CANARY_COLUMNS = [
    ("Status", "string", ".status.phase", 0),
    ("Weight", "integer", ".status.canaryWeight", 0),
    ("FailedChecks", "integer", ".status.failedChecks", 0),
    ("Suspended", "boolean", ".spec.suspend", 1),
    ("Interval", "string", ".spec.analysis.interval", 1),
    ("Mirror", "boolean", ".spec.analysis.mirror", 1),
    ("StepWeight", "integer", ".spec.analysis.stepWeight", 1),
    ("StepWeights", "string", ".spec.analysis.stepWeights", 1),
    ("MaxWeight", "integer", ".spec.analysis.maxWeight", 1),
    ("LastTransitionTime", "string", ".status.lastTransitionTime", 0),
]


_EXCLUSIVE = {"exclusiveMinimum": "minimum", "exclusiveMaximum": "maximum"}


def structural(model: type[BaseModel]) -> Schema:
    """The model's JSON schema in Kubernetes' structural form."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    definitions = raw.pop("$defs", {})
    simplified: Schema = _simplify(raw, definitions)
    return simplified


def _simplify(node: Any, definitions: dict[str, Schema]) -> Any:
    if isinstance(node, list):
        return [_simplify(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = definitions[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _simplify(merged, definitions)
    if "anyOf" in node:
        return _simplify(_merge_any_of(node, definitions), definitions)
    out: Schema = {}
    for key, value in node.items():
        if key in ("title", "additionalProperties") and not isinstance(value, dict):
            continue
        if key == "default" and value is None:
            continue
        if key == "const":
            out["enum"] = [value]
            continue
        if key in _EXCLUSIVE and isinstance(value, int | float) and not isinstance(value, bool):
            # JSON Schema's numeric bound is OpenAPI v3's bound plus a boolean flag; the API
            # server refuses a CRD with a number there
            out[_EXCLUSIVE[key]] = value
            out[key] = True
            continue
        out[key] = _simplify(value, definitions)
    if "properties" in out:
        out.setdefault("type", "object")
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return out


def _merge_any_of(node: Schema, definitions: dict[str, Schema]) -> Schema:
    """Drops the null branch; merges string enums/consts into one enum."""
    branches = [_simplify(b, definitions) for b in node["anyOf"] if b.get("type") != "null"]
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    if len(branches) == 1:
        return {**branches[0], **rest}
    if all("enum" in b for b in branches):
        values = [v for b in branches for v in b["enum"]]
        return {"type": "string", "enum": values, **rest}
    if {b.get("type") for b in branches} == {"integer", "string"}:
        return {"x-kubernetes-int-or-string": True, **rest}
    return {"x-kubernetes-preserve-unknown-fields": True, **rest}


def _top_level(model: type[BaseModel]) -> Schema:
    schema = structural(model)
    schema["properties"]["metadata"] = {"type": "object"}
    schema["properties"].pop("apiVersion", None)
    schema["properties"].pop("kind", None)
    schema["properties"]["apiVersion"] = {"type": "string"}
    schema["properties"]["kind"] = {"type": "string"}
    schema.pop("description", None)
    schema["required"] = [name for name in schema.get("required", []) if name != "metadata"]
    if not schema["required"]:
        del schema["required"]
    return schema


def _columns(columns: list[tuple[str, str, str, int]]) -> list[Schema]:
    return [
        {"name": name, "type": kind, "jsonPath": path, **({"priority": p} if p else {})}
        for name, kind, path, p in columns
    ]


def _crd(
    model: type[BaseModel],
    *,
    plural: str,
    short_names: list[str],
    columns: list[tuple[str, str, str, int]],
    versions: tuple[str, ...],
    status: bool,
) -> Schema:
    kind = model.model_fields["kind"].default
    schema = _top_level(model)
    version_entries = []
    for index, version in enumerate(versions):
        entry: Schema = {
            "name": version,
            "served": True,
            "storage": index == 0,
            "schema": {"openAPIV3Schema": copy.deepcopy(schema)},
            "additionalPrinterColumns": _columns(columns),
        }
        if status:
            entry["subresources"] = {"status": {}}
        version_entries.append(entry)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short_names,
                "categories": ["all"] if kind == "Canary" else [],
            },
            "scope": "Namespaced",
            "versions": version_entries,
        },
    }


def render(crd: Schema) -> str:
    """The YAML text of a CRD as committed in deploy/crds/."""
    header = "# Generated by `serinus crds` from serinus.apis; edit the models, not this file.\n"
    return header + yaml.safe_dump(crd, sort_keys=False, width=100, allow_unicode=True)


def custom_resource_definitions() -> dict[str, Schema]:
    """File name -> CRD, for the three kinds."""
    return {
        "canaries.yaml": _crd(
            Canary,
            plural="canaries",
            short_names=["canary"],
            columns=_CANARY_COLUMNS,
            versions=VERSIONS,
            status=True,
        ),
        "metrictemplates.yaml": _crd(
            MetricTemplate,
            plural="metrictemplates",
            short_names=["mt"],
            columns=[("Provider", "string", ".spec.provider.type", 0)],
            versions=("v1beta1",),
            status=False,
        ),
        "alertproviders.yaml": _crd(
            AlertProvider,
            plural="alertproviders",
            short_names=[],
            columns=[("Type", "string", ".spec.type", 0)],
            versions=("v1beta1",),
            status=False,
        ),
    }
