"""PATCH: the four patch types, chosen by Content-Type, then the shared update pipeline.

* ``application/json-patch+json``: RFC 6902 operations; the body must be a list (400 otherwise),
  and a failing operation is 422, as on the real server.
* ``application/merge-patch+json``: RFC 7386.
* ``application/strategic-merge-patch+json``: built-in kinds only; custom resources answer 415,
  which kubectl turns into its hint to use ``--type=merge``.
* ``application/apply-patch+yaml``: server-side apply (``apply``), which creates the object when it
  is missing (201) and requires a ``fieldManager``.

The patched object then goes through :func:`serinus.sandbox.apiserver.writes.commit_update`, so a
patch obeys the same subresource, resourceVersion and validation rules as a PUT.
"""

from __future__ import annotations

from typing import Any

import jsonpatch
import yaml

from serinus.sandbox.apiserver import ownership, validation, writes
from serinus.sandbox.apiserver.apply import server_side_apply
from serinus.sandbox.apiserver.cluster import Cluster
from serinus.sandbox.apiserver.merge import merge_patch, strategic_merge
from serinus.sandbox.apiserver.objects import Obj
from serinus.sandbox.apiserver.queries import decode_json
from serinus.sandbox.apiserver.resources import ResourceType
from serinus.sandbox.apiserver.status import (
    ApiError,
    bad_request,
    not_found,
    unsupported_media_type,
)

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)


def patch_type(resource: ResourceType, content_type: str) -> str:
    """The patch type of a request; 415 for an unknown one or strategic merge on a CR."""
    kind = content_type.split(";")[0].strip().lower()
    accepted = [t for t in PATCH_TYPES if resource.strategic or t != STRATEGIC_PATCH]
    if kind not in accepted:
        raise unsupported_media_type(kind, accepted)
    return kind


def decode(kind: str, raw: bytes) -> Any:
    """The patch document; 400 when it is not the shape its type requires."""
    try:
        body = yaml.safe_load(raw) if kind == APPLY_PATCH else decode_json(raw or b"null")
    except (ValueError, yaml.YAMLError) as error:
        raise bad_request(f"error decoding patch: {error}") from error
    if kind == JSON_PATCH and not isinstance(body, list):
        found = type(body).__name__ if body is not None else "null"
        raise bad_request(f"json: cannot unmarshal {found} into Go value of type jsonpatch.Patch")
    if kind != JSON_PATCH and not isinstance(body, dict):
        raise bad_request("error decoding patch: the patch must be a JSON object")
    return body


def apply_to(kind: str, base: Obj, body: Any) -> Obj:
    """``base`` with a (non-apply) patch applied; 422 when a JSON patch operation fails."""
    if kind == MERGE_PATCH:
        patched: Obj = merge_patch(base, body)
        return patched
    if kind == STRATEGIC_PATCH:
        merged: Obj = strategic_merge(base, body)
        return merged
    try:
        result = jsonpatch.apply_patch(base, body)
    except (
        jsonpatch.JsonPatchException,
        jsonpatch.JsonPointerException,
        KeyError,
        IndexError,
        TypeError,
        ValueError,
    ) as error:
        raise ApiError(422, "Invalid", f"the patch could not be applied: {error}") from error
    if not isinstance(result, dict):
        raise ApiError(422, "Invalid", "the patch did not produce an object")
    return result


def patch(
    cluster: Cluster,
    resource: ResourceType,
    namespace: str,
    name: str,
    *,
    content_type: str,
    raw: bytes,
    options: writes.WriteOptions,
    subresource: str = "",
    force: bool = False,
) -> writes.Written:
    """PATCH an object or its status subresource."""
    kind = patch_type(resource, content_type)
    body = decode(kind, raw)
    if kind == APPLY_PATCH:
        return _apply(cluster, resource, namespace, name, body, options, subresource, force)
    stored = cluster.get(resource, namespace, name)
    patched = apply_to(kind, cluster.served(resource, stored), body)
    validation.check_body(resource, patched)
    validation.check_address(resource, patched, namespace=namespace, name=name)
    writes.check_version(resource, stored, patched, required=False)
    return writes.commit_update(
        cluster, resource, stored, patched, options, subresource=subresource
    )


def _apply(
    cluster: Cluster,
    resource: ResourceType,
    namespace: str,
    name: str,
    body: Obj,
    options: writes.WriteOptions,
    subresource: str,
    force: bool,
) -> writes.Written:
    if not options.field_manager:
        raise bad_request("PATCH requests of type apply must specify a fieldManager")
    config = validation.check_body(resource, body, apply=True)
    validation.check_address(resource, config, namespace=namespace, name=name)
    stored = cluster.find(resource, namespace, name)

    def applied(live: Obj | None) -> Obj:
        return server_side_apply(
            live,
            config,
            manager=options.field_manager,
            force=force,
            api_version=resource.api_version,
            rule=ownership.list_rule(resource),
            subresource=subresource,
        )

    if stored is None:
        if subresource:
            raise not_found(resource.group, resource.plural, name)
        return writes.create(cluster, resource, namespace, applied(None), options, managed=True)
    merged = applied(cluster.served(resource, stored))
    writes.check_version(resource, stored, merged, required=False)
    return writes.commit_update(
        cluster, resource, stored, merged, options, subresource=subresource, managed=True
    )
