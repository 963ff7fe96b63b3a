"""Covers: the run history ConfigMap against a real API server: written and read back, owned by
the Canary, replaced on later writes; a ConfigMap whose data is not a history (edited by hand,
or hostile) reads as none; a 253-character Canary name still gets a valid ConfigMap name; the
recorder writes during a run only (a run stepping every tick at most once a minute, at once when
a run starts or its phase changes, and a graceful stop writes the rest), and a new recorder (a
restarted operator) continues the same history instead of starting another.

A write after the store's own read or write is one request (a PUT with the resourceVersion of
that read or write, no GET before it: the server's request log says so); someone else's edit in
between (a person, a replica that took the Canary over) is answered 409 and the store reads the
ConfigMap and writes once more, the recorder's whole history; a ConfigMap deleted meanwhile is
created again; the operator's cache (informers on) never holds a history ConfigMap, and a read
of one goes to the API server."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator

import pytest

from serinus.apis.history import History, Point, Run
from serinus.controller.memory import VirtualClock
from serinus.kube import Kube
from serinus.kube.history import HistoryStore, configmap_name, text
from serinus.kube.status import canary_from
from serinus.operating import timeline
from serinus.operator.history import Changes, HistoryRecorder
from serinus.sandbox.apiserver import ApiServer
from tests.kube.conftest import settings
from tests.kube.support import configmap, namespace

CANARY = {
    "apiVersion": "flagger.app/v1beta1",
    "kind": "Canary",
    "metadata": {"name": "podinfo", "namespace": "prod"},
    "spec": {
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
        "service": {"port": 9898},
        "analysis": {"interval": "10s", "threshold": 2, "stepWeight": 50},
    },
}


HISTORY = "/api/v1/namespaces/prod/configmaps/podinfo-serinus-history"


@pytest.fixture
async def api() -> AsyncIterator[ApiServer]:
    """The kube tests' API server, with its request log kept."""
    async with ApiServer(port=0, record_requests=True) as server:
        async with Kube(settings(server.url)) as setup:
            await setup.create(namespace("prod"))
        yield server


def configmap_requests(api: ApiServer, since: int) -> list[tuple[str, str, int]]:
    """(method, path, status) of the ConfigMap requests answered after the first ``since``,
    watches left out."""
    assert api.requests is not None
    return [
        (r.method, r.path, r.status)
        for r in api.requests[since:]
        if "/configmaps" in r.path and "watch=" not in r.query
    ]


async def stored_canary(kube: Kube, **status):
    manifest = await kube.get("flagger.app/v1beta1", "Canary", "podinfo", "prod")
    if status:
        manifest = await kube.patch_status(
            "flagger.app/v1beta1", "Canary", "podinfo", "prod", {"status": status}
        )
    return canary_from(manifest)


async def test_a_history_is_written_owned_by_the_canary_and_read_back(kube: Kube, flagger_crds):
    await kube.create(CANARY)
    canary = await stored_canary(kube)
    store = HistoryStore(kube)
    assert await store.read("prod", "podinfo") is None
    run = Run(revision="abc", started="2030-01-01T00:00:00Z", points=[
        Point(at="2030-01-01T00:00:10Z", phase="Progressing", weight=50)
    ])  # fmt: skip
    await store.write(canary, History(canary="podinfo.prod", runs=[run]))
    await store.write(canary, History(canary="podinfo.prod", runs=[run, run]))
    found = await store.read("prod", "podinfo")
    assert found is not None
    assert len(found.runs) == 2
    configmap = await kube.get("v1", "ConfigMap", "podinfo-serinus-history", "prod")
    owner = configmap["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "Canary",
        "podinfo",
        canary.metadata.uid,
    )


async def test_a_configmap_that_holds_no_history_reads_as_none(kube: Kube, flagger_crds):
    for data in ("not json", '{"runs": "nope"}', '{"runs": [{"revision": "' + "x" * 400 + '"}]}'):
        configmap = {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "podinfo-serinus-history", "namespace": "prod"},
            "data": {"history.json": data},
        }  # fmt: skip
        await kube.apply(configmap)
        assert await HistoryStore(kube).read("prod", "podinfo") is None


