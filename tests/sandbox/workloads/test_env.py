"""A container's environment (covers ``serinus/sandbox/workloads/env.py``).

The object lookups are served from a dict here (the runner tests read real ConfigMaps and
Secrets from the API server); these tests pin the kubelet's rules.

Covers:
- precedence: base < Service links < envFrom < env; ``enableServiceLinks: false``;
- ``$(VAR)`` expansion of earlier variables, unknown references kept, ``$$`` escaping;
- fieldRef paths (name, namespace, labels, podIP), resourceFieldRef with and without limits;
- Secrets are base64-decoded; optional references to missing objects or keys are skipped;
  required ones fail with the kubelet's message.
"""

from __future__ import annotations

import base64

import pytest

from serinus.errors import SerinusError
from serinus.sandbox.workloads.env import container_env, expand

POD = {
    "metadata": {"name": "web-1", "namespace": "prod", "labels": {"app": "web"}, "uid": "u1"},
    "spec": {"nodeName": "sandbox"},
    "status": {"podIP": "127.244.0.5"},
}
OBJECTS = {
    ("ConfigMap", "settings"): {"data": {"color": "blue", "size": "L"}},
    ("Secret", "creds"): {"data": {"password": base64.b64encode(b"pw").decode()}},
}
SERVICES = [
    {
        "metadata": {"name": "podinfo-canary", "namespace": "prod"},
        "spec": {"clusterIP": "127.96.0.11", "ports": [{"name": "http", "port": 9898}]},
    },
    {"metadata": {"name": "other", "namespace": "test"}, "spec": {"clusterIP": "127.96.0.12"}},
]


async def lookup(kind: str, namespace: str, name: str) -> dict | None:
    assert namespace == "prod"
    return OBJECTS.get((kind, name))


async def build(container: dict, pod: dict = POD) -> dict[str, str]:
    return await container_env(
        pod, container, lookup=lookup, base={"PATH": "/bin"}, services=SERVICES
    )


def test_expand() -> None:
    env = {"A": "1", "B": "two"}
    assert expand("$(A)-$(B)-$(C)-$$(A)", env) == "1-two-$(C)-$(A)"


async def test_precedence_and_service_links() -> None:
    found = await build(
        {
            "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CM_"}],
            "env": [
                {"name": "CM_color", "value": "red"},
                {"name": "PATH", "value": "/usr/bin:$(PATH)"},
            ],
        }
    )
    assert found["CM_color"] == "red"
    assert found["CM_size"] == "L"
    assert found["PATH"] == "/usr/bin:/bin"
    assert found["PODINFO_CANARY_SERVICE_HOST"] == "127.96.0.11"
    assert found["PODINFO_CANARY_SERVICE_PORT"] == "9898"
    assert found["PODINFO_CANARY_SERVICE_PORT_HTTP"] == "9898"
    assert "OTHER_SERVICE_HOST" not in found
    without = await build({}, {**POD, "spec": {"enableServiceLinks": False}})
    assert "PODINFO_CANARY_SERVICE_HOST" not in without


async def test_field_and_resource_references() -> None:
    def field(path: str) -> dict:
        return {"valueFrom": {"fieldRef": {"fieldPath": path}}}

    found = await build(
        {
            "resources": {"limits": {"memory": "128Mi"}},
            "env": [
                {"name": "NAME", **field("metadata.name")},
                {"name": "NS", **field("metadata.namespace")},
                {"name": "APP", **field("metadata.labels['app']")},
                {"name": "IP", **field("status.podIP")},
                {"name": "NODE", **field("spec.nodeName")},
                {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}},
                {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
            ],
        }
    )
    assert [found[k] for k in ("NAME", "NS", "APP", "IP", "NODE", "MEM")] == [
        "web-1",
        "prod",
        "web",
        "127.244.0.5",
        "sandbox",
        "128Mi",
    ]
    assert int(found["CPU"]) >= 1


async def test_secrets_and_optional_references() -> None:
    def ref(kind: str, name: str, key: str, optional: bool = False) -> dict:
        return {"valueFrom": {kind: {"name": name, "key": key, "optional": optional}}}

    found = await build(
        {
            "env": [
                {"name": "PASSWORD", **ref("secretKeyRef", "creds", "password")},
                {"name": "GONE", **ref("configMapKeyRef", "missing", "x", optional=True)},
                {"name": "NOKEY", **ref("configMapKeyRef", "settings", "x", optional=True)},
            ],
            "envFrom": [{"secretRef": {"name": "missing", "optional": True}}],
        }
    )
    assert found["PASSWORD"] == "pw"
    assert "GONE" not in found
    assert "NOKEY" not in found


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"configMapKeyRef": {"name": "missing", "key": "x"}}, 'configmap "missing" not found'),
        (
            {"configMapKeyRef": {"name": "settings", "key": "x"}},
            "couldn't find key x in ConfigMap prod/settings",
        ),
        ({"secretKeyRef": {"name": "nope", "key": "x"}}, 'secret "nope" not found'),
        ({"fieldRef": {"fieldPath": "spec.nope"}}, "unsupported fieldRef.fieldPath 'spec.nope'"),
    ],
)
async def test_required_references_fail_with_the_kubelet_message(item: dict, message: str) -> None:
    with pytest.raises(SerinusError) as caught:
        await build({"env": [{"name": "X", "valueFrom": item}]})
    assert str(caught.value) == message
