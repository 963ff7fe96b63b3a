"""``KubeEventSink`` against the real API server: Events on a Canary, aggregated.

Covers: an Event is created on the Canary with Flagger's shape (involvedObject with apiVersion,
kind, name, namespace, uid and resourceVersion; reason Synced; type Normal or Warning; source
component serinus, or the configured one; first/last timestamps; count 1); ``kubectl describe
canary`` lists it; the same message again within the window increments ``count`` and moves
``lastTimestamp`` on that Event instead of creating another; a different message, type or
Canary makes a new Event; after the window a repeat starts a new Event; if the Event was deleted
meanwhile a repeat creates a new one; an over-long message is cut to what the API accepts;
credentials in a message's URLs never reach the Event; a Canary with a 253-character name gets
its Events (issue 10, rows 7 and 12); a long analysis is recorded as client-go records it for
Flagger: its first steps one by one, then one combined Event, and no more than 25 Event writes
about one Canary at once, then one every five minutes.

The sink writes its Events in the background (``test_eventsink.py``); each test flushes it before
it looks at the API server.
"""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.kube import Kube, KubeEventSink, KubeStatusStore
from serinus.kube.events import event_name
from serinus.sandbox.apiserver import ApiServer
from tests.kube.support import Clock, podinfo_canary
from tests.sandbox.apiserver.support import Kubectl

pytestmark = pytest.mark.usefixtures("flagger_crds")


Sinks = Callable[..., KubeEventSink]


@pytest.fixture
async def sinks(kube: Kube) -> AsyncIterator[Sinks]:
    """Makes event sinks on ``kube``; each is closed (its queue written) at the end."""
    made: list[KubeEventSink] = []

    def make(**options: Any) -> KubeEventSink:
        made.append(KubeEventSink(kube, **options))
        return made[-1]

    yield make
    for sink in made:
        await sink.aclose()


async def stored_canary(kube: Kube) -> Canary:
    await kube.create(podinfo_canary())
    canary = await KubeStatusStore(kube).get("prod", "podinfo")
    assert canary is not None
    return canary


async def events_of(kube: Kube, name: str = "podinfo") -> list[Manifest]:
    found = await kube.list("v1", "Event", "prod", fields={"involvedObject.name": name})
    return sorted(found, key=lambda e: e["metadata"]["name"])


async def test_an_event_on_the_canary_has_flaggers_shape(kube: Kube, sinks: Sinks) -> None:
    canary = await stored_canary(kube)
    sink = sinks(clock=Clock())
    await sink.record(canary, event_type="Normal", message="Advance podinfo.prod canary weight 5")

    await sink.flush()
    [event] = await events_of(kube)
    assert event["involvedObject"] == {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "name": "podinfo",
        "namespace": "prod",
        "uid": canary.metadata.uid,
        "resourceVersion": canary.metadata.resource_version,
    }
    assert event["reason"] == "Synced"
    assert event["type"] == "Normal"
    assert event["message"] == "Advance podinfo.prod canary weight 5"
    assert event["source"] == {"component": "serinus"}
    assert event["firstTimestamp"] == event["lastTimestamp"] == "2026-11-29T08:00:00Z"
    assert event["count"] == 1
    assert event["metadata"]["name"].startswith("podinfo.")


async def test_kubectl_describe_lists_the_events(
    api: ApiServer, kube: Kube, sinks: Sinks, tmp_path: pathlib.Path
) -> None:
    canary = await stored_canary(kube)
    sink = sinks(component="flagger")
    await sink.record(canary, event_type="Warning", message="Halt advancement no values found")
    await sink.flush()
    kubectl = Kubectl(api.write_kubeconfig(tmp_path / "kubeconfig"), tmp_path / "cache")
    described = await kubectl.run("describe", "canary", "podinfo", "-n", "prod")
    events = described.stdout.split("Events:")[1]
    assert "Warning" in events
    assert "Synced" in events
    assert "flagger" in events
    assert "Halt advancement no values found" in events


