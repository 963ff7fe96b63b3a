"""``KubeEventSink`` off the caller's path, against the real API server behind a proxy.

Covers: ``record`` returns while the API server holds the Event's write, and another Canary's
Event is written meanwhile; many Canaries recorded at once, interleaved, each get their Events in
the order recorded, stamped with the moment recorded and aggregated exactly as when each write
was awaited (the same POSTs and count PATCHes); a full queue drops Events, counts each, and the
log says so once when it starts dropping and once with how many when it drained; closing the sink
writes what is queued, and a close that outlasts its grace period says how many were not written;
an Event the API server refuses is a warning naming the Canary, nothing raises, and the next Event
is written.

The proxy holds an Event POST until the test releases it (:class:`Hold`): what the tests assert
is ordered by that, never by time.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from serinus.apis.base import Manifest, format_time
from serinus.apis.canary import Canary
from serinus.kube import Kube, KubeEventSink, KubeStatusStore
from serinus.kube.eventsink import WRITERS, shard
from tests.kube.support import START, Clock, FaultProxy, namespace, podinfo_canary

COMBINED = "(combined from similar events): "

pytestmark = pytest.mark.usefixtures("flagger_crds")

Sinks = Callable[..., KubeEventSink]


def at(seconds: float) -> str:
    return format_time(START + datetime.timedelta(seconds=seconds))


class Hold:
    """Holds the next Event POST into ``ns`` at the proxy until :meth:`release`."""

    def __init__(self, proxy: FaultProxy, ns: str = "prod") -> None:
        self._proxy = proxy
        self._path = f"/namespaces/{ns}/events"
        self._released = asyncio.Event()
        proxy.before("POST", self._path, self._wait)

    async def _wait(self) -> None:
        await self._released.wait()

    async def arrived(self) -> None:
        """Return once the POST has reached the proxy (where it is held)."""
        await self._proxy.wait_seen("POST", self._path)

    def release(self) -> None:
        self._released.set()

    async def while_held(self, records: Coroutine[Any, Any, None]) -> None:
        """Run ``records``: they are all queued by the time the first write is held."""
        recording = asyncio.create_task(records)
        try:
            await self.arrived()
            assert recording.done()  # none of them waited for the held write
        except BaseException:
            self.release()
            raise
        await recording


@pytest.fixture
async def sinks(proxied: Kube) -> AsyncIterator[Sinks]:
    """Makes sinks writing through the proxy; each is closed (its queue written) at the end."""
    made: list[KubeEventSink] = []

    def make(**options: Any) -> KubeEventSink:
        made.append(KubeEventSink(proxied, **{"clock": Clock(), **options}))
        return made[-1]

    yield make
    for sink in made:
        await sink.aclose()


async def stored(kube: Kube, name: str = "podinfo", ns: str = "prod") -> Canary:
    manifest = podinfo_canary()
    manifest["metadata"].update(name=name, namespace=ns)
    await kube.create(manifest)
    canary = await KubeStatusStore(kube).get(ns, name)
    assert canary is not None
    return canary


async def steps(sink: KubeEventSink, canary: Canary, numbers: range) -> None:
    for step in numbers:
        await sink.record(canary, event_type="Normal", message=f"Step {step}")


async def events_of(kube: Kube, name: str = "podinfo", ns: str = "prod") -> list[Manifest]:
    """The Events on the Canary ``name``, in the order they were created (client-go's names end
    in the nanoseconds of their creation)."""
    found = await kube.list("v1", "Event", ns, fields={"involvedObject.name": name})
    return sorted(found, key=lambda e: e["metadata"]["name"])


async def test_a_record_returns_while_the_api_server_holds_the_event_write(
    kube: Kube, proxy: FaultProxy, sinks: Sinks
) -> None:
    await kube.create(namespace("other"))
    canary = await stored(kube)
    # another Canary whose Events another writer writes
    name = next(n for n in (f"web{i}" for i in range(99)) if differ(canary, "other", n))
    other = await stored(kube, name, "other")
    hold = Hold(proxy)
    sink = sinks()
    await hold.while_held(
        sink.record(canary, event_type="Normal", message="Starting canary analysis")
    )
    try:
        await sink.record(other, event_type="Normal", message="Initialization done!")
        await proxy.wait_seen("POST", "/namespaces/other/events")  # not behind the held one
        assert await events_of(kube) == []
    finally:
        hold.release()
    await sink.flush()
    [event] = await events_of(kube)
    assert (event["message"], event["firstTimestamp"], event["count"]) == (
        "Starting canary analysis",
        at(0),
        1,
    )
    assert [e["message"] for e in await events_of(kube, name, "other")] == ["Initialization done!"]


def differ(canary: Canary, ns: str, name: str) -> bool:
    return shard(canary.namespace, canary.name, WRITERS) != shard(ns, name, WRITERS)


async def test_many_canaries_get_their_events_in_order_aggregated_as_before(
    kube: Kube, proxy: FaultProxy, sinks: Sinks
) -> None:
    canaries = [await stored(kube, f"app{i}") for i in range(24)]
    clock = Clock()
    sink = sinks(clock=clock)
    hold = Hold(proxy)

    async def analyses() -> None:  # 12 steps 10 s apart, every Canary at each step
        for step in range(1, 13):
            for canary in canaries:
                message = f"Advance {canary.name}.prod canary weight {step}"
                await sink.record(canary, event_type="Normal", message=message)
            clock.advance(10)

    await hold.while_held(analyses())  # every step of every Canary queued while a write is held
    hold.release()
    await sink.flush()
    for canary in canaries:
        said = f"Advance {canary.name}.prod canary weight"
        found = [
            (e["message"], e["count"], e["firstTimestamp"], e["lastTimestamp"])
            for e in await events_of(kube, canary.name)
        ]
        # steps 1-9 one by one, then one combined Event counting steps 10-12
        assert found == [
            *(
                (f"{said} {step}", 1, at(10 * step - 10), at(10 * step - 10))
                for step in range(1, 10)
            ),
            (f"{COMBINED}{said} 12", 3, at(90), at(110)),
        ], canary.name
    assert len(proxy.seen("POST", "/events")) == 10 * len(canaries)
    assert len(proxy.seen("PATCH", "/events/")) == 2 * len(canaries)  # the count of steps 11, 12


async def test_a_full_queue_drops_events_and_says_so_once(
    kube: Kube, proxy: FaultProxy, sinks: Sinks, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="serinus.kube.eventsink")
    canary = await stored(kube)
    dropped: list[None] = []
    sink = sinks(capacity=3, dropped=lambda: dropped.append(None))
    hold = Hold(proxy)
    await hold.while_held(steps(sink, canary, range(1, 9)))
    assert len(dropped) == 5
    assert [r.getMessage() for r in caplog.records] == [
        "Event queue full (3 Events waiting to be written): Events are dropped until it drains"
    ]
    hold.release()
    await sink.flush()
    await sink.record(canary, event_type="Normal", message="Step 9")
    await sink.flush()
    assert [e["message"] for e in await events_of(kube)] == ["Step 1", "Step 2", "Step 3", "Step 9"]
    assert [r.getMessage() for r in caplog.records][1:] == [
        "Events dropped while the Event queue was full: 5"
    ]
    assert len(dropped) == 5


async def test_closing_writes_what_is_queued(kube: Kube, proxy: FaultProxy, sinks: Sinks) -> None:
    canary = await stored(kube)
    sink = sinks()
    hold = Hold(proxy)
    await hold.while_held(steps(sink, canary, range(1, 4)))
    closing = asyncio.create_task(sink.aclose(30))
    await hold.arrived()
    assert not closing.done()  # waits for the held write and the two behind it
    hold.release()
    await closing
    assert [e["message"] for e in await events_of(kube)] == ["Step 1", "Step 2", "Step 3"]


async def test_a_close_past_its_grace_period_says_what_was_not_written(
    kube: Kube, proxy: FaultProxy, sinks: Sinks, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="serinus.kube.eventsink")
    canary = await stored(kube)
    sink = sinks()
    hold = Hold(proxy)
    try:
        await hold.while_held(steps(sink, canary, range(1, 4)))
        await sink.aclose(0)
    finally:
        hold.release()
    await sink.record(canary, event_type="Normal", message="Step 4")
    await sink.record(canary, event_type="Normal", message="Step 5")
    await sink.aclose()
    assert [r.getMessage() for r in caplog.records] == [
        "Events not written before the grace period of 0 s ended: 3",
        "Event not recorded: the operator is stopping",
    ]


async def test_an_event_the_api_refuses_is_a_warning_naming_the_canary(
    kube: Kube, proxy: FaultProxy, sinks: Sinks, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="serinus.kube.eventsink")
    canary = await stored(kube)
    proxy.fail(
        403,
        method="POST",
        path="/events",
        reason="Forbidden",
        message='events is forbidden: User "system:serviceaccount:serinus:serinus" cannot create',
    )
    sink = sinks()
    await sink.record(canary, event_type="Warning", message="Halt advancement")
    await sink.record(canary, event_type="Normal", message="Advance 5")
    await sink.flush()
    [warning] = caplog.records
    assert warning.getMessage().startswith("Event could not be recorded: ")
    assert "events is forbidden" in warning.getMessage()
    assert warning.__dict__["canary"] == "podinfo.prod"
    assert [e["message"] for e in await events_of(kube)] == ["Advance 5"]


async def test_a_fault_writing_one_event_does_not_stop_the_next_ones(
    kube: Kube, sinks: Sinks, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.ERROR, logger="serinus.kube.eventsink")
    canary = await stored(kube)
    sink = sinks()
    record = sink._recorder.record
    calls = 0

    async def faulty(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug")
        await record(*args, **kwargs)

    monkeypatch.setattr(sink._recorder, "record", faulty)
    await steps(sink, canary, range(1, 4))  # one Canary: one shard, one writer
    await sink.flush()
    assert [e["message"] for e in await events_of(kube)] == ["Step 2", "Step 3"]
    [error] = caplog.records
    assert error.getMessage() == "Event could not be recorded"
    assert error.exc_info is not None
    assert str(error.exc_info[1]) == "a bug"
    assert error.__dict__["canary"] == "podinfo.prod"
