"""The revision of a Deployment target: its pod template hash and config checksums.

Covers: FNV-1a matches the published 32-bit test vectors; digits map into Kubernetes' vowel-free
alphabet; the hash of a template is pinned (changing the algorithm would start a run for every
Canary after an upgrade); key order does not matter; hashes remembered (at most
``REMEMBERED``, the oldest going first) are the ones FNV gives, also for a template hashed
again after its hash was let go; on a real API server the hash changes when
the pod template changes (image, a restart annotation) and not when anything else does
(replicas, the Deployment's own labels, its status).
"""

from __future__ import annotations

import pytest

from serinus.kube import Kube
from serinus.targets import revision
from serinus.targets.deployment import DeploymentTarget
from tests.targets.support import create_canary, deployment, get, roll_out


def test_fnv1a_matches_the_published_vectors() -> None:
    assert revision.fnv32a(b"") == 0x811C9DC5
    assert revision.fnv32a(b"a") == 0xE40C292C
    assert revision.fnv32a(b"foobar") == 0xBF9CF968


def test_digits_are_encoded_without_vowels() -> None:
    assert revision.safe_encode("0123456789") == "456789bcdf"


def test_the_template_hash_is_pinned_and_ignores_key_order() -> None:
    template = {"spec": {"containers": [{"name": "a", "image": "podinfo:6.0.0"}]}}
    assert revision.template_hash({}) == "5859f96865"
    assert revision.template_hash(template) == "5db659bb98"
    reordered = {"spec": {"containers": [{"image": "podinfo:6.0.0", "name": "a"}]}}
    assert revision.template_hash(reordered) == "5db659bb98"


def test_remembered_hashes_are_the_computed_ones_and_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(revision, "REMEMBERED", 3)
    monkeypatch.setattr(revision, "_remembered", {})
    images = [{"spec": {"containers": [{"name": "a", "image": f"app:{i}"}]}} for i in range(5)]
    expected = [
        revision.safe_encode(str(revision.fnv32a(revision.canonical_json(t)))) for t in images
    ]
    assert len(set(expected)) == 5
    for _ in range(2):  # computed, then (the last three) remembered
        assert [revision.template_hash(t) for t in images] == expected
    assert len(revision._remembered) == 3
    assert revision.template_hash(images[0]) == expected[0]


async def test_the_hash_follows_the_pod_template_only(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment())
    canary = await create_canary(kube)
    first = await deployments.revision(canary)
    assert first.configs == {}

    await kube.patch("apps/v1", "Deployment", "podinfo", "prod", {"spec": {"replicas": 0}})
    await kube.patch(
        "apps/v1", "Deployment", "podinfo", "prod", {"metadata": {"labels": {"x": "y"}}}
    )
    await roll_out(kube)
    assert await deployments.revision(canary) == first

    await kube.patch(
        "apps/v1",
        "Deployment",
        "podinfo",
        "prod",
        {
            "spec": {
                "template": {
                    "metadata": {
                        "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}
                    }
                }
            }
        },
    )
    restarted = await deployments.revision(canary)
    assert restarted.spec_hash != first.spec_hash

    target = await get(kube, "Deployment", "podinfo")
    target["spec"]["template"]["spec"]["containers"][0]["image"] = "podinfo:6.0.1"
    await kube.replace(target)
    new_image = await deployments.revision(canary)
    assert new_image.spec_hash not in (first.spec_hash, restarted.spec_hash)


async def test_the_hash_is_made_once_per_version_of_the_target(
    kube: Kube, deployments: DeploymentTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every tick asks for the revision: the same version of the target is hashed once, and a
    template edited and edited back hashes as it did at first."""
    made: list[str] = []
    real = revision.template_hash

    def counted(template: object) -> str:
        made.append(real(template))
        return made[-1]

    monkeypatch.setattr(revision, "template_hash", counted)
    await kube.create(deployment())
    canary = await create_canary(kube)
    first = await deployments.revision(canary)
    for _ in range(3):
        assert await deployments.revision(canary) == first
    assert len(made) == 1

    target = await get(kube, "Deployment", "podinfo")
    image = target["spec"]["template"]["spec"]["containers"][0]["image"]
    target["spec"]["template"]["spec"]["containers"][0]["image"] = "podinfo:6.0.1"
    await kube.replace(target)
    edited = await deployments.revision(canary)
    assert edited.spec_hash != first.spec_hash
    target = await get(kube, "Deployment", "podinfo")
    target["spec"]["template"]["spec"]["containers"][0]["image"] = image
    await kube.replace(target)
    assert await deployments.revision(canary) == first
    assert len(made) == 3