def test_long_canary_names_get_valid_configmap_names():
    long = "a" * 253
    name = configmap_name(long)
    assert len(name) <= 253
    assert name.endswith("-serinus-history")
    assert configmap_name("a" * 252 + "b") != name  # still one per Canary
    assert configmap_name("podinfo") == "podinfo-serinus-history"


async def test_the_recorder_writes_during_runs_and_a_new_one_continues(kube: Kube, flagger_crds):
    await kube.create(CANARY)
    clock = VirtualClock(datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC))
    store = HistoryStore(kube)
    idle = await stored_canary(kube, phase="Initialized", lastAppliedSpec="r1")
    recorder = HistoryRecorder(store, clock=clock)
    await recorder.record(idle, before=None)
    await recorder.record(idle, before=idle.status.phase)
    assert await store.read("prod", "podinfo") is None  # nothing to keep between runs

    start = {
        "phase": "Progressing",
        "lastAppliedSpec": "r2",
        "analysisStartTime": "2030-01-01T00:00:00Z",
    }
    running = await stored_canary(kube, **start, canaryWeight=50)
    await recorder.record(running, before=idle.status.phase)
    clock.advance(10)
    restarted = HistoryRecorder(store, clock=clock)  # the operator restarted
    ended = await stored_canary(kube, phase="Succeeded", canaryWeight=0)
    await restarted.record(ended, before=running.status.phase)
    history = await store.read("prod", "podinfo")
    assert history is not None
    assert len(history.runs) == 1
    run = history.runs[0]
    assert [(p.phase, p.weight) for p in run.points] == [("Progressing", 50), ("Succeeded", 0)]
    assert (run.revision, run.outcome, run.ended) == ("r2", "Succeeded", "2030-01-01T00:00:10Z")


async def test_a_run_stepping_every_tick_is_written_once_a_minute_and_at_each_landmark(
    kube: Kube, flagger_crds
):
    await kube.create(CANARY)
    clock = VirtualClock(datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC))
    store = HistoryStore(kube)
    changes = Changes()
    recorder = HistoryRecorder(store, clock=clock, changes=changes)
    start = {"lastAppliedSpec": "r1", "analysisStartTime": "2030-01-01T00:00:00Z"}
    before = None

    async def tick(phase: str, weight: int, *, after: float = 10) -> None:
        nonlocal before
        canary = await stored_canary(kube, **start, phase=phase, canaryWeight=weight)
        await recorder.record(canary, before=before)
        before = canary.status.phase
        clock.advance(after)

    async def written() -> list[tuple[str, int]]:
        history = await store.read("prod", "podinfo")
        assert history is not None
        return [(p.phase, p.weight) for p in history.runs[-1].points]

    await tick("Progressing", 10)  # a run starts: written at once
    for weight in (20, 30, 40, 50, 60):
        await tick("Progressing", weight)
    assert await written() == [("Progressing", 10)]  # five steps in 50 s: kept in memory
    shown = changes.unwritten(("prod", "podinfo"))  # the dashboard shows them already
    assert shown is not None
    assert [p.weight for p in shown.runs[-1].points] == [10, 20, 30, 40, 50, 60]
    await tick("Progressing", 70)  # a minute after the last write
    assert [w for _, w in await written()] == [10, 20, 30, 40, 50, 60, 70]
    await tick("Progressing", 80, after=1)
    assert len(await written()) == 7
    await tick("Promoting", 80)  # a new phase: written at once, with the step before it
    assert (await written())[-2:] == [("Progressing", 80), ("Promoting", 80)]
    await tick("Promoting", 0)
    assert changes.unwritten(("prod", "podinfo")) is not None
    await recorder.flush()  # a graceful stop writes what is left
    assert (await written())[-1] == ("Promoting", 0)
    assert changes.unwritten(("prod", "podinfo")) is None