async def event_writes(api: ApiServer) -> int:
    """Event creates and patches the API server answered (its /metrics)."""
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{api.url}/metrics")).text
    return sum(
        int(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "apiserver_request_total"
        and sample.labels["resource"] == "events"
        and sample.labels["verb"] in ("POST", "PATCH")
    )


async def test_a_long_analysis_is_combined_and_kept_within_a_budget(
    api: ApiServer, kube: Kube, sinks: Sinks
) -> None:
    canary = await stored_canary(kube)
    clock = Clock()
    sink = sinks(clock=clock)
    for weight in range(1, 41):  # 40 steps, 10 s apart
        await sink.record(canary, event_type="Normal", message=f"Advance weight {weight}")
        clock.advance(10)
    await sink.flush()

    events = sorted(await events_of(kube), key=lambda e: (e["firstTimestamp"], e["message"]))
    assert [(e["message"], e["count"]) for e in events[:9]] == [
        (f"Advance weight {weight}", 1) for weight in range(1, 10)
    ]
    [combined] = events[9:]
    # 25 writes at once (9 Events, the combined one, 15 updates of it), then one at 300 s that
    # carries the six held back: steps 10-31; steps 32-40 wait for the next five minutes
    assert combined["message"] == "(combined from similar events): Advance weight 31"
    assert combined["count"] == 22
    assert combined["firstTimestamp"] == "2026-11-29T08:01:30Z"
    assert combined["lastTimestamp"] == "2026-11-29T08:05:00Z"
    assert await event_writes(api) == 26


async def test_a_repeat_within_the_window_increments_the_count(kube: Kube, sinks: Sinks) -> None:
    canary = await stored_canary(kube)
    clock = Clock()
    sink = sinks(clock=clock, window=600)
    for _ in range(3):
        await sink.record(canary, event_type="Warning", message="Waiting for approval")
        clock.advance(60)

    await sink.flush()
    [event] = await events_of(kube)
    assert event["count"] == 3
    assert event["firstTimestamp"] == "2026-11-29T08:00:00Z"
    assert event["lastTimestamp"] == "2026-11-29T08:02:00Z"


async def test_a_different_message_type_or_canary_makes_a_new_event(
    kube: Kube, sinks: Sinks
) -> None:
    canary = await stored_canary(kube)
    other = canary.model_copy(deep=True)
    other.metadata.name = "frontend"
    other.metadata.uid = "another-uid"
    sink = sinks(clock=Clock())
    await sink.record(canary, event_type="Normal", message="Advance podinfo.prod canary weight 5")
    await sink.record(canary, event_type="Normal", message="Advance podinfo.prod canary weight 10")
    await sink.record(canary, event_type="Warning", message="Advance podinfo.prod canary weight 10")
    await sink.record(other, event_type="Normal", message="Advance podinfo.prod canary weight 5")

    await sink.flush()
    mine = await events_of(kube)
    assert sorted((e["type"], e["message"], e["count"]) for e in mine) == [
        ("Normal", "Advance podinfo.prod canary weight 10", 1),
        ("Normal", "Advance podinfo.prod canary weight 5", 1),
        ("Warning", "Advance podinfo.prod canary weight 10", 1),
    ]
    assert len(await events_of(kube, "frontend")) == 1


async def test_after_the_window_a_repeat_starts_a_new_event(kube: Kube, sinks: Sinks) -> None:
    canary = await stored_canary(kube)
    clock = Clock()
    sink = sinks(clock=clock, window=600)
    await sink.record(canary, event_type="Normal", message="Initialization done! podinfo.prod")
    clock.advance(601)
    await sink.record(canary, event_type="Normal", message="Initialization done! podinfo.prod")

    await sink.flush()
    events = await events_of(kube)
    assert [(e["count"], e["firstTimestamp"]) for e in events] == [
        (1, "2026-11-29T08:00:00Z"),
        (1, "2026-11-29T08:10:01Z"),
    ]


async def test_a_repeat_after_the_event_was_deleted_creates_a_new_one(
    kube: Kube, sinks: Sinks
) -> None:
    canary = await stored_canary(kube)
    sink = sinks(clock=Clock())
    await sink.record(canary, event_type="Normal", message="Starting canary analysis")
    await sink.flush()
    [first] = await events_of(kube)
    await kube.delete("v1", "Event", first["metadata"]["name"], "prod")

    await sink.record(canary, event_type="Normal", message="Starting canary analysis")
    await sink.flush()
    [second] = await events_of(kube)
    assert second["metadata"]["name"] != first["metadata"]["name"]
    assert second["count"] == 1


async def test_an_over_long_message_is_cut(kube: Kube, sinks: Sinks) -> None:
    canary = await stored_canary(kube)
    sink = sinks(clock=Clock())
    await sink.record(canary, event_type="Warning", message="x" * 5000)
    await sink.flush()
    [event] = await events_of(kube)
    assert len(event["message"]) == 1024


async def test_credentials_in_a_message_never_reach_the_event(kube: Kube, sinks: Sinks) -> None:
    canary = await stored_canary(kube)
    sink = sinks(clock=Clock())
    message = "webhook http://admin:hunter2@gate.prod/approve?token=t0k3n unreachable: refused"
    await sink.record(canary, event_type="Warning", message=message)
    await sink.flush()
    [event] = await events_of(kube)
    assert event["message"] == "webhook http://***@gate.prod/approve?token=*** unreachable: refused"


async def test_a_canary_with_the_longest_name_gets_its_events(kube: Kube, sinks: Sinks) -> None:
    name = ("a" * 62 + ".") * 4 + "b"  # 253 characters, a valid DNS subdomain
    assert len(name) == 253
    manifest = podinfo_canary()
    manifest["metadata"]["name"] = name
    await kube.create(manifest)
    canary = await KubeStatusStore(kube).get("prod", name)
    assert canary is not None
    sink = sinks(clock=Clock())
    await sink.record(canary, event_type="Normal", message="Initialization done!")
    await sink.record(canary, event_type="Warning", message="Halt advancement")
    await sink.flush()
    events = await events_of(kube, name)
    assert [e["message"] for e in events] == ["Initialization done!", "Halt advancement"]
    assert all(len(e["metadata"]["name"]) <= 253 for e in events)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("podinfo", "podinfo.17f0a1b2c3d4e5f6"),
        ("a" * 236, "a" * 236 + ".17f0a1b2c3d4e5f6"),
        ("a" * 253, "a" * 236 + ".17f0a1b2c3d4e5f6"),
        ("a" * 235 + "-b", "a" * 235 + ".17f0a1b2c3d4e5f6"),  # no label ends with "-"
        ("a" * 234 + ".-b", "a" * 234 + ".17f0a1b2c3d4e5f6"),
    ],
)
def test_event_names_are_valid_names_for_any_canary_name(name: str, expected: str) -> None:
    assert event_name(name, nanoseconds=0x17F0A1B2C3D4E5F6) == expected
