"""The OpenAPI schemas of what the server serves, for ``kubectl explain`` and other clients.

Built-in kinds take their schemas (descriptions, required fields, list and patch extensions,
group-version-kinds) from the Kubernetes definitions the ``kubernetes-validate`` package ships,
for the Kubernetes version the server reports; custom resources from their CRD's
``openAPIV3Schema``, with ``apiVersion``, ``kind`` and ``metadata`` added as the real server adds
them. ``document_schemas`` gives the schemas one group-version's OpenAPI v3 document carries (its
kinds and everything they reference); ``definitions`` the whole set for ``/openapi/v2``.

``kubernetes-validate`` is optional (the ``sandbox`` extra): without it, built-in kinds have no
schema, ``kubectl explain`` finds none for them and says so, and everything else works.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import pathlib
from typing import Any

from serinus.sandbox.apiserver.objects import Obj
from serinus.sandbox.apiserver.resources import Registry, ResourceType

_KUBERNETES = "v1.32.0"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1"
_INT_OR_STRING = {"type": "string", "format": "int-or-string", "x-kubernetes-int-or-string": True}


@functools.cache
def _builtin_definitions() -> dict[str, Obj]:
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or spec.origin is None:
        return {}
    folder = pathlib.Path(spec.origin).parent / "kubernetes-json-schema"
    chosen = folder / f"{_KUBERNETES}-local" / "_definitions.json"
    if not chosen.is_file():
        versions = sorted(folder.glob("v*-local/_definitions.json"))
        if not versions:
            return {}
        chosen = versions[-1]
    raw: dict[str, Any] = json.loads(chosen.read_text())["$defs"]
    return {name: _openapi(schema) for name, schema in raw.items()}


def _openapi(node: Any, prefix: str = "#/components/schemas/") -> Any:
    """A JSON-schema node of kubernetes-validate as an OpenAPI one (refs, nullable types)."""
    if isinstance(node, list):
        return [_openapi(item, prefix) for item in node]
    if not isinstance(node, dict):
        return node
    if "oneOf" in node and all(isinstance(o, dict) and "type" in o for o in node["oneOf"]):
        return {**{k: v for k, v in node.items() if k != "oneOf"}, **_INT_OR_STRING}
    result: Obj = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            result[key] = prefix + value.rsplit("/", 1)[-1]
        elif key == "type" and isinstance(value, list):
            kept = [t for t in value if t != "null"]
            result[key] = kept[0] if len(kept) == 1 else kept
        elif key == "enum" and isinstance(value, list) and len(value) == 1:
            continue  # kubernetes-validate pins apiVersion/kind; the API's schemas do not
        elif key == "properties" and isinstance(value, dict):
            result[key] = {name: _openapi(child, prefix) for name, child in value.items()}
        else:
            result[key] = _openapi(value, prefix)
    return result


def schema_name(resource: ResourceType) -> str:
    """``io.k8s.api.apps.v1.Deployment``, or ``app.flagger.v1beta1.Canary`` for a CRD's kind."""
    if resource.custom:
        reversed_group = ".".join(reversed(resource.group.split(".")))
        return f"{reversed_group}.{resource.version}.{resource.kind}"
    for name, schema in _builtin_definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            if (gvk.get("group"), gvk.get("version"), gvk.get("kind")) == (
                resource.group,
                resource.version,
                resource.kind,
            ):
                return name
    return ""


def _custom(resource: ResourceType) -> Obj:
    schema = dict(resource.schema or {"type": "object"})
    properties = dict(schema.get("properties") or {})
    properties.setdefault("apiVersion", {"type": "string", "description": _API_VERSION})
    properties.setdefault("kind", {"type": "string", "description": _KIND})
    properties["metadata"] = {
        "allOf": [{"$ref": f"#/components/schemas/{_META}.ObjectMeta"}],
        "description": "Standard object's metadata.",
    }
    schema["properties"] = properties
    schema["x-kubernetes-group-version-kind"] = [
        {"group": resource.group, "version": resource.version, "kind": resource.kind}
    ]
    return schema


_API_VERSION = "APIVersion defines the versioned schema of this representation of an object."
_KIND = "Kind is a string value representing the REST resource this object represents."


def _references(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str):
            found.add(reference.rsplit("/", 1)[-1])
        for value in node.values():
            _references(value, found)
    elif isinstance(node, list):
        for value in node:
            _references(value, found)


def _closure(roots: dict[str, Obj]) -> dict[str, Obj]:
    known = _builtin_definitions()
    result = dict(roots)
    pending: set[str] = set()
    for schema in roots.values():
        _references(schema, pending)
    while pending:
        name = pending.pop()
        if name in result or name not in known:
            continue
        result[name] = known[name]
        _references(known[name], pending)
    return dict(sorted(result.items()))


def document_schemas(registry: Registry, group: str, version: str) -> dict[str, Obj]:
    """The ``components.schemas`` of one group-version's OpenAPI v3 document."""
    roots: dict[str, Obj] = {}
    known = _builtin_definitions()
    for resource in registry.resources(group, version):
        name = schema_name(resource)
        if resource.custom:
            roots[name] = _custom(resource)
        elif name in known:
            roots[name] = known[name]
    return _closure(roots)


def definitions(registry: Registry) -> dict[str, Obj]:
    """Every schema, with OpenAPI v2 references (``/openapi/v2``'s ``definitions``)."""
    found: dict[str, Obj] = dict(_builtin_definitions())
    for resource in registry.all():
        if resource.custom:
            found[schema_name(resource)] = _custom(resource)
    text = json.dumps(found).replace('"#/components/schemas/', '"#/definitions/')
    loaded: dict[str, Obj] = json.loads(text)
    return loaded
