"""Watch streams over HTTP, as clients read them line by line.

Covers: a watch without resourceVersion starts with ADDED for current objects in
resourceVersion order, then live MODIFIED/DELETED with increasing versions; `watch=1` and
`watch=True` work; a namespaced watch sees only its namespace, an all-namespaces one sees all;
resuming from a version replays only later changes; a version older than the window gets one
in-stream ERROR event with a 410 Expired Status; timeoutSeconds ends the stream; bookmarks when
allowed; label selectors turn leaving the selection into DELETED and entering it into ADDED;
field selectors on metadata.name; sendInitialEvents ends the burst with the initial-events-end
bookmark; the Table form for kubectl; stopping the server ends open streams cleanly; a watch
allowing bookmarks gets one just before its timeout, with the latest resourceVersion; a burst of
changes queued at once reaches every watcher in order, each event its own line.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from serinus.sandbox.apiserver import ApiServer, writes
from tests.sandbox.apiserver.support import ROOT_CA, configmap, namespace

CONFIGMAPS = "/api/v1/namespaces/prod/configmaps"
MERGE = {"Content-Type": "application/merge-patch+json"}


class Events:
    """The events of one open watch stream."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self._lines = lines

    async def next(self) -> dict[str, Any]:
        """The next event, skipping those of the namespace's own ``kube-root-ca.crt``."""
        while True:
            line = await asyncio.wait_for(anext(self._lines), timeout=10)
            event: dict[str, Any] = json.loads(line)
            if event["object"].get("metadata", {}).get("name") != ROOT_CA:
                return event

    async def take(self, count: int) -> list[tuple[str, str]]:
        return [_brief(await self.next()) for _ in range(count)]

    async def rest(self) -> list[dict[str, Any]]:
        """Everything until the server ends the stream."""
        found = []
        while True:
            try:
                found.append(await self.next())
            except StopAsyncIteration:
                return found


def _brief(event: dict[str, Any]) -> tuple[str, str]:
    return event["type"], event["object"]["metadata"].get("name", "")


@asynccontextmanager
async def watching(http: httpx.AsyncClient, url: str, **headers: str) -> AsyncIterator[Events]:
    async with http.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        yield Events(response.aiter_lines())


async def prod(http: httpx.AsyncClient) -> None:
    await http.post("/api/v1/namespaces", json=namespace("prod"))


async def test_initial_objects_then_live_changes(http: httpx.AsyncClient) -> None:
    await prod(http)
    await http.post(CONFIGMAPS, json=configmap("b"))
    await http.post(CONFIGMAPS, json=configmap("a"))
    await http.patch(f"{CONFIGMAPS}/b", content='{"data":{"x":"1"}}', headers=MERGE)
    async with watching(http, f"{CONFIGMAPS}?watch=true") as events:
        first = [await events.next(), await events.next()]
        assert [_brief(e) for e in first] == [("ADDED", "a"), ("ADDED", "b")]
        await http.patch(f"{CONFIGMAPS}/a", content='{"data":{"y":"2"}}', headers=MERGE)
        await http.delete(f"{CONFIGMAPS}/b")
        later = [await events.next(), await events.next()]
        assert [_brief(e) for e in later] == [("MODIFIED", "a"), ("DELETED", "b")]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in first + later]
    assert versions == sorted(versions)
    assert later[0]["object"]["data"] == {"key": "value", "y": "2"}


async def test_watch_flag_spellings_and_scopes(http: httpx.AsyncClient) -> None:
    await prod(http)
    await http.post(CONFIGMAPS, json=configmap("in-prod"))
    await http.post(
        "/api/v1/namespaces/default/configmaps", json=configmap("in-default", "default")
    )
    async with watching(http, f"{CONFIGMAPS}?watch=1") as events:
        assert await events.take(1) == [("ADDED", "in-prod")]
        await http.post("/api/v1/namespaces/default/configmaps", json=configmap("other", "default"))
        await http.post(CONFIGMAPS, json=configmap("second"))
        assert await events.take(1) == [("ADDED", "second")]
    async with watching(http, "/api/v1/configmaps?watch=True") as events:
        names = sorted(name for _, name in await events.take(4))
        assert names == ["in-default", "in-prod", "other", "second"]


