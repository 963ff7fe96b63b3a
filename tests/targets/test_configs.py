"""Config tracking through DeploymentTarget against a real API server.

Covers: ConfigMaps and Secrets referenced from env (valueFrom), envFrom, volumes and projected
volumes, in containers and init containers, are copied to ``<name>-primary`` (owned by the Canary,
with the source's data, type and labels) and the primary's references point at the copies; an
optional reference to a missing object is tolerated and left as is, a required one is an error
naming the object; objects annotated ``flagger.app/config-tracking: disabled`` and registry
Secrets are neither copied nor tracked; the Revision carries ``configmap/<name>`` and
``secret/<name>`` checksums that change with the data only; promote re-copies changed data;
a ConfigMap's binaryData counts and is copied; with tracking disabled nothing is copied or
rewritten; with Secrets left out (``--no-track-secrets``, the charts' default) ConfigMaps are still
copied but no Secret is read or written and the primary uses the Secrets as they are; the checksum
matches Go's encoding.
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from serinus.apis.canary import Canary
from serinus.errors import TargetError
from serinus.kube import Kube
from serinus.targets import configs
from serinus.targets.deployment import DeploymentTarget
from tests.targets.support import configmap, create_canary, deployment, get, secret


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


POD_SPEC = {
    "initContainers": [
        {
            "name": "init",
            "image": "busybox",
            "env": [
                {
                    "name": "INIT_TOKEN",
                    "valueFrom": {"secretKeyRef": {"name": "init-token", "key": "token"}},
                }
            ],
            "envFrom": [{"configMapRef": {"name": "init-env"}}],
        }
    ],
    "volumes": [
        {"name": "config", "configMap": {"name": "podinfo-config-vol"}},
        {"name": "certs", "secret": {"secretName": "podinfo-certs"}},
        {
            "name": "projected",
            "projected": {
                "sources": [
                    {"configMap": {"name": "podinfo-projected"}},
                    {"secret": {"name": "podinfo-projected-secret"}},
                    {"configMap": {"name": "podinfo-absent", "optional": True}},
                ]
            },
        },
    ],
}

ENV = [
    {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "podinfo-env", "key": "color"}}},
    {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "podinfo-keys", "key": "api"}}},
    {"name": "PLAIN", "value": "x"},
]
ENV_FROM = [{"configMapRef": {"name": "podinfo-all"}}, {"secretRef": {"name": "podinfo-all-s"}}]

CONFIG_MAPS = [
    "init-env",
    "podinfo-config-vol",
    "podinfo-projected",
    "podinfo-env",
    "podinfo-all",
]
SECRETS = [
    "init-token",
    "podinfo-certs",
    "podinfo-projected-secret",
    "podinfo-keys",
    "podinfo-all-s",
]


async def seed(kube: Kube) -> None:
    for name in CONFIG_MAPS:
        await kube.create(configmap(name, {"key": f"{name} value"}))
    for name in SECRETS:
        await kube.create(secret(name, {"key": b64(name)}))
    target = deployment(pod_spec=POD_SPEC)
    container = target["spec"]["template"]["spec"]["containers"][0]
    container["env"], container["envFrom"] = ENV, ENV_FROM
    await kube.create(target)


async def test_every_referenced_config_is_copied_and_the_primary_points_at_the_copies(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await seed(kube)
    canary = await create_canary(kube)
    await deployments.initialize(canary)

    for name in CONFIG_MAPS:
        copy = await get(kube, "ConfigMap", f"{name}-primary")
        assert copy["data"] == {"key": f"{name} value"}
        assert copy["metadata"]["labels"] == {"app": "podinfo"}
        assert copy["metadata"]["ownerReferences"][0]["uid"] == canary.metadata.uid
    for name in SECRETS:
        copy = await get(kube, "Secret", f"{name}-primary")
        assert (copy["type"], copy["data"]) == ("Opaque", {"key": b64(name)})

    spec = (await get(kube, "Deployment", "podinfo-primary"))["spec"]["template"]["spec"]
    init = spec["initContainers"][0]
    assert init["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "init-token-primary"
    assert init["envFrom"][0]["configMapRef"]["name"] == "init-env-primary"
    main = spec["containers"][0]
    assert [e.get("valueFrom", {}) for e in main["env"]] == [
        {"configMapKeyRef": {"name": "podinfo-env-primary", "key": "color"}},
        {"secretKeyRef": {"name": "podinfo-keys-primary", "key": "api"}},
        {},
    ]
    assert main["envFrom"] == [
        {"configMapRef": {"name": "podinfo-all-primary"}},
        {"secretRef": {"name": "podinfo-all-s-primary"}},
    ]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["config"]["configMap"]["name"] == "podinfo-config-vol-primary"
    assert volumes["certs"]["secret"]["secretName"] == "podinfo-certs-primary"
    assert volumes["projected"]["projected"]["sources"] == [
        {"configMap": {"name": "podinfo-projected-primary"}},
        {"secret": {"name": "podinfo-projected-secret-primary"}},
        {"configMap": {"name": "podinfo-absent", "optional": True}},  # missing, optional
    ]
    # the target itself still uses the originals
    target_spec = (await get(kube, "Deployment", "podinfo"))["spec"]["template"]["spec"]
    assert target_spec["volumes"][0]["configMap"]["name"] == "podinfo-config-vol"

    revision = await deployments.revision(canary)
    assert set(revision.configs) == {f"configmap/{n}" for n in CONFIG_MAPS} | {
        f"secret/{n}" for n in SECRETS
    }


async def test_a_missing_required_config_is_an_error_naming_it(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(
        deployment(pod_spec={"volumes": [{"name": "c", "configMap": {"name": "gone"}}]})
    )
    canary = await create_canary(kube)
    with pytest.raises(TargetError, match=r"^ConfigMap prod/gone not found: the pod template"):
        await deployments.initialize(canary)


async def test_disabled_tracking_and_registry_secrets_are_left_alone(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(
        configmap("shared", {"a": "1"}, **{"flagger.app/config-tracking": "disabled"})
    )
    await kube.create(
        secret("registry", {".dockerconfigjson": b64("{}")}, kind="kubernetes.io/dockerconfigjson")
    )
    await kube.create(
        secret("tls", {"tls.crt": b64("c"), "tls.key": b64("k")}, kind="kubernetes.io/tls")
    )
    await kube.create(
        deployment(
            pod_spec={
                "volumes": [
                    {"name": "shared", "configMap": {"name": "shared"}},
                    {"name": "registry", "secret": {"secretName": "registry"}},
                    {"name": "tls", "secret": {"secretName": "tls"}},
                ]
            }
        )
    )
    canary = await create_canary(kube)
    await deployments.initialize(canary)
    assert await kube.get("v1", "ConfigMap", "shared-primary", "prod") is None
    assert await kube.get("v1", "Secret", "registry-primary", "prod") is None
    assert (await get(kube, "Secret", "tls-primary"))["type"] == "kubernetes.io/tls"
    volumes = (await get(kube, "Deployment", "podinfo-primary"))["spec"]["template"]["spec"][
        "volumes"
    ]
    assert [
        v["configMap"]["name"] if "configMap" in v else v["secret"]["secretName"] for v in volumes
    ] == ["shared", "registry", "tls-primary"]
    assert set((await deployments.revision(canary)).configs) == {"secret/tls"}


async def reading_a_configmap(kube: Kube) -> Canary:
    """podinfo mounting the ConfigMap ``podinfo-env`` (``color: blue``), and its Canary."""
    await kube.create(configmap("podinfo-env", {"color": "blue"}))
    await kube.create(
        deployment(pod_spec={"volumes": [{"name": "c", "configMap": {"name": "podinfo-env"}}]})
    )
    return await create_canary(kube)


async def test_the_revision_follows_config_data_and_only_config_data(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    canary = await reading_a_configmap(kube)
    first = await deployments.revision(canary)

    stored = await get(kube, "ConfigMap", "podinfo-env")
    stored["metadata"]["labels"]["touched"] = "yes"  # metadata is not configuration
    await kube.replace(stored)
    assert await deployments.revision(canary) == first

    await kube.patch("v1", "ConfigMap", "podinfo-env", "prod", {"data": {"color": "red"}})
    second = await deployments.revision(canary)
    assert second.spec_hash == first.spec_hash
    assert second.configs["configmap/podinfo-env"] != first.configs["configmap/podinfo-env"]


async def test_promote_copies_the_new_config_data(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    canary = await reading_a_configmap(kube)
    await deployments.initialize(canary)
    await kube.patch("v1", "ConfigMap", "podinfo-env", "prod", {"data": {"color": "red"}})
    assert (await get(kube, "ConfigMap", "podinfo-env-primary"))["data"] == {"color": "blue"}
    await deployments.promote(canary)
    assert (await get(kube, "ConfigMap", "podinfo-env-primary"))["data"] == {"color": "red"}


async def test_without_config_tracking_the_primary_shares_the_configs(kube: Kube) -> None:
    canary = await reading_a_configmap(kube)
    target = DeploymentTarget(kube, config_tracking=False)
    await target.initialize(canary)
    assert await kube.get("v1", "ConfigMap", "podinfo-env-primary", "prod") is None
    volumes = (await get(kube, "Deployment", "podinfo-primary"))["spec"]["template"]["spec"][
        "volumes"
    ]
    assert volumes[0]["configMap"]["name"] == "podinfo-env"
    assert (await target.revision(canary)).configs == {}


async def test_with_secrets_left_out_no_secret_is_read_or_written(kube: Kube) -> None:
    await seed(kube)
    canary = await create_canary(kube)
    target = DeploymentTarget(kube, track_secrets=False)

    await target.initialize(canary)
    await target.promote(canary)

    for name in SECRETS:
        assert await kube.get("v1", "Secret", f"{name}-primary", "prod") is None
    for name in CONFIG_MAPS:
        assert (await get(kube, "ConfigMap", f"{name}-primary"))["data"]
    spec = (await get(kube, "Deployment", "podinfo-primary"))["spec"]["template"]["spec"]
    assert spec["volumes"][1]["secret"]["secretName"] == "podinfo-certs"
    assert spec["containers"][0]["envFrom"][1] == {"secretRef": {"name": "podinfo-all-s"}}
    assert set((await target.revision(canary)).configs) == {f"configmap/{n}" for n in CONFIG_MAPS}


def test_the_checksum_is_sha256_of_gos_json_first_eight_bytes() -> None:
    data = {"b": "<tag> & more", "a": "1"}
    go_json = '{"a":"1","b":"\\u003ctag\\u003e \\u0026 more"}'
    assert configs.checksum(data) == hashlib.sha256(go_json.encode()).hexdigest()[:16]
    assert configs.checksum(None) == hashlib.sha256(b"null").hexdigest()[:16]


def test_references_are_optional_only_when_every_use_is() -> None:
    spec = {
        "containers": [
            {"name": "a", "envFrom": [{"configMapRef": {"name": "x", "optional": True}}]},
            {"name": "b", "envFrom": [{"configMapRef": {"name": "x"}}]},
        ],
        "volumes": [{"name": "v", "secret": {"secretName": "y", "optional": True}}],
    }
    assert configs.references(spec) == {
        configs.ConfigRef("configmap", "x"): False,
        configs.ConfigRef("secret", "y"): True,
    }


async def test_binary_data_changes_are_a_new_revision_and_are_copied(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    binary = configmap("podinfo-bin", {})
    binary["binaryData"] = {"logo.png": b64("v1")}
    await kube.create(binary)
    await kube.create(
        deployment(pod_spec={"volumes": [{"name": "c", "configMap": {"name": "podinfo-bin"}}]})
    )
    canary = await create_canary(kube)
    await deployments.initialize(canary)
    first = await deployments.revision(canary)
    await kube.patch(
        "v1", "ConfigMap", "podinfo-bin", "prod", {"binaryData": {"logo.png": b64("v2")}}
    )
    assert (await deployments.revision(canary)).configs != first.configs
    await deployments.promote(canary)
    copied = await get(kube, "ConfigMap", "podinfo-bin-primary")
    assert copied["binaryData"] == {"logo.png": b64("v2")}
