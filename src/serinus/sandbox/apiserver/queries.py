"""What a request asks for: query parameters, bodies, write and delete options.

The real server is lenient about parameters it does not know (kubectl adds ``timeout=32s`` to
discovery calls) and strict about the ones it does: a malformed number, an unknown
``fieldValidation`` or ``propagationPolicy``, a bad ``continue`` token or an undecodable body is a
400 BadRequest naming what was wrong. Bodies are JSON, YAML or Kubernetes' protobuf (``protobuf``:
kubectl's typed commands, Helm's release Secrets).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
import yaml
from aiohttp import web

from serinus.sandbox.apiserver import deletion, protobuf, writes
from serinus.sandbox.apiserver.objects import Obj, as_map, copy_value
from serinus.sandbox.apiserver.status import Cause, bad_request, invalid, unsupported_media_type

_BODY_TYPES = ("application/json", "application/yaml")
_VALIDATION = ("Strict", "Warn", "Ignore")
_OPTIONS_KIND = {"POST": "CreateOptions", "PUT": "UpdateOptions", "PATCH": "PatchOptions"}


def number(value: str | None) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(str(value))
    except ValueError:
        raise bad_request(f"invalid number: {value}") from None


async def body(request: web.Request) -> Any:
    content_type = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
    if content_type == protobuf.CONTENT_TYPE:
        return protobuf.decode(await request.read())
    if content_type not in _BODY_TYPES:
        raise unsupported_media_type(content_type, (*_BODY_TYPES, protobuf.CONTENT_TYPE))
    raw = await request.read()
    try:
        if content_type == "application/json":
            return decode_json(raw)
        # a copy: YAML's anchors and aliases give one object several places, and a write
        # changes the body it is given in place
        return copy_value(yaml.safe_load(raw))
    except (ValueError, yaml.YAMLError) as error:
        raise bad_request(f"the request body could not be decoded: {error}") from error


def decode_json(raw: bytes) -> Any:
    """A JSON body as ``json.loads`` reads it, by orjson (several times as fast) where the two
    agree: orjson refuses NaN, the infinities and lone surrogates (the standard library reads
    them, so it reads those bodies, and words the errors) and reads integers beyond 64 bits as
    floats (a body with a run of 19 digits goes to the standard library)."""
    if _LONG_NUMBER.search(raw) is None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw)


_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def write_options(request: web.Request) -> writes.WriteOptions:
    query = request.query
    validation = query.get("fieldValidation") or "Warn"
    if validation not in _VALIDATION:
        raise bad_request(
            f"fieldValidation must be one of {', '.join(_VALIDATION)}, got {validation!r}"
        )
    return writes.WriteOptions(
        dry_run=dry_run(query.getall("dryRun", []), _OPTIONS_KIND.get(request.method, "")),
        field_validation=validation,
        field_manager=query.get("fieldManager") or "",
        user_agent=request.headers.get("User-Agent", ""),
    )


async def delete_options(request: web.Request) -> deletion.DeleteOptions:
    body: Obj = {}
    if request.can_read_body:
        raw = await request.read()
        if request.headers.get("Content-Type", "").startswith(protobuf.CONTENT_TYPE):
            body = protobuf.decode(raw)
        elif raw.strip():
            try:
                body = as_map(json.loads(raw))
            except ValueError as error:
                raise bad_request(f"invalid DeleteOptions: {error}") from error
    policy = request.query.get("propagationPolicy") or body.get("propagationPolicy")
    if policy is None and body.get("orphanDependents") is not None:
        policy = "Orphan" if body["orphanDependents"] else "Background"
    if policy not in (None, "Background", "Foreground", "Orphan"):
        raise bad_request(f"propagationPolicy: Unsupported value: {policy!r}")
    preconditions = as_map(body.get("preconditions"))
    values = [*request.query.getall("dryRun", []), *(body.get("dryRun") or [])]
    return deletion.DeleteOptions(
        propagation=policy,
        uid=preconditions.get("uid"),
        resource_version=preconditions.get("resourceVersion"),
        dry_run=dry_run(values, "DeleteOptions"),
    )


def dry_run(values: list[str], kind: str) -> bool:
    """Whether ``dryRun`` asks for a dry run; 422 for any value but ``All``, as the real server
    validates its Create/Update/Patch/DeleteOptions."""
    wrong = [value for value in values if value != "All"]
    if wrong:
        listed = ", ".join(json.dumps(value) for value in values)
        raise invalid(
            "meta.k8s.io",
            kind or "CreateOptions",
            "",
            [
                Cause(
                    "dryRun",
                    "FieldValueNotSupported",
                    f'Unsupported value: []string{{{listed}}}: supported values: "All"',
                )
            ],
        )
    return bool(values)
