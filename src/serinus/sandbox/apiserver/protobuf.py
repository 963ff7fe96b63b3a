"""Kubernetes' protobuf request bodies (``application/vnd.kubernetes.protobuf``) read as objects.

kubectl's typed commands (``create deployment|configmap|secret|service|namespace|
serviceaccount|token``, ``auth can-i``, ``auth whoami``) and Helm's release storage (Secrets)
send protobuf, not JSON. A body is the magic ``k8s\\x00`` and a ``runtime.Unknown`` envelope
(typeMeta, raw, contentEncoding, contentType) whose ``raw`` is the object's message. The message
is read with the field table in ``protobuf_fields.json`` (generated from kubectl's own compiled
descriptors by ``scripts/protobuf-fields.py``) and turned into the object the same request would
carry as JSON, with the apimachinery types' JSON forms: Time as RFC 3339, IntOrString as a number
or a string, Quantity as its string, RawExtension and FieldsV1 as embedded JSON, ``bytes`` as
base64, maps as objects.

Go's protobuf encoder writes every non-pointer field, zero or not, while its JSON encoder leaves
zero ``omitempty`` fields out; the descriptors do not say which is which. So empty strings, and
zero numbers and false booleans, are left out, except for the pointer fields in
:data:`MEANINGFUL_ZERO`, where an explicit 0 or false says something absence does not (``kubectl
create deployment --replicas=0``). Empty messages stay ``{}`` and a zero Time ``null``, as Go's
JSON writes structs.
"""

from __future__ import annotations

import base64
import datetime
import functools
import importlib.resources
import json
from typing import Any

from serinus.sandbox.apiserver import protowire
from serinus.sandbox.apiserver.objects import Obj
from serinus.sandbox.apiserver.status import ApiError, bad_request, unsupported_media_type

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
_META = "k8s.io.apimachinery.pkg.apis.meta.v1"
MEANINGFUL_ZERO = frozenset(
    {
        "replicas",
        "revisionHistoryLimit",
        "progressDeadlineSeconds",
        "terminationGracePeriodSeconds",
        "activeDeadlineSeconds",
        "backoffLimit",
        "completions",
        "parallelism",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
        "ttlSecondsAfterFinished",
        "startingDeadlineSeconds",
        "automountServiceAccountToken",
        "enableServiceLinks",
        "allocateLoadBalancerNodePorts",
        "hostUsers",
        "allowPrivilegeEscalation",
        "runAsUser",
        "runAsGroup",
        "fsGroup",
        "defaultMode",
        "mode",
        "priority",
        "expirationSeconds",
        "gracePeriodSeconds",
        "minReplicas",
    }
)
"""Pointer fields whose explicit zero (or false) differs from leaving them out."""


@functools.cache
def _table() -> tuple[dict[str, dict[int, tuple[str, str, str | None, bool]]], frozenset[str]]:
    text = importlib.resources.files(__package__).joinpath("protobuf_fields.json").read_text()
    raw: dict[str, Any] = json.loads(text)
    messages = {
        name: {int(n): (str(f), str(k), t, bool(r)) for n, f, k, t, r in entry["fields"]}
        for name, entry in raw.items()
    }
    maps = frozenset(name for name, entry in raw.items() if entry.get("map"))
    return messages, maps


def message_name(api_version: str, kind: str) -> str:
    """The protobuf message of a kind: ``k8s.io.api.apps.v1.Deployment`` for apps/v1."""
    group, _, version = api_version.rpartition("/")
    if kind == "DeleteOptions" or group == "meta.k8s.io":
        return f"{_META}.{kind}"
    package = group.split(".")[0] if group else "core"
    return f"k8s.io.api.{package}.{version}.{kind}"


def decode(raw: bytes) -> Obj:
    """A protobuf request body as the JSON object it stands for.

    Raises:
        ApiError: 400 for a body that is not a Kubernetes protobuf envelope, 415 for a kind the
            server cannot read from protobuf (custom resources, as on a real server).
    """
    if not raw.startswith(MAGIC):
        raise bad_request("the protobuf body does not start with the Kubernetes magic k8s\\x00")
    try:
        envelope = {f.number: f.value for f in protowire.fields(raw[len(MAGIC) :])}
        type_meta = envelope.get(1, b"")
        meta = {f.number: f.value for f in protowire.fields(_bytes(type_meta))}
        api_version, kind = _text(meta.get(1, b"")), _text(meta.get(2, b""))
        encoding = _text(envelope.get(3, b""))
        if encoding:
            raise bad_request(f"unsupported contentEncoding {encoding!r} in a protobuf body")
        name = message_name(api_version, kind)
        if name not in _table()[0]:
            raise unsupported_media_type(CONTENT_TYPE, ("application/json", "application/yaml"))
        body = _message(name, _bytes(envelope.get(2, b"")))
    except (protowire.WireError, UnicodeDecodeError, ValueError) as error:
        if isinstance(error, ApiError):
            raise
        raise bad_request(f"the protobuf body could not be decoded: {error}") from error
    return {"apiVersion": api_version, "kind": kind, **body}