async def test_resume_replays_only_later_changes(http: httpx.AsyncClient) -> None:
    await prod(http)
    created = (await http.post(CONFIGMAPS, json=configmap("a"))).json()
    await http.post(CONFIGMAPS, json=configmap("b"))
    await http.delete(f"{CONFIGMAPS}/a")
    version = created["metadata"]["resourceVersion"]
    async with watching(http, f"{CONFIGMAPS}?watch=true&resourceVersion={version}") as events:
        assert await events.take(2) == [("ADDED", "b"), ("DELETED", "a")]


async def test_too_old_version_is_an_in_stream_410() -> None:
    async with (
        ApiServer(port=0, watch_window=2) as api,
        httpx.AsyncClient(base_url=api.url) as http,
    ):
        await prod(http)
        first = (await http.post(CONFIGMAPS, json=configmap("a"))).json()
        for name in ("b", "c", "d"):
            await http.post(CONFIGMAPS, json=configmap(name))
        url = f"{CONFIGMAPS}?watch=true&resourceVersion={first['metadata']['resourceVersion']}"
        async with watching(http, url) as events:
            received = await events.rest()
    assert len(received) == 1
    assert received[0]["type"] == "ERROR"
    status = received[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    assert status["message"].startswith("too old resource version: ")


async def test_timeout_seconds_ends_the_stream(http: httpx.AsyncClient) -> None:
    await prod(http)
    await http.post(CONFIGMAPS, json=configmap("a"))
    async with watching(http, f"{CONFIGMAPS}?watch=true&timeoutSeconds=1") as events:
        received = await events.rest()
    assert [_brief(e) for e in received] == [("ADDED", "a")]


async def test_bookmarks_when_allowed(http: httpx.AsyncClient) -> None:
    await prod(http)
    async with watching(http, f"{CONFIGMAPS}?watch=true&allowWatchBookmarks=true") as events:
        bookmark = await events.next()
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["kind"] == "ConfigMap"
    assert int(bookmark["object"]["metadata"]["resourceVersion"]) > 0


async def test_label_selector_sends_leaving_objects_as_deleted(http: httpx.AsyncClient) -> None:
    await prod(http)
    await http.post(CONFIGMAPS, json=configmap("a", tier="web"))
    await http.post(CONFIGMAPS, json=configmap("b", tier="db"))
    async with watching(http, f"{CONFIGMAPS}?watch=true&labelSelector=tier%3Dweb") as events:
        assert await events.take(1) == [("ADDED", "a")]
        await http.patch(
            f"{CONFIGMAPS}/a", content='{"metadata":{"labels":{"tier":"db"}}}', headers=MERGE
        )
        await http.patch(f"{CONFIGMAPS}/b", content='{"data":{"ignored":"yes"}}', headers=MERGE)
        await http.patch(
            f"{CONFIGMAPS}/b", content='{"metadata":{"labels":{"tier":"web"}}}', headers=MERGE
        )
        left, entered = await events.next(), await events.next()
    assert _brief(left) == ("DELETED", "a")
    assert left["object"]["metadata"]["labels"] == {"tier": "web"}
    assert _brief(entered) == ("ADDED", "b")


async def test_field_selector_on_name(http: httpx.AsyncClient) -> None:
    await prod(http)
    await http.post(CONFIGMAPS, json=configmap("a"))
    await http.post(CONFIGMAPS, json=configmap("b"))
    async with watching(http, f"{CONFIGMAPS}?watch=true&fieldSelector=metadata.name%3Db") as events:
        assert await events.take(1) == [("ADDED", "b")]
        await http.delete(f"{CONFIGMAPS}/a")
        await http.delete(f"{CONFIGMAPS}/b")
        assert await events.take(1) == [("DELETED", "b")]


async def test_send_initial_events_ends_with_a_bookmark(http: httpx.AsyncClient) -> None:
    await prod(http)
    await http.post(CONFIGMAPS, json=configmap("a"))
    url = (
        f"{CONFIGMAPS}?watch=true&sendInitialEvents=true"
        "&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
    )
    async with watching(http, url) as events:
        added, bookmark = await events.next(), await events.next()
    assert _brief(added) == ("ADDED", "a")
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_table_watch_sends_column_definitions_once(http: httpx.AsyncClient) -> None:
    await prod(http)
    await http.post(CONFIGMAPS, json=configmap("a"))
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    url = f"{CONFIGMAPS}?watch=true&fieldSelector=metadata.name%3Da"
    async with watching(http, url, Accept=accept) as events:
        first = await events.next()
        await http.patch(f"{CONFIGMAPS}/a", content='{"data":{"k2":"v"}}', headers=MERGE)
        second = await events.next()
    assert first["object"]["kind"] == "Table"
    assert [c["name"] for c in first["object"]["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert first["object"]["rows"][0]["cells"][:2] == ["a", 1]
    assert second["type"] == "MODIFIED"
    assert second["object"]["columnDefinitions"] is None
    assert second["object"]["rows"][0]["cells"][:2] == ["a", 2]


async def test_stopping_the_server_ends_open_watches() -> None:
    api = ApiServer(port=0)
    await api.start()
    async with httpx.AsyncClient(base_url=api.url) as http:
        await prod(http)
        async with watching(http, f"{CONFIGMAPS}?watch=true") as events:
            stopping = asyncio.create_task(api.stop())
            assert await events.rest() == []
            await asyncio.wait_for(stopping, timeout=10)


async def test_a_bookmark_comes_just_before_the_timeout() -> None:
    async with (
        ApiServer(port=0, bookmark_interval=60) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        await prod(http)
        await http.post(CONFIGMAPS, json=configmap("a"))
        url = f"{CONFIGMAPS}?watch=true&timeoutSeconds=2&resourceVersion=1"
        async with watching(http, f"{url}&allowWatchBookmarks=true") as events:
            received = await events.rest()
        async with watching(http, url) as events:
            without = await events.rest()
        latest = server.cluster.store.rv
    assert [e["type"] for e in received][-1] == "BOOKMARK"
    assert received[-1]["object"]["metadata"]["resourceVersion"] == str(latest)
    assert [e["type"] for e in received].count("BOOKMARK") == 1
    assert "BOOKMARK" not in [e["type"] for e in without]


async def test_a_burst_of_changes_reaches_every_watcher_whole_and_in_order(
    api: ApiServer, http: httpx.AsyncClient
) -> None:
    """Changes queued together go out together (one write per batch): every watcher still reads
    each event as its own line, in order, the selecting one only its own."""
    await prod(http)
    labelled = f"{CONFIGMAPS}?watch=true&labelSelector=half%3Dyes"
    async with (
        watching(http, f"{CONFIGMAPS}?watch=true") as everything,
        watching(http, labelled) as half,
    ):
        await http.post(CONFIGMAPS, json=configmap("first"))
        assert await everything.take(1) == [("ADDED", "first")]
        configmaps = api.cluster.registry.lookup("", "v1", "configmaps")
        assert configmaps is not None
        for index in range(150):  # no await in between: all of them queue at once
            body = configmap(f"burst-{index:03d}")
            body["metadata"]["labels"] = {"half": "yes" if index % 2 else "no"}
            writes.create(api.cluster, configmaps, "prod", body, writes.WriteOptions())
        seen = [await everything.next() for _ in range(150)]
        selected = [await half.next() for _ in range(75)]
    assert [_brief(e) for e in seen] == [("ADDED", f"burst-{i:03d}") for i in range(150)]
    assert [_brief(e) for e in selected] == [("ADDED", f"burst-{i:03d}") for i in range(1, 150, 2)]
    assert selected == [e for e in seen if e["object"]["metadata"]["labels"]["half"] == "yes"]
