"""``Kube`` with its informer cache on, against the real API server through a recording proxy.

Covers: the first read of a kind starts its informer and goes to the server; once the informer has
listed, reads (of present and absent objects) send no request; another client's change and
deletion reach the cache through the watch; a write's answer is read back at once (no stale read
between a write and its watch event); a 409 Conflict marks the object stale, so
``retry_on_conflict`` reads the server's version and succeeds; Leases and Secrets are never
cached; a kind the client may not list is read from the server as before; following a kind
(``Kube.follow``, what schedules the Canaries' ticks) and reading it share one list and one watch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from serinus import errors
from serinus.apis.base import Manifest
from serinus.kube import Kube, retry_on_conflict
from tests.kube.conftest import settings
from tests.kube.support import FaultProxy, configmap

CM = ("v1", "ConfigMap")


@pytest.fixture
async def cached(proxy: FaultProxy) -> AsyncIterator[Kube]:
    async with Kube(settings(proxy.url)) as client:
        client.enable_cache(("prod",))
        yield client


async def synced(kube: Kube, name: str) -> None:
    """Read until the ConfigMap informer has listed (its first reads go to the server)."""
    await kube.get(*CM, name, "prod")
    assert kube.cache is not None
    informer = kube.cache.informer("v1", "ConfigMap", True, "prod", start=False)
    assert informer is not None
    await asyncio.wait_for(informer.synced.wait(), 5)


async def soon(check: Callable[[], Awaitable[bool]]) -> bool:
    """Whether ``check`` holds within 5 s (the watch delivers in milliseconds)."""
    for _ in range(500):
        if await check():
            return True
        await asyncio.sleep(0.01)
    return False


def gets(proxy: FaultProxy) -> list[str]:
    """Reads and lists of ConfigMaps (not watches), without their query."""
    return [p.split("?")[0] for p in proxy.seen("GET", "/configmaps") if "watch=" not in p]


async def test_reads_after_the_list_send_no_request(
    kube: Kube, cached: Kube, proxy: FaultProxy
) -> None:
    await kube.create(configmap("a", v="1"))
    await synced(cached, "a")
    before = len(proxy.requests)
    for _ in range(20):
        found = await cached.get(*CM, "a", "prod")
        assert found is not None
        assert found["data"] == {"v": "1"}
        assert await cached.get(*CM, "absent", "prod") is None
    assert len(proxy.requests) == before
    found = await cached.get(*CM, "a", "prod")
    assert found is not None
    found["data"]["v"] = "changed by the caller"  # a read is the caller's own copy
    again = await cached.get(*CM, "a", "prod")
    assert again is not None
    assert again["data"] == {"v": "1"}
    assert "managedFields" not in again["metadata"]


async def test_changes_by_others_arrive_through_the_watch(
    kube: Kube, cached: Kube, proxy: FaultProxy
) -> None:
    await kube.create(configmap("a", v="1"))
    await synced(cached, "a")
    await kube.patch(*CM, "a", "prod", {"data": {"v": "2"}})
    await kube.create(configmap("b", v="new"))

    async def value(name: str) -> object:
        found = await cached.get(*CM, name, "prod")
        return None if found is None else found["data"]["v"]

    async def arrived() -> bool:
        return await value("a") == "2" and await value("b") == "new"

    assert await soon(arrived)
    await kube.delete(*CM, "a", "prod")

    async def gone() -> bool:
        return await cached.get(*CM, "a", "prod") is None

    assert await soon(gone)
    # "a" read once from the server (before the list), then the list; the rest from memory
    assert gets(proxy) == [
        "/api/v1/namespaces/prod/configmaps/a",
        "/api/v1/namespaces/prod/configmaps",
    ]


async def test_following_a_kind_and_reading_it_share_one_list_and_one_watch(
    kube: Kube, cached: Kube, proxy: FaultProxy
) -> None:
    await kube.create(configmap("a", v="1"))
    seen: list[tuple[str, str, object]] = []
    listed = asyncio.Event()

    async def follow() -> None:
        async for event_type, obj in cached.follow(*CM, "prod", synced=listed.set):
            if obj["metadata"]["name"] != "kube-root-ca.crt":  # every namespace has it
                seen.append((event_type, obj["metadata"]["name"], obj["data"]["v"]))

    following = asyncio.create_task(follow())
    try:
        await asyncio.wait_for(listed.wait(), 5)
        assert seen == [("ADDED", "a", "1")]
        found = await cached.get(*CM, "a", "prod")  # from the follower's informer
        assert found is not None
        assert found["data"] == {"v": "1"}
        await kube.patch(*CM, "a", "prod", {"data": {"v": "2"}})
        await kube.delete(*CM, "a", "prod")

        async def deleted() -> bool:
            return bool(seen) and seen[-1][0] == "DELETED"

        assert await soon(deleted)
        assert [event[:2] for event in seen] == [
            ("ADDED", "a"),
            ("MODIFIED", "a"),
            ("DELETED", "a"),
        ]
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
    watches = [p for p in proxy.seen("GET", "/configmaps") if "watch=" in p]
    assert len(watches) == 1
    assert gets(proxy) == ["/api/v1/namespaces/prod/configmaps"]  # one list, no read


async def test_a_write_is_read_back_at_once(kube: Kube, cached: Kube, proxy: FaultProxy) -> None:
    await kube.create(configmap("a", v="1"))
    await synced(cached, "a")
    for value in "23456789":
        current = await cached.get(*CM, "a", "prod")
        assert current is not None
        # no 409: each write carries the version the previous one returned
        await cached.replace({**current, "data": {"v": value}})
        again = await cached.get(*CM, "a", "prod")
        assert again is not None
        assert again["data"] == {"v": value}
    assert not proxy.seen("GET", "/configmaps/a")[1:]


async def test_a_conflict_reads_the_server_again(
    kube: Kube, cached: Kube, proxy: FaultProxy
) -> None:
    await kube.create(configmap("a", v="1"))
    await synced(cached, "a")
    stale = await cached.get(*CM, "a", "prod")
    assert stale is not None

    changes = iter("xy")

    async def change_underneath() -> None:
        await kube.patch(*CM, "a", "prod", {"data": {"other": next(changes)}})

    proxy.before("PUT", "/configmaps/a", change_underneath)
    with pytest.raises(errors.ConflictError):
        await cached.replace({**stale, "data": {"v": "lost"}})
    reads_before = len(proxy.seen("GET", "/configmaps/a"))
    proxy.before("PUT", "/configmaps/a", change_underneath)

    async def fetch() -> Manifest:
        found = await cached.get(*CM, "a", "prod")
        assert found is not None
        return found

    def mutate(current: Manifest) -> Manifest:
        return {**current, "data": {**current["data"], "v": "won"}}

    written = await retry_on_conflict(fetch, mutate, cached.replace)
    assert written["data"]["v"] == "won"
    # the stale object was read from the server, twice (after each 409), not from memory
    assert len(proxy.seen("GET", "/configmaps/a")) == reads_before + 2
    final = await kube.get(*CM, "a", "prod")
    assert final is not None
    assert final["data"] == {"v": "won", "other": "y"}


async def test_leases_and_secrets_are_never_cached(cached: Kube, proxy: FaultProxy) -> None:
    for _ in range(3):
        assert await cached.get("coordination.k8s.io/v1", "Lease", "l", "prod") is None
        assert await cached.get("v1", "Secret", "s", "prod") is None
    assert len(proxy.seen("GET", "/leases/l")) == 3
    assert len(proxy.seen("GET", "/secrets/s")) == 3
    assert not proxy.seen("GET", "watch=")


async def test_a_kind_it_may_not_list_is_read_from_the_server(
    kube: Kube, cached: Kube, proxy: FaultProxy
) -> None:
    await kube.create(configmap("a", v="1"))
    proxy.fail(403, times=1, method="GET", path="/configmaps?", reason="Forbidden")
    for _ in range(3):
        found = await cached.get(*CM, "a", "prod")
        assert found is not None
        assert found["data"] == {"v": "1"}
    await asyncio.sleep(0.1)
    assert await cached.get(*CM, "a", "prod") is not None
    assert len(proxy.seen("GET", "/configmaps/a")) == 4


def test_an_integer_beyond_64_bits_is_held_exactly() -> None:
    # a hostile manifest may carry one: orjson cannot write it, and no float may replace it
    from serinus.kube.cache import Informer

    informer = Informer("v1", "ConfigMap", "prod")
    informer.synced.set()
    huge = 10**25 + 7
    obj = {"metadata": {"name": "a", "namespace": "prod", "resourceVersion": "5"}, "spec": huge}
    informer.store(obj)
    informer.store({**obj, "metadata": {**obj["metadata"], "name": "b"}, "spec": 3})
    found, held = informer.get("prod", "a")
    assert found
    assert held is not None
    assert held["spec"] == huge
    assert isinstance(held["spec"], int)
    _, small = informer.get("prod", "b")
    assert small is not None
    assert small["spec"] == 3


async def test_a_watched_object_is_held_as_the_server_has_it_without_managed_fields(
    kube: Kube, cached: Kube
) -> None:
    """An object a watch event brings is held from the event's bytes, not decoded and written
    again: what a read gets is the server's object, managedFields (not needed, and most of its
    size) excepted."""
    await kube.create(configmap("a", v="1"))
    await synced(cached, "a")
    await kube.patch(*CM, "a", "prod", {"data": {"v": "2", "big": str(10**30)}})
    await kube.patch(*CM, "a", "prod", {"metadata": {"labels": {"x": "y"}}})
    server = await kube.get(*CM, "a", "prod")
    assert server is not None
    assert server["metadata"].get("managedFields")  # the sandbox keeps them, as Kubernetes does
    del server["metadata"]["managedFields"]

    async def arrived() -> bool:
        return await cached.get(*CM, "a", "prod") == server

    assert await soon(arrived)


def _event(obj: str) -> bytes:
    return b'{"type":"MODIFIED","object":' + obj.encode() + b"}"


FIELDS = '"managedFields":[{"manager":"kubectl","fieldsV1":{"f:spec":{}}}]'


@pytest.mark.parametrize(
    "metadata",
    [
        '{"name":"a","namespace":"prod","resourceVersion":"9",' + FIELDS + "}",
        '{"name":"a",' + FIELDS + ',"namespace":"prod","resourceVersion":"9"}',
        "{" + FIELDS + ',"name":"a","namespace":"prod","resourceVersion":"9"}',
        '{"name": "a", "namespace": "prod", "resourceVersion": "9", '
        + FIELDS.replace(":", ": ", 1)
        + "}",
    ],
    ids=["last", "middle", "first", "spaced"],
)
def test_managed_fields_are_cut_wherever_they_are(metadata: str) -> None:
    from serinus.kube.cache import Informer
    from serinus.kube.watch import parse_seen

    informer = Informer("v1", "ConfigMap", "prod")
    informer.synced.set()
    _, seen = parse_seen(_event('{"metadata":' + metadata + ',"spec":{"n":1}}'), action="w")
    informer.store(seen)
    assert informer.get("prod", "a") == (
        True,
        {"metadata": {"name": "a", "namespace": "prod", "resourceVersion": "9"}, "spec": {"n": 1}},
    )


def test_managed_fields_copied_elsewhere_in_the_object_stay_there() -> None:
    """A field of the same name and value in the spec (a copy pasted by hand) is not the one
    cut: the object is then written again from its document."""
    from serinus.kube.cache import Informer
    from serinus.kube.watch import parse_seen

    informer = Informer("v1", "ConfigMap", "prod")
    informer.synced.set()
    line = _event(
        '{"spec":{' + FIELDS + '},"metadata":{"name":"a","namespace":"prod",'
        '"resourceVersion":"9",' + FIELDS + "}}"
    )
    informer.store(parse_seen(line, action="w")[1])
    _, held = informer.get("prod", "a")
    assert held is not None
    assert "managedFields" not in held["metadata"]
    assert held["spec"]["managedFields"] == [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]


def test_a_watched_integer_beyond_64_bits_is_held_exactly() -> None:
    from serinus.kube.cache import Informer
    from serinus.kube.watch import parse_seen

    informer = Informer("v1", "ConfigMap", "prod")
    informer.synced.set()
    line = _event(
        '{"metadata":{"name":"a","namespace":"prod","resourceVersion":"9",' + FIELDS + "},"
        '"spec":{"n":123456789012345678901234567890}}'
    )
    informer.store(parse_seen(line, action="w")[1])
    _, held = informer.get("prod", "a")
    assert held is not None
    assert held["spec"]["n"] == 123456789012345678901234567890
