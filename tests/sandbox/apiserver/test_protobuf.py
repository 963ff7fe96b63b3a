"""Protobuf request bodies: what kubectl's typed commands send is read as the same object.

Covers: each ``kubectl create`` of a built-in kind (deployment with replicas 0, a port and a
command; configmap with text and binary data; generic and docker-registry secrets; clusterip and
nodeport services; namespace; serviceaccount; job; cronjob; role; rolebinding; clusterrole;
poddisruptionbudget) sends protobuf, and the object the server stores equals the one the same
command stores when its JSON (``--dry-run=client -o json``) is created instead; a body that is
not a protobuf envelope is a 400 naming the problem; a custom resource in protobuf is a 415, as
on a real server; DeleteOptions in protobuf are read (a dry-run delete keeps the object).
"""

from __future__ import annotations

import pathlib
from typing import Any

import httpx
import pytest

from serinus.sandbox.apiserver import protowire
from serinus.sandbox.apiserver.protobuf import CONTENT_TYPE, MAGIC
from tests.sandbox.apiserver.support import Kubectl, namespace, simple_crd

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"

COMMANDS = {
    "deployment": (
        "deployment", "web", "--image=nginx:1.27", "--replicas=0", "--port=80", "--",
        "sleep", "100",
    ),
    "configmap": ("configmap", "settings", "--from-literal=color=blue", "--from-file=blob=BLOB"),
    "secret": ("secret", "generic", "creds", "--from-literal=password=s3cr3t"),
    "registry": (
        "secret", "docker-registry", "pull", "--docker-server=registry.example",
        "--docker-username=u", "--docker-password=p",
    ),
    "clusterip": ("service", "clusterip", "web", "--tcp=80:8080"),
    "nodeport": ("service", "nodeport", "edge", "--tcp=443:8443"),
    "serviceaccount": ("serviceaccount", "robot"),
    "job": ("job", "once", "--image=busybox:1.36", "--", "echo", "hi"),
    "cronjob": ("cronjob", "nightly", "--image=busybox:1.36", "--schedule=0 3 * * *"),
    "role": ("role", "reader", "--verb=get,list", "--resource=pods,configmaps"),
    "rolebinding": ("rolebinding", "read", "--role=reader", "--serviceaccount=a:robot"),
    "pdb": ("poddisruptionbudget", "web", "--selector=app=web", "--min-available=1"),
}  # fmt: skip
_SERVER_SET = ("uid", "resourceVersion", "creationTimestamp", "namespace", "managedFields")


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    for key in _SERVER_SET:
        obj["metadata"].pop(key, None)
    spec = obj.get("spec") or {}
    for key in ("clusterIP", "clusterIPs"):
        spec.pop(key, None)
    for port in spec.get("ports") or []:
        port.pop("nodePort", None)
    if isinstance(obj.get("subjects"), list):
        for subject in obj["subjects"]:
            subject.pop("namespace", None)
    return obj


@pytest.mark.parametrize("command", sorted(COMMANDS))
async def test_kubectl_create_stores_what_its_json_would(
    kubectl: Kubectl, tmp_path: pathlib.Path, command: str
) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(bytes(range(256)))
    await kubectl.apply(namespace("a"), namespace("b"))
    args = tuple(arg.replace("BLOB", str(blob)) for arg in COMMANDS[command])
    kind = "secret" if command == "registry" else args[0]
    name = args[2] if args[0] in ("secret", "service") else args[1]
    await kubectl.run("-n", "a", "create", *args)
    cut = args.index("--") if "--" in args else len(args)
    dry = (*args[:cut], "--dry-run=client", "-o", "json", *args[cut:])
    as_json = await kubectl.run("-n", "b", "create", *dry)
    await kubectl.run("-n", "b", "create", "-f", "-", stdin=as_json.stdout)
    from_proto = (await kubectl.run("-n", "a", "get", kind, name, "-o", "json")).json()
    from_json = (await kubectl.run("-n", "b", "get", kind, name, "-o", "json")).json()
    assert comparable(from_proto) == comparable(from_json)


async def test_bad_bodies(http: httpx.AsyncClient) -> None:
    headers = {"Content-Type": CONTENT_TYPE}
    plain = await http.post("/api/v1/namespaces", content=b"{}", headers=headers)
    assert plain.status_code == 400
    assert "k8s\\x00" in plain.json()["message"]
    truncated = await http.post(
        "/api/v1/namespaces", content=MAGIC + b"\x0a\x05ab", headers=headers
    )
    assert truncated.status_code == 400
    assert "could not be decoded" in truncated.json()["message"]
    crd = simple_crd("example.com", "Widget", "widgets")
    assert (await http.post(CRDS, json=crd)).status_code == 201
    await http.post("/api/v1/namespaces", json=namespace("prod"))
    type_meta = _message(1, b"example.com/v1") + _message(2, b"Widget")
    custom = MAGIC + _message(1, type_meta) + _message(2, b"")
    url = "/apis/example.com/v1/namespaces/prod/widgets"
    refused = await http.post(url, content=custom, headers=headers)
    assert refused.status_code == 415
    assert refused.json()["reason"] == "UnsupportedMediaType"


async def test_protobuf_delete_options(http: httpx.AsyncClient) -> None:
    await http.post("/api/v1/namespaces", json=namespace("prod"))
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    await http.post("/api/v1/namespaces/prod/configmaps", json=body)
    type_meta = _message(1, b"meta.k8s.io/v1") + _message(2, b"DeleteOptions")
    options = _message(5, b"All")  # DeleteOptions.dryRun = ["All"]
    raw = MAGIC + _message(1, type_meta) + _message(2, options)
    deleted = await http.request(
        "DELETE",
        "/api/v1/namespaces/prod/configmaps/c",
        content=raw,
        headers={"Content-Type": CONTENT_TYPE},
    )
    assert deleted.status_code == 200
    assert (await http.get("/api/v1/namespaces/prod/configmaps/c")).status_code == 200


def _message(number: int, payload: bytes) -> bytes:
    assert number < 16
    assert len(payload) < 128
    return bytes([number << 3 | protowire.LENGTH, len(payload)]) + payload
