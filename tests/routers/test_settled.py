"""Objects found as wanted are not merged again until they or the wishes change.

Covers: a second reconcile of unchanged Services remembers them and a third writes nothing; a
user's edit of a remembered Service (its selector, a stray label) is repaired at the next
reconcile; a changed wish (the Canary's port) is written to a remembered Service; the digest
changes with the object's resourceVersion and with what is wanted, and an object without a
resourceVersion is never remembered.
"""

from __future__ import annotations

from serinus.routers import settled
from serinus.routers.objects import Desired
from serinus.routers.services import ServiceBlueprint, Services, Target
from tests.routers.support import CountingKube, new_canary, service, with_spec


def services(kube: CountingKube) -> Services:
    return Services(kube, provider="linkerd")


async def test_a_users_edit_of_a_settled_service_is_repaired(kube: CountingKube) -> None:
    canary = await new_canary(kube)
    router = services(kube)
    await router.initialize(canary)  # created
    await router.initialize(canary)  # found as wanted: remembered
    assert len(settled.Settled.of(kube)) == 2
    writes = kube.writes
    await router.initialize(canary)
    assert kube.writes == writes

    edited = await service(kube, "podinfo-primary")
    edited["spec"]["selector"] = {"app": "someone-else"}
    edited["metadata"]["labels"]["stray"] = "x"
    await kube.replace(edited)
    await router.initialize(canary)
    repaired = await service(kube, "podinfo-primary")
    assert repaired["spec"]["selector"] == {"app": "podinfo-primary"}
    assert repaired["metadata"]["labels"] == {"app": "podinfo-primary"}


async def test_a_changed_wish_reaches_a_settled_service(kube: CountingKube) -> None:
    canary = await new_canary(kube)
    router = services(kube)
    await router.initialize(canary)
    await router.initialize(canary)
    changed = with_spec(canary, service={"port": 8080})
    await router.initialize(changed)
    for name in ("podinfo-primary", "podinfo-canary"):
        ports = (await service(kube, name))["spec"]["ports"]
        assert [(p["port"], p["targetPort"]) for p in ports] == [(8080, 8080)]


async def test_the_digest_follows_the_version_and_the_wish(kube: CountingKube) -> None:
    canary = await new_canary(kube)
    blueprint = ServiceBlueprint("primary", Target(services(kube)._workload), provider="linkerd")
    existing = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x", "uid": "u"}}
    wish = Desired(body={"spec": {"selector": {"app": "a"}}})
    assert settled.digest(blueprint, canary, existing, wish) is None
    existing["metadata"]["resourceVersion"] = "1"
    first = settled.digest(blueprint, canary, existing, wish)
    assert first is not None
    assert settled.digest(blueprint, canary, existing, wish) == first
    other = Desired(body={"spec": {"selector": {"app": "b"}}})
    assert settled.digest(blueprint, canary, existing, other) != first
    existing["metadata"]["resourceVersion"] = "2"
    assert settled.digest(blueprint, canary, existing, wish) != first
