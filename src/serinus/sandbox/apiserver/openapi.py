"""The OpenAPI v3 documents kubectl needs to validate on the server side.

kubectl validates by default (``--validate=strict``). If ``/openapi/v3`` lists a group-version
whose document has a PATCH operation for the kind, with a ``fieldValidation`` parameter, kubectl
leaves validation to the server and sends ``fieldValidation=Strict``; otherwise it wants the
protobuf ``/openapi/v2`` (this server answers JSON) and refuses to apply. So every served
group-version gets a document with its paths, that parameter, and the schemas of its kinds
(``schemas``), which ``kubectl explain`` reads. The ``hash`` in each URL changes with the
document, which makes kubectl's cache pick up newly served CRDs.
"""

from __future__ import annotations

import hashlib
import json

from serinus.sandbox.apiserver import schemas
from serinus.sandbox.apiserver.objects import Obj
from serinus.sandbox.apiserver.resources import Registry, ResourceType

_PARAMETERS = [
    {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
]


def prefix(group: str, version: str) -> str:
    """``api/v1`` or ``apis/<group>/<version>``: the key of a document in ``/openapi/v3``."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def document(registry: Registry, group: str, version: str) -> Obj | None:
    resources = registry.resources(group, version)
    if not resources:
        return None
    paths: Obj = {}
    for resource in resources:
        collection, item = _paths(resource)
        operation: Obj = {
            "x-kubernetes-group-version-kind": {
                "group": resource.group,
                "version": resource.version,
                "kind": resource.kind,
            },
            "parameters": _PARAMETERS,
            "responses": {"200": {"description": "OK"}},
        }
        paths[collection] = {"post": {**operation, "x-kubernetes-action": "post"}}
        paths[item] = {
            "patch": {**operation, "x-kubernetes-action": "patch"},
            "put": {**operation, "x-kubernetes-action": "put"},
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.4"},
        "paths": paths,
        "components": {"schemas": schemas.document_schemas(registry, group, version)},
    }


def swagger(registry: Registry) -> Obj:
    """``/openapi/v2`` as JSON: every schema under ``definitions`` (no paths)."""
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.32.4"},
        "paths": {},
        "definitions": schemas.definitions(registry),
    }


def _paths(resource: ResourceType) -> tuple[str, str]:
    root = "/" + prefix(resource.group, resource.version)
    scope = "/namespaces/{namespace}" if resource.namespaced else ""
    collection = f"{root}{scope}/{resource.plural}"
    return collection, f"{collection}/{{name}}"


def index(registry: Registry) -> Obj:
    """``/openapi/v3``: each group-version's document URL, hashed by content."""
    paths: Obj = {}
    for group, versions in registry.groups():
        for version in versions:
            doc = document(registry, group, version)
            digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]
            key = prefix(group, version)
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest.upper()}"}
    return {"paths": paths}
