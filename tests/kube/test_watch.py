"""``Kube.watch`` across everything that ends a watch stream, against the real API server.

Covers: the current objects come first as ADDED (from a list), then live ADDED/MODIFIED/DELETED;
a watch given a resourceVersion sends only later changes; a label-filtered watch reports an
object leaving the selection as DELETED and one entering it as ADDED; when the connection is cut
mid-stream and the server refuses new connections for a while, the watch resumes from the last
version it saw, delivering the changes made meanwhile once each and nothing twice; when the
resume version has left the server's window (410 Gone) it lists again and reports exactly what
changed as ADDED/MODIFIED/DELETED, then keeps following; 5xx on the watch request is retried;
a stream that keeps ending at once is backed off, not hammered; 403 ends the watch with
ForbiddenError; an unserved kind ends it with NotFoundError. ``changes`` computes re-list
differences.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from serinus import errors
from serinus.apis.base import Manifest
from serinus.kube import Kube, watch
from serinus.kube.retry import RetryPolicy
from serinus.kube.watch import changes
from serinus.sandbox.apiserver import ApiServer
from tests.kube.conftest import settings
from tests.kube.support import ROOT_CA, FaultProxy, configmap, namespace

Seen = tuple[str, str, str]
"""(event type, name, value of data.v)."""


class Watching:
    """A watch running in the background; events are read from a queue with a timeout."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Seen | BaseException] = asyncio.Queue()

    async def take(self, count: int) -> list[Seen]:
        taken: list[Seen] = []
        for _ in range(count):
            item = await asyncio.wait_for(self.queue.get(), timeout=10)
            if isinstance(item, BaseException):
                raise item
            taken.append(item)
        return taken

    async def error(self) -> BaseException:
        item = await asyncio.wait_for(self.queue.get(), timeout=10)
        assert isinstance(item, BaseException), f"expected the watch to fail, got {item}"
        return item

    def quiet(self) -> bool:
        return self.queue.empty()


@asynccontextmanager
async def watching(
    kube: Kube,
    kind: tuple[str, str] = ("v1", "ConfigMap"),
    *,
    namespace: str | None = None,
    resource_version: str | None = None,
    labels: dict[str, str] | None = None,
) -> AsyncIterator[Watching]:
    watch = Watching()

    async def run() -> None:
        try:
            async for event_type, obj in kube.watch(
                *kind, namespace, resource_version, labels=labels
            ):
                if obj["metadata"]["name"] == ROOT_CA:
                    continue  # the namespace's own ConfigMap, as on a real cluster
                data = obj.get("data") or {}
                await watch.queue.put((event_type, obj["metadata"]["name"], data.get("v", "")))
        except errors.SerinusError as error:
            await watch.queue.put(error)

    task = asyncio.create_task(run())
    try:
        yield watch
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def settle(kube: Kube) -> None:
    """A round trip to the server, after which events it sent earlier have been delivered."""
    await kube.server_version()
    await asyncio.sleep(0.05)


async def test_current_objects_come_first_then_live_changes(kube: Kube) -> None:
    await kube.create(configmap("a", v="1"))
    await kube.create(configmap("b", v="1"))
    async with watching(kube, namespace="prod") as watch:
        assert await watch.take(2) == [("ADDED", "a", "1"), ("ADDED", "b", "1")]
        await kube.patch("v1", "ConfigMap", "a", "prod", {"data": {"v": "2"}})
        await kube.create(configmap("c", v="1"))
        await kube.delete("v1", "ConfigMap", "b", "prod")
        assert await watch.take(3) == [
            ("MODIFIED", "a", "2"),
            ("ADDED", "c", "1"),
            ("DELETED", "b", "1"),
        ]


async def test_a_watch_from_a_version_sends_only_later_changes(kube: Kube) -> None:
    await kube.create(namespace("other"))
    await kube.create(configmap("a", v="1"))
    _, version = await kube.list_at("v1", "ConfigMap")
    await kube.create(configmap("b", v="1", namespace="other"))
    async with watching(kube, resource_version=version) as watch:
        assert await watch.take(1) == [("ADDED", "b", "1")]
        await settle(kube)
        assert watch.quiet()


