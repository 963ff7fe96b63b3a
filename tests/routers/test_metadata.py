"""Labels, annotations and owner references of generated objects (pure functions).

Covers: merging for owned objects (unknown keys dropped) and taken-over ones (kept), with
unmanaged keys never added, removed or overwritten; the controller reference of a Canary, which
needs the Canary's uid; telling an object of this Canary from one of another Canary or of nobody;
dropping this Canary's owner reference and keeping the others.
"""

from __future__ import annotations

from typing import Any

import pytest

from serinus.apis.canary import Canary
from serinus.errors import RouterError
from serinus.routers import metadata
from tests.routers.support import canary_manifest


def canary(uid: str | None = "u-1") -> Canary:
    body = canary_manifest()
    if uid:
        body["metadata"]["uid"] = uid
    return Canary.model_validate(body)


def owned_by(name: str, uid: str = "u-1", kind: str = "Canary") -> dict[str, Any]:
    return {
        "metadata": {
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "c"},
                {"kind": kind, "name": name, "uid": uid, "controller": True},
            ]
        }
    }


def test_merge_for_owned_and_taken_over_objects() -> None:
    existing = {"a": "old", "stray": "x", "mesh": "theirs"}
    desired = {"a": "new", "b": "2", "mesh": "ours"}
    assert metadata.merge(existing, desired, unmanaged=["mesh"], keep_others=False) == {
        "a": "new",
        "b": "2",
        "mesh": "theirs",
    }
    assert metadata.merge(existing, desired, unmanaged=["mesh"], keep_others=True) == {
        "a": "new",
        "b": "2",
        "stray": "x",
        "mesh": "theirs",
    }
    assert metadata.merge(None, desired, unmanaged=["mesh"], keep_others=False) == {
        "a": "new",
        "b": "2",
    }


def test_owner_reference_needs_the_canary_uid() -> None:
    assert metadata.owner_reference(canary(), provider="linkerd") == {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "name": "podinfo",
        "uid": "u-1",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    with pytest.raises(RouterError, match=r"^Canary prod/podinfo: expected metadata\.uid"):
        metadata.owner_reference(canary(uid=None), provider="linkerd")


def test_controlled_by_this_canary_only() -> None:
    assert metadata.controlled_by(owned_by("podinfo"), canary())
    assert not metadata.controlled_by(owned_by("podinfo", uid="u-2"), canary())
    assert not metadata.controlled_by(owned_by("other"), canary())
    assert not metadata.controlled_by(owned_by("podinfo", kind="Deployment"), canary())
    assert not metadata.controlled_by({"metadata": {}}, canary())


def test_another_canarys_object_is_refused() -> None:
    metadata.check_not_foreign(owned_by("podinfo"), canary(), provider="istio", what="X")
    metadata.check_not_foreign({"metadata": {}}, canary(), provider="istio", what="X")
    with pytest.raises(RouterError, match=r"^X: belongs to Canary prod/other, not to prod/podinfo"):
        metadata.check_not_foreign(owned_by("other"), canary(), provider="istio", what="X")


def test_without_owner_keeps_other_owners() -> None:
    assert metadata.without_owner(owned_by("podinfo"), canary()) == [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "c"}
    ]
