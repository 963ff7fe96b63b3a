"""What every mesh object shares (ManagedObject), shown on TrafficSplits in a real API server.

Covers: an object serinus did not create is taken over (its spec saved in the
original-configuration annotation, its labels kept, no owner reference added) and finalize puts
the original back instead of deleting it; a taken-over object without our backends starts at
100/0; annotations other controllers add to an owned object are kept while labels not asked for
are removed, except unmanagedMetadata keys; an object of another Canary is refused; set_routes on
a missing object is an error naming it; routes set with the routes the tick read are written
without reading the object again, and when another writer changed it in between (a 409) it is
read again and written once more.
"""

from __future__ import annotations

import collections
import copy
import json
from fractions import Fraction
from typing import Any

import pytest

from serinus.errors import RouterError
from serinus.ports import Routes
from serinus.routers.objects import ManagedObject, json_copy
from serinus.routers.registry import router_for
from serinus.routers.smi import TrafficSplitBlueprint
from tests.routers.support import NAMESPACE, CountingKube, get, new_canary

SPLIT = "split.smi-spec.io/v1alpha1"
ORIGINAL = "flagger.kubernetes.io/original-configuration"


def users_split() -> dict[str, Any]:
    return {
        "apiVersion": SPLIT,
        "kind": "TrafficSplit",
        "metadata": {"name": "podinfo", "namespace": NAMESPACE, "labels": {"owner": "team-a"}},
        "spec": {"service": "podinfo", "backends": [{"service": "podinfo-v1", "weight": "100"}]},
    }


async def test_a_users_object_is_taken_over_and_restored(kube: CountingKube) -> None:
    await kube.create(users_split())
    canary = await new_canary(kube)
    router = router_for("linkerd", kube)
    await router.reconcile(canary)
    taken = await get(kube, SPLIT, "TrafficSplit", "podinfo")
    assert [b["service"] for b in taken["spec"]["backends"]] == [
        "podinfo-canary",
        "podinfo-primary",
    ]
    assert await router.get_routes(canary) == Routes(100, 0)
    assert taken["metadata"]["labels"] == {"owner": "team-a"}
    assert "ownerReferences" not in taken["metadata"]
    assert json.loads(taken["metadata"]["annotations"][ORIGINAL]) == {"spec": users_split()["spec"]}
    await router.set_routes(canary, Routes(80, 20))
    saved = (await get(kube, SPLIT, "TrafficSplit", "podinfo"))["metadata"]["annotations"][ORIGINAL]
    assert json.loads(saved) == {"spec": users_split()["spec"]}
    await router.finalize(canary)
    restored = await get(kube, SPLIT, "TrafficSplit", "podinfo")
    assert restored["spec"] == users_split()["spec"]
    assert ORIGINAL not in (restored["metadata"].get("annotations") or {})


async def test_owned_objects_keep_annotations_of_others_but_not_stray_labels(
    kube: CountingKube,
) -> None:
    canary = await new_canary(
        kube,
        service={
            "apex": {"labels": {"tier": "web"}},
            "unmanagedMetadata": {"labels": ["argocd.argoproj.io/instance"]},
        },
    )
    router = router_for("linkerd", kube)
    await router.reconcile(canary)
    written = await get(kube, SPLIT, "TrafficSplit", "podinfo")
    written["metadata"]["labels"].update({"argocd.argoproj.io/instance": "shop", "stray": "x"})
    written["metadata"]["annotations"]["controller.example/seen"] = "1"
    await kube.replace(written)
    await router.reconcile(canary)
    meta = (await get(kube, SPLIT, "TrafficSplit", "podinfo"))["metadata"]
    assert meta["labels"] == {"tier": "web", "argocd.argoproj.io/instance": "shop"}
    assert meta["annotations"]["controller.example/seen"] == "1"
    assert ORIGINAL not in meta["annotations"]


async def test_an_object_of_another_canary_is_refused(kube: CountingKube) -> None:
    split = ManagedObject(
        kube, TrafficSplitBlueprint("v1alpha1", provider="linkerd"), provider="linkerd"
    )
    other = await new_canary(kube, name="other", service={"name": "podinfo"})
    await split.reconcile(other)
    canary = await new_canary(kube)
    with pytest.raises(RouterError) as raised:
        await split.reconcile(canary)
    assert str(raised.value).startswith(
        "TrafficSplit prod/podinfo: belongs to Canary prod/other, not to prod/podinfo"
    )


async def test_set_routes_needs_the_object(kube: CountingKube) -> None:
    canary = await new_canary(kube)
    with pytest.raises(RouterError) as raised:
        await router_for("linkerd", kube).set_routes(canary, Routes(90, 10))
    assert str(raised.value) == "TrafficSplit prod/podinfo: not found (not reconciled yet)"


async def test_routes_set_over_the_routes_read_need_no_second_read(kube: CountingKube) -> None:
    canary = await new_canary(kube)
    router = router_for("linkerd", kube)
    await router.reconcile(canary)
    current = await router.get_routes(canary)
    reads, writes = kube.reads, kube.writes
    await router.set_routes(canary, Routes(90, 10), current=current)
    assert (kube.reads, kube.writes) == (reads, writes + 1)
    assert await router.get_routes(canary) == Routes(90, 10)

    current = await router.get_routes(canary)
    changed = await get(kube, SPLIT, "TrafficSplit", "podinfo")
    changed["metadata"].setdefault("labels", {})["touched"] = "another-writer"
    await kube.replace(changed)
    await router.set_routes(canary, Routes(80, 20), current=current)
    written = await get(kube, SPLIT, "TrafficSplit", "podinfo")
    assert await router.get_routes(canary) == Routes(80, 20)
    assert "touched" not in (written["metadata"].get("labels") or {})  # owned: labels are ours


def test_desired_content_is_copied_deeply_as_deepcopy_copies_it() -> None:
    """The merge's copy of the desired content (a tick's write) is deepcopy's, also for what is
    not plain JSON, and changing it leaves the desired content as it was."""
    body = {
        "spec": {"backends": [{"service": "a", "weight": 10}, {"service": "b", "weight": "90"}]},
        "numbers": [1, 2.5, True, None, -(2**70)],
        "odd": (["in", "a", "tuple"], Fraction(1, 3)),
        "ordered": collections.OrderedDict(b=[1], a={"x": [2]}),
    }
    copied = json_copy(body)
    assert copied == copy.deepcopy(body)
    assert type(copied["ordered"]) is collections.OrderedDict
    copied["spec"]["backends"][0]["weight"] = 0
    copied["odd"][0].append("changed")
    copied["ordered"]["a"]["x"].append(3)
    assert body["spec"]["backends"][0]["weight"] == 10
    assert body["odd"][0] == ["in", "a", "tuple"]
    assert body["ordered"]["a"] == {"x": [2]}