async def test_a_label_filtered_watch_reports_leaving_the_selection_as_deleted(kube: Kube) -> None:
    await kube.create(_labelled("a", "canary"))
    await kube.create(_labelled("b", "other"))
    async with watching(kube, namespace="prod", labels={"role": "canary"}) as watch:
        assert await watch.take(1) == [("ADDED", "a", "")]
        await kube.patch(
            "v1", "ConfigMap", "b", "prod", {"metadata": {"labels": {"role": "canary"}}}
        )
        await kube.patch("v1", "ConfigMap", "a", "prod", {"metadata": {"labels": {"role": "x"}}})
        assert await watch.take(2) == [("ADDED", "b", ""), ("DELETED", "a", "")]


def _labelled(name: str, role: str) -> Manifest:
    manifest = configmap(name)
    manifest["metadata"]["labels"] = {"role": role}
    return manifest


async def test_a_cut_connection_resumes_from_the_last_version_seen(
    kube: Kube, proxy: FaultProxy, proxied: Kube
) -> None:
    await kube.create(configmap("a", v="1"))
    async with watching(proxied, namespace="prod") as watch:
        assert await watch.take(1) == [("ADDED", "a", "1")]
        seen_version = (await kube.get("v1", "ConfigMap", "a", "prod") or {})["metadata"][
            "resourceVersion"
        ]

        await proxy.wait_streaming()
        proxy.refuse = True
        proxy.drop_streams()
        await kube.patch("v1", "ConfigMap", "a", "prod", {"data": {"v": "2"}})
        await kube.create(configmap("b", v="1"))
        proxy.refuse = False

        assert await watch.take(2) == [("MODIFIED", "a", "2"), ("ADDED", "b", "1")]
        await kube.create(configmap("c", v="1"))
        assert await watch.take(1) == [("ADDED", "c", "1")]
        await settle(kube)
        assert watch.quiet(), "an event was delivered twice"

    resumed = [p for p in proxy.seen("GET", "watch=true") if f"resourceVersion={seen_version}" in p]
    assert resumed, f"no watch resumed from {seen_version}: {proxy.seen('GET', 'watch=true')}"


async def test_410_gone_lists_again_and_reports_what_changed() -> None:
    async with ApiServer(port=0, watch_window=3) as api, Kube(settings(api.url)) as kube:
        await kube.create(namespace("prod"))
        await kube.create(configmap("kept", v="1"))
        await kube.create(configmap("changed", v="1"))
        await kube.create(configmap("removed", v="1"))
        async with FaultProxy(api.url) as proxy, Kube(settings(proxy.url)) as proxied:
            async with watching(proxied, namespace="prod") as watch:
                assert len(await watch.take(3)) == 3
                await proxy.wait_streaming()
                proxy.refuse = True
                proxy.drop_streams()
                await kube.patch("v1", "ConfigMap", "changed", "prod", {"data": {"v": "2"}})
                await kube.delete("v1", "ConfigMap", "removed", "prod")
                await kube.create(configmap("new", v="1"))
                for index in range(4):  # push the watch's version out of the server's window
                    await kube.create(configmap(f"elsewhere-{index}", "default"))
                proxy.refuse = False

                caught_up = await watch.take(3)
                assert sorted(caught_up) == [
                    ("ADDED", "new", "1"),
                    ("DELETED", "removed", "1"),
                    ("MODIFIED", "changed", "2"),
                ]
                await kube.patch("v1", "ConfigMap", "kept", "prod", {"data": {"v": "3"}})
                assert await watch.take(1) == [("MODIFIED", "kept", "3")]
                await settle(kube)
                assert watch.quiet()
            lists = [p for p in proxy.seen("GET", "/configmaps") if "watch=" not in p]
            assert len(lists) == 2, "expected the first list and one re-list after 410"


