#!/usr/bin/env python3
"""Regenerate src/serinus/sandbox/apiserver/protobuf_fields.json from a kubectl binary.

kubectl sends protobuf bodies for the built-in kinds it creates, and carries the compiled
descriptors of Kubernetes' API types (``k8s.io/api/*/generated.proto`` and apimachinery's) as
gzipped FileDescriptorProtos. This script finds them in the binary, keeps the messages reachable
from the kinds the sandbox API server decodes, and writes each message's fields (number, name,
type, message type, repeated) as JSON: the schema of the sandbox's protobuf decoder. The field
numbers are the wire format's interface, so a kubectl of any recent version gives the same table
for these stable (v1/v2) types.

Usage: python3 scripts/protobuf-fields.py [KUBECTL] (default: the kubectl on PATH)
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import sys
import zlib

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from serinus.sandbox.apiserver.protowire import LENGTH, fields  # noqa: E402

OUT = REPO / "src" / "serinus" / "sandbox" / "apiserver" / "protobuf_fields.json"
ROOTS = {
    "k8s.io.api.core.v1": [
        "Namespace", "ConfigMap", "Secret", "Service", "ServiceAccount", "Pod", "Node",
        "Endpoints", "Event", "ReplicationController",
    ],
    "k8s.io.api.apps.v1": ["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"],
    "k8s.io.api.batch.v1": ["Job", "CronJob"],
    "k8s.io.api.rbac.v1": ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"],
    "k8s.io.api.coordination.v1": ["Lease"],
    "k8s.io.api.networking.v1": ["Ingress", "IngressClass", "NetworkPolicy"],
    "k8s.io.api.policy.v1": ["PodDisruptionBudget"],
    "k8s.io.api.autoscaling.v1": ["Scale"],
    "k8s.io.api.autoscaling.v2": ["HorizontalPodAutoscaler"],
    "k8s.io.api.events.v1": ["Event"],
    "k8s.io.api.authentication.v1": ["TokenRequest", "TokenReview", "SelfSubjectReview"],
    "k8s.io.api.authorization.v1": [
        "SelfSubjectAccessReview", "SubjectAccessReview", "LocalSubjectAccessReview",
        "SelfSubjectRulesReview",
    ],
    "k8s.io.apimachinery.pkg.apis.meta.v1": ["DeleteOptions"],
}  # fmt: skip
_TYPES = {
    1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64", 7: "fixed32",
    8: "bool", 9: "string", 11: "message", 12: "bytes", 13: "uint32", 14: "enum",
    15: "sfixed32", 16: "sfixed64", 17: "sint32", 18: "sint64",
}  # fmt: skip


def descriptors(binary: bytes) -> list[bytes]:
    found = []
    for match in re.finditer(rb"\x1f\x8b\x08\x00\x00\x00\x00\x00", binary):
        try:
            data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(
                binary[match.start() : match.start() + 4_000_000]
            )
        except zlib.error:
            continue
        if data[:1] == b"\n" and b".proto" in data[:200]:
            found.append(data)
    return found


def strings(data: bytes, number: int) -> list[str]:
    return [
        f.value.decode()
        for f in fields(data)
        if f.number == number and isinstance(f.value, bytes)
    ]


def messages(prefix: str, message: bytes, table: dict[str, dict[str, object]]) -> None:
    name = prefix + "." + strings(message, 1)[0]
    entry_fields = []
    is_map = False
    for field in fields(message):
        if field.wire_type != LENGTH or not isinstance(field.value, bytes):
            continue
        if field.number == 2:  # FieldDescriptorProto
            info = {f.number: f.value for f in fields(field.value)}
            kind = _TYPES[int(info[5])]  # type: ignore[call-overload]
            type_name = info.get(6)
            entry_fields.append(
                [
                    int(info[3]),  # type: ignore[call-overload]
                    bytes(info[1]).decode(),  # type: ignore[arg-type]
                    kind,
                    bytes(type_name).decode().lstrip(".") if type_name else None,  # type: ignore[arg-type]
                    int(info.get(4, 1)) == 3,  # type: ignore[call-overload]
                ]
            )
        elif field.number == 3:  # nested DescriptorProto
            messages(name, field.value, table)
        elif field.number == 7:  # MessageOptions: map_entry = 7
            is_map = any(o.number == 7 and o.value == 1 for o in fields(field.value))
    table[name] = {"fields": sorted(entry_fields), **({"map": True} if is_map else {})}


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else shutil.which("kubectl")
    if path is None:
        sys.exit("no kubectl on PATH: give the path of a kubectl binary")
    table: dict[str, dict[str, object]] = {}
    for descriptor in descriptors(pathlib.Path(path).resolve().read_bytes()):
        package = (strings(descriptor, 2) or [""])[0]
        for field in fields(descriptor):
            if field.number == 4 and isinstance(field.value, bytes):
                messages(package, field.value, table)
    wanted: set[str] = set()
    pending = [f"{package}.{kind}" for package, kinds in ROOTS.items() for kind in kinds]
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        if name not in table:
            sys.exit(f"{path}: no descriptor for {name}")
        wanted.add(name)
        for _, _, kind, type_name, _ in table[name]["fields"]:  # type: ignore[attr-defined]
            if kind == "message":
                pending.append(type_name)
    kept = {name: table[name] for name in sorted(wanted)}
    OUT.write_text(json.dumps(kept, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"{OUT.relative_to(REPO)}: {len(kept)} messages")


if __name__ == "__main__":
    main()