async def test_after_a_crash_the_configmap_holds_the_history_as_last_written(
    kube: Kube, flagger_crds
):
    """Byte for byte what the whole history was at the last write (non-ASCII, NaN and all), and
    a new recorder goes on from there: the points held in memory are lost, nothing else."""
    await kube.create(CANARY)
    clock = VirtualClock(datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC))
    store = HistoryStore(kube)
    recorder = HistoryRecorder(store, clock=clock)
    reference = History(canary="podinfo.prod")
    metric = {"name": "lätency ✓", "value": float("nan"), "max": 1e20, "verdict": "pass"}
    base = {"lastAppliedSpec": "r1", "analysisStartTime": "2030-01-01T00:00:00Z"}
    before = None
    last_written = ""

    async def tick(recorder: HistoryRecorder, phase: str, weight: int) -> None:
        nonlocal before, reference
        status = {**base, "phase": phase, "canaryWeight": weight, "metrics": [metric]}
        canary = await stored_canary(kube, **status, message=f"step \x01 {weight} \u2013 ok")
        await recorder.record(canary, before=before)
        stamp = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        reference = timeline.record(reference, canary, at=stamp) or reference
        before = canary.status.phase
        clock.advance(10)

    async def stored_text() -> str:
        configmap = await kube.get("v1", "ConfigMap", configmap_name("podinfo"), "prod")
        return configmap["data"]["history.json"]

    for weight in (10, 20, 30):
        await tick(recorder, "Progressing", weight)
    await tick(recorder, "Promoting", 30)  # a new phase: written at once
    last_written = text(reference)
    assert await stored_text() == last_written
    await tick(recorder, "Promoting", 0)  # held in memory only, then the process dies
    assert await stored_text() == last_written

    restarted = HistoryRecorder(store, clock=clock)
    reference = History.model_validate_json(last_written)
    await tick(restarted, "Finalising", 0)  # a new phase: written at once
    assert await stored_text() == text(reference)
    assert [p.weight for p in reference.runs[-1].points] == [10, 20, 30, 30, 0]


class Ticking:
    """A run of podinfo ticked through a recorder, a minute apart (every tick is written)."""

    def __init__(self, kube: Kube, recorder: HistoryRecorder, clock: VirtualClock) -> None:
        self.kube, self.recorder, self.clock = kube, recorder, clock
        self.before = None
        self.revision = "r1"

    async def tick(self, phase: str, weight: int) -> None:
        start = {"lastAppliedSpec": self.revision, "analysisStartTime": "2030-01-01T00:00:00Z"}
        canary = await stored_canary(self.kube, **start, phase=phase, canaryWeight=weight)
        await self.recorder.record(canary, before=self.before)
        self.before = canary.status.phase
        self.clock.advance(60)


def recorder_of(kube: Kube) -> tuple[HistoryRecorder, VirtualClock]:
    clock = VirtualClock(datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC))
    return HistoryRecorder(HistoryStore(kube), clock=clock), clock


async def points(kube: Kube) -> list[tuple[str, str, int]]:
    """(revision, phase, weight) of every point of the stored history."""
    history = await HistoryStore(kube).read("prod", "podinfo")
    assert history is not None
    return [(run.revision, p.phase, p.weight) for run in history.runs for p in run.points]


async def test_a_write_after_the_stores_own_read_or_write_is_one_put(
    kube: Kube, api: ApiServer, flagger_crds
):
    assert api.requests is not None
    await kube.create(CANARY)
    recorder, clock = recorder_of(kube)
    run = Ticking(kube, recorder, clock)
    await run.tick("Initialized", 0)
    since = len(api.requests)
    await run.tick("Progressing", 10)  # a run starts: its history is read, then created
    assert configmap_requests(api, since) == [
        ("GET", HISTORY, 404),
        ("POST", "/api/v1/namespaces/prod/configmaps", 201),
    ]
    for phase, weight in (("Progressing", 20), ("Promoting", 20), ("Succeeded", 0)):
        since = len(api.requests)
        await run.tick(phase, weight)
        assert configmap_requests(api, since) == [("PUT", HISTORY, 200)], phase
    run.revision = "r2"
    since = len(api.requests)
    await run.tick("Progressing", 10)  # the next run: read from the API server again
    assert configmap_requests(api, since) == [("GET", HISTORY, 200), ("PUT", HISTORY, 200)]
    assert [w for r, _, w in await points(kube) if r == "r1"] == [10, 20, 20, 0]