async def test_server_errors_on_the_watch_request_are_retried(
    kube: Kube, proxy: FaultProxy, proxied: Kube
) -> None:
    await kube.create(configmap("a", v="1"))
    proxy.fail(500, times=2, message="etcdserver: request timed out", path="watch=")
    async with watching(proxied, namespace="prod") as watch:
        assert await watch.take(1) == [("ADDED", "a", "1")]
        await kube.patch("v1", "ConfigMap", "a", "prod", {"data": {"v": "2"}})
        assert await watch.take(1) == [("MODIFIED", "a", "2")]
    assert len(proxy.seen("GET", "watch=")) >= 3


async def test_a_stream_that_ends_at_once_is_no_request_storm(
    kube: Kube, proxy: FaultProxy, proxied: Kube
) -> None:
    await kube.create(configmap("a", v="1"))
    proxy.fail(200, times=1000, raw="", path="watch=")  # an empty answer, again and again
    async with watching(proxied, namespace="prod") as watch:
        assert await watch.take(1) == [("ADDED", "a", "1")]
        await asyncio.sleep(0.3)
    assert len(proxy.seen("GET", "watch=")) < 20


async def test_a_forbidden_watch_ends_with_forbidden(proxy: FaultProxy, proxied: Kube) -> None:
    proxy.fail(403, times=10, reason="Forbidden", message="cannot watch configmaps", path="watch=")
    async with watching(proxied, namespace="prod") as watch:
        error = await watch.error()
    assert isinstance(error, errors.ForbiddenError)
    assert "cannot watch configmaps" in str(error)


async def test_a_watch_on_an_unserved_kind_ends_with_not_found(kube: Kube) -> None:
    async with watching(kube, ("example.com/v1", "Widget")) as watch:
        error = await watch.error()
    assert isinstance(error, errors.NotFoundError)


@pytest.mark.usefixtures("flagger_crds")
async def test_watching_canaries_in_all_namespaces(kube: Kube) -> None:
    async with watching(kube, ("flagger.app/v1beta1", "Canary")) as watch:
        await kube.create(namespace("test"))
        await kube.create(
            {
                "apiVersion": "flagger.app/v1beta1",
                "kind": "Canary",
                "metadata": {"name": "web", "namespace": "test"},
                "spec": {
                    "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    "service": {"port": 80},
                    "analysis": {
                        "interval": "1m",
                        "threshold": 5,
                        "stepWeight": 10,
                        "maxWeight": 50,
                    },
                },
            }
        )
        assert await watch.take(1) == [("ADDED", "web", "")]


def _cm(name: str, version: str) -> Manifest:
    return {"metadata": {"name": name, "namespace": "prod", "resourceVersion": version}}


def test_changes_reports_additions_modifications_and_deletions() -> None:
    known = {("prod", n): _cm(n, "1") for n in ("same", "changed", "gone")}
    listed = [_cm("same", "1"), _cm("changed", "7"), _cm("new", "8")]
    found = changes(known, listed)
    assert [(kind, obj["metadata"]["name"]) for kind, obj in found] == [
        ("DELETED", "gone"),
        ("MODIFIED", "changed"),
        ("ADDED", "new"),
    ]
    assert set(known) == {("prod", "same"), ("prod", "changed"), ("prod", "new")}
    assert changes(known, listed) == []


async def test_a_server_keeping_no_history_still_gets_every_change() -> None:
    """With no window at all, a resume after any change is 410: each change still arrives."""
    async with ApiServer(port=0, watch_window=0) as api, Kube(settings(api.url)) as kube:
        await kube.create(namespace("prod"))
        async with (
            FaultProxy(api.url) as proxy,
            Kube(settings(proxy.url)) as proxied,
            watching(proxied, namespace="prod") as watch,
        ):
            await kube.create(configmap("a", v="1"))
            assert await watch.take(1) == [("ADDED", "a", "1")]
            await proxy.wait_streaming()
            proxy.drop_streams()
            await kube.patch("v1", "ConfigMap", "a", "prod", {"data": {"v": "2"}})
            assert await watch.take(1) == [("MODIFIED", "a", "2")]


