"""The kubernetes provider: the apex Service's selector as the only switch, in a real API server.

Covers: reconcile writes only Services (no mesh object) and get_routes reads the apex: 100/0 while
it selects the primary; set_routes 0/100 points the apex at the canary's pods, reconcile leaves it
there, 100/0 brings it back; a split or a mirror is refused naming the request; finalize gives the
apex back to the target.
"""

from __future__ import annotations

import pytest

from serinus.errors import RouterError
from serinus.ports import Routes
from serinus.routers.registry import router_for
from tests.routers.support import CountingKube, new_canary, service


async def test_routes_move_the_apex_selector(kube: CountingKube) -> None:
    canary = await new_canary(kube, provider="kubernetes")
    router = router_for("kubernetes", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    assert await router.get_routes(canary) == Routes(100, 0)
    await router.set_routes(canary, Routes(0, 100))
    assert (await service(kube, "podinfo"))["spec"]["selector"] == {"app": "podinfo"}
    assert await router.get_routes(canary) == Routes(0, 100)
    writes = kube.writes
    await router.reconcile(canary)
    assert kube.writes == writes
    assert await router.get_routes(canary) == Routes(0, 100)
    await router.set_routes(canary, Routes(100, 0))
    apex = await service(kube, "podinfo")
    assert apex["spec"]["selector"] == {"app": "podinfo-primary"}
    assert "serinus.io/apex-routes-to" not in apex["metadata"]["annotations"]
    assert await router.get_routes(canary) == Routes(100, 0)


@pytest.mark.parametrize(
    ("routes", "shown"),
    [(Routes(90, 10), "90/10"), (Routes(100, 0, mirrored=True), "100/0 mirrored")],
)
async def test_splits_are_refused(kube: CountingKube, routes: Routes, shown: str) -> None:
    canary = await new_canary(kube, provider="kubernetes")
    router = router_for("kubernetes", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    with pytest.raises(RouterError) as raised:
        await router.set_routes(canary, routes)
    assert str(raised.value) == (
        f"Service prod/podinfo: the kubernetes provider routes all traffic to one side, found "
        f"{shown}; use a mesh provider to split traffic"
    )


async def test_finalize_gives_the_apex_back(kube: CountingKube) -> None:
    canary = await new_canary(kube, provider="kubernetes")
    router = router_for("kubernetes", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(0, 100))
    await router.finalize(canary)
    apex = await service(kube, "podinfo")
    assert apex["spec"]["selector"] == {"app": "podinfo"}
    assert "serinus.io/apex-routes-to" not in apex["metadata"].get("annotations", {})