async def test_someone_elses_edit_costs_one_conflict_and_loses_nothing(
    kube: Kube, api: ApiServer, flagger_crds
):
    """Another replica that held the Canary for a moment wrote its older copy; then a person
    deleted the ConfigMap: the recorder's next writes put its whole history back."""
    assert api.requests is not None
    await kube.create(CANARY)
    recorder, clock = recorder_of(kube)
    run = Ticking(kube, recorder, clock)
    await run.tick("Initialized", 0)
    await run.tick("Progressing", 10)
    older = await kube.get("v1", "ConfigMap", configmap_name("podinfo"), "prod")
    await run.tick("Progressing", 20)
    assert older is not None
    del older["metadata"]["resourceVersion"]
    await kube.replace(older)  # the other replica's write (unconditional)

    since = len(api.requests)
    await run.tick("Progressing", 30)
    assert configmap_requests(api, since) == [
        ("PUT", HISTORY, 409),
        ("GET", HISTORY, 200),
        ("PUT", HISTORY, 200),
    ]
    assert [w for _, _, w in await points(kube)] == [10, 20, 30]

    await kube.delete("v1", "ConfigMap", configmap_name("podinfo"), "prod")
    since = len(api.requests)
    await run.tick("Promoting", 30)
    assert configmap_requests(api, since) == [
        ("PUT", HISTORY, 404),
        ("POST", "/api/v1/namespaces/prod/configmaps", 201),
    ]
    since = len(api.requests)
    await run.tick("Succeeded", 0)
    assert configmap_requests(api, since) == [("PUT", HISTORY, 200)]
    assert [(p, w) for _, p, w in await points(kube)] == [
        ("Progressing", 10),
        ("Progressing", 20),
        ("Progressing", 30),
        ("Promoting", 30),
        ("Succeeded", 0),
    ]


async def test_the_operators_cache_holds_no_run_history(kube: Kube, api: ApiServer, flagger_crds):
    """Its ConfigMap informer lists and watches ``!serinus.io/history``; a user's ConfigMap
    named like a history but not labelled as one is held as any other."""
    assert api.requests is not None
    await kube.create(CANARY)
    await kube.create(configmap("settings", v="1"))
    await kube.create(configmap("other-serinus-history", v="1"))
    async with Kube(settings(api.url)) as cached:
        cached.enable_cache(("prod",))
        await cached.get("v1", "ConfigMap", "settings", "prod")  # starts the informer
        assert cached.cache is not None
        informer = cached.cache.informer("v1", "ConfigMap", True, "prod", start=False)
        assert informer is not None
        await asyncio.wait_for(informer.synced.wait(), 5)
        recorder, clock = recorder_of(cached)
        run = Ticking(cached, recorder, clock)
        await run.tick("Initialized", 0)
        for weight in (10, 20):
            await run.tick("Progressing", weight)
        await kube.patch(  # someone else's write reaches the informer's watch too
            "v1",
            "ConfigMap",
            configmap_name("podinfo"),
            "prod",
            {"metadata": {"annotations": {"a": "b"}}},
        )
        await kube.create(configmap("marker", v="1"))  # the watch delivers in order
        for _ in range(500):
            if ("prod", "marker") in informer.objects:
                break
            await asyncio.sleep(0.01)
        names = {name for _, name in informer.objects}
        assert {"settings", "other-serinus-history", "marker"} <= names
        assert configmap_name("podinfo") not in names

        since = len(api.requests)
        assert await cached.get("v1", "ConfigMap", "other-serinus-history", "prod") is not None
        assert await cached.get("v1", "ConfigMap", "absent", "prod") is None
        assert configmap_requests(api, since) == []  # from memory
        found = await cached.get("v1", "ConfigMap", configmap_name("podinfo"), "prod")
        assert found is not None
        assert found["metadata"]["annotations"] == {"a": "b"}
        assert configmap_requests(api, since) == [("GET", HISTORY, 200)]
        assert configmap_name("podinfo") not in {name for _, name in informer.objects}