def test_an_event_with_an_integer_beyond_64_bits_keeps_it_exact() -> None:
    from serinus.kube.watch import parse_event

    spec = '{"maxWeight":12345678901234567890123}'
    line = '{"type":"ADDED","object":{"kind":"Canary","spec":' + spec + "}}"
    event_type, obj = parse_event(line, action="watch")
    assert event_type == "ADDED"
    assert obj["spec"]["maxWeight"] == 12345678901234567890123
    assert parse_event('{"type":"MODIFIED","object":{"n":7}}', action="watch")[1] == {"n": 7}


class _Tracked(dict):  # type: ignore[type-arg]
    """A listed object that can be watched for being freed (a plain dict cannot)."""


async def test_the_first_list_is_not_kept_once_reported() -> None:
    """An informer watches for as long as the operator runs: the objects of its first list
    (thousands of Deployments and Canaries, tens of megabytes) must not stay referenced by the
    watch once reported; what it remembers of each is ``keep``'s."""
    listed = [
        _Tracked(metadata={"namespace": "prod", "name": f"cm-{i}", "resourceVersion": str(i)})
        for i in range(1, 4)
    ]
    refs = [weakref.ref(obj) for obj in listed]

    async def list_objects() -> tuple[list[Manifest], str]:
        return list(listed), "3"

    async def quiet_stream(version: str | None) -> AsyncIterator[tuple[str, Manifest]]:
        await asyncio.Event().wait()  # no change, ever
        yield "MODIFIED", {}

    events = watch.follow(
        list_objects,
        quiet_stream,  # type: ignore[arg-type]
        resource_version=None,
        policy=RetryPolicy(),
        keep=watch.metadata_only,
    )
    assert [(kind, obj["metadata"]["name"]) async for kind, obj in _first(events, 3)] == [
        ("ADDED", "cm-1"), ("ADDED", "cm-2"), ("ADDED", "cm-3"),
    ]  # fmt: skip
    waiting = asyncio.create_task(anext(events))  # on to the watch, which stays quiet
    await asyncio.sleep(0.05)
    listed.clear()
    gc.collect()
    try:
        assert [ref() is None for ref in refs] == [True, True, True]
    finally:
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        await events.aclose()  # type: ignore[attr-defined]


async def _first(
    events: AsyncIterator[tuple[str, Manifest]], count: int
) -> AsyncIterator[tuple[str, Manifest]]:
    for _ in range(count):
        yield await anext(events)


def test_an_informer_s_event_keeps_its_object_as_sent_and_decodes_it_once_asked() -> None:
    from serinus.kube.watch import Seen, parse_seen

    line = b'{"type":"ADDED","object":{"kind":"ConfigMap","metadata":{"name":"a",'
    line += b'"namespace":"prod","resourceVersion":"12","uid":"u1"},"data":{"v":"1"}}}'
    event_type, seen = parse_seen(line, action="watch")
    assert event_type == "ADDED"
    assert isinstance(seen, Seen)
    assert (seen.key, seen.version) == (("prod", "a"), "12")
    assert seen.manifest["data"] == {"v": "1"}
    assert watch.metadata_only(seen)["metadata"] == {
        "name": "a", "namespace": "prod", "resourceVersion": "12", "uid": "u1"
    }  # fmt: skip


def test_an_informer_s_event_in_error_or_garbled_is_raised_as_before() -> None:
    from serinus.kube.watch import parse_seen

    gone = b'{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired",'
    gone += b'"message":"too old resource version"}}'
    with pytest.raises(errors.KubeError) as raised:
        parse_seen(gone, action="watch")
    assert raised.value.http_status == 410
    for garbled in (b'{"type":"ADDED"', b'{"type":"ADDED","object":[1]}', b"{}"):
        with pytest.raises(errors.KubeError, match="garbled event"):
            parse_seen(garbled, action="watch")
    # a name that is not a string (no API server writes one) is read as a document
    odd = b'{"type":"ADDED","object":{"metadata":{"name":7,"resourceVersion":"3"}}}'
    assert parse_seen(odd, action="watch") == (
        "ADDED",
        {"metadata": {"name": 7, "resourceVersion": "3"}},
    )