def _bytes(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise protowire.WireError("expected a length-delimited field")
    return value


def _int(value: int | bytes) -> int:
    if isinstance(value, bytes):
        raise protowire.WireError("expected a varint field")
    return value


def _text(value: int | bytes) -> str:
    return _bytes(value).decode()


_SPECIAL = {
    f"{_META}.Time",
    f"{_META}.MicroTime",
    f"{_META}.Duration",
    f"{_META}.FieldsV1",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
    "k8s.io.apimachinery.pkg.api.resource.Quantity",
    "k8s.io.apimachinery.pkg.runtime.RawExtension",
}


def _message(name: str, data: bytes) -> Obj:
    messages, maps = _table()
    schema = messages[name]
    result: Obj = {}
    for field in protowire.fields(data):
        known = schema.get(field.number)
        if known is None:
            continue  # a field newer than our table: skipped, as proto2 readers do
        key, kind, type_name, repeated = known
        if repeated and type_name in maps and isinstance(field.value, bytes):
            entry = _map_entry(type_name, field.value)
            result.setdefault(key, {})[entry[0]] = entry[1]
        elif repeated:
            result.setdefault(key, []).extend(_values(kind, type_name, field))
        else:
            result[key] = _value(kind, type_name, field)
    return {key: value for key, value in result.items() if _kept(key, value)}


def _kept(key: str, value: Any) -> bool:
    if value == "" or value == []:
        return False
    if isinstance(value, bool | int | float) and not value:
        return key in MEANINGFUL_ZERO
    return True


def _map_entry(type_name: str, data: bytes) -> tuple[str, Any]:
    schema = _table()[0][type_name]
    found: dict[str, Any] = {"key": "", "value": None}
    for field in protowire.fields(data):
        key, kind, nested, _ = schema[field.number]
        found[key] = _value(kind, nested, field)
    value = found["value"]
    if value is None:
        value = "" if schema[2][1] in ("string", "bytes") else {}
    return str(found["key"]), value


def _values(kind: str, type_name: str | None, field: protowire.Field) -> list[Any]:
    if kind not in ("string", "bytes", "message") and isinstance(field.value, bytes):
        if kind in ("double", "fixed64", "sfixed64", "float", "fixed32", "sfixed32"):
            width = 8 if kind in ("double", "fixed64", "sfixed64") else 4
            chunks = [field.value[i : i + width] for i in range(0, len(field.value), width)]
            return [protowire.fixed(chunk, kind) for chunk in chunks]
        return [_scalar(kind, v) for v in protowire.packed_varints(field.value)]
    return [_value(kind, type_name, field)]


def _value(kind: str, type_name: str | None, field: protowire.Field) -> Any:
    value = field.value
    if kind == "message" and type_name is not None:
        data = _bytes(value)
        return _special(type_name, data) if type_name in _SPECIAL else _message(type_name, data)
    if kind == "string":
        return _text(value)
    if kind == "bytes":
        return base64.b64encode(_bytes(value)).decode()
    if isinstance(value, bytes):
        return protowire.fixed(value, kind)
    return _scalar(kind, value)


def _scalar(kind: str, value: int) -> Any:
    if kind == "bool":
        return bool(value)
    if kind in ("int32", "int64"):
        return protowire.signed(value)
    if kind in ("sint32", "sint64"):
        return protowire.zigzag(value)
    return value


def _special(type_name: str, data: bytes) -> Any:
    values = {f.number: f.value for f in protowire.fields(data)}
    short = type_name.rsplit(".", 1)[-1]
    if short in ("Time", "MicroTime"):
        if not values:
            return None  # Go's zero time: null in JSON (``creationTimestamp: null`` in templates)
        seconds = protowire.signed(_int(values.get(1, 0)))
        nanos = _int(values.get(2, 0))
        moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
        if short == "MicroTime":
            micros = f"{nanos // 1000:06d}"
            return moment.strftime("%Y-%m-%dT%H:%M:%S.") + micros + "Z"
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if short == "Duration":
        return _duration(protowire.signed(_int(values.get(1, 0))))
    if short == "IntOrString":
        if _int(values.get(1, 0)) == 1:
            return _text(values.get(3, b""))
        return protowire.signed(_int(values.get(2, 0)))
    if short == "Quantity":
        return _text(values.get(1, b""))
    raw = _bytes(values.get(1, b""))
    return json.loads(raw) if raw else None  # RawExtension, FieldsV1


def _duration(nanoseconds: int) -> str:
    """Go's ``time.Duration.String()`` for whole and fractional seconds: ``1h2m3.5s``."""
    sign = "-" if nanoseconds < 0 else ""
    total = abs(nanoseconds)
    hours, rest = divmod(total, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = f"{rest / 1e9:.9f}".rstrip("0").rstrip(".")
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{sign}{minutes}m{seconds}s"
    return f"{sign}{seconds}s"
