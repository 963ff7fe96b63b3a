"""The shared helpers: required reads, owner references, create-or-replace.

Covers: require names the missing object; a Canary without a uid cannot own copies (an error
that says so); upsert creates, then replaces content and labels while keeping the stored uid and
other metadata, and converges when repeated.
"""

from __future__ import annotations

import pytest

from serinus.apis.canary import Canary
from serinus.errors import NotFoundError, TargetError
from serinus.kube import Kube
from serinus.targets import base
from tests.targets.support import NS, canary_manifest, configmap, get


async def test_require_names_the_missing_object(kube: Kube) -> None:
    with pytest.raises(NotFoundError, match=r"^ConfigMap prod/absent not found$"):
        await base.require(kube, "v1", "ConfigMap", NS, "absent")


def test_a_canary_without_uid_cannot_own_copies() -> None:
    canary = Canary.model_validate(canary_manifest())
    with pytest.raises(TargetError, match=r"expected metadata.uid"):
        base.owner_reference(canary)


async def test_upsert_creates_then_replaces_keeping_identity(kube: Kube) -> None:
    await base.upsert(kube, configmap("settings", {"a": "1"}))
    created = await get(kube, "ConfigMap", "settings")
    await kube.patch("v1", "ConfigMap", "settings", NS, {"metadata": {"finalizers": ["x/y"]}})

    changed = configmap("settings", {"b": "2"})
    changed["metadata"]["labels"] = {"tier": "web"}
    await base.upsert(kube, changed)
    await base.upsert(kube, changed)
    stored = await get(kube, "ConfigMap", "settings")
    assert stored["data"] == {"b": "2"}
    assert stored["metadata"]["labels"] == {"tier": "web"}
    assert stored["metadata"]["uid"] == created["metadata"]["uid"]
    assert stored["metadata"]["finalizers"] == ["x/y"]
