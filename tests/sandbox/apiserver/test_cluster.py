"""Versions and storage: one stored object served in the form each API version expects.

Covers: an events.k8s.io/v1 Event (regarding, note, reportingController) is stored as and read
back through core/v1 (involvedObject, message, reportingComponent), and the reverse; field
selectors of each API use that API's field names; kubectl-style describe filters by
involvedObject; a watch on one API sees writes made through the other.
"""

from __future__ import annotations

import json

import httpx

NEW_EVENTS = "/apis/events.k8s.io/v1/namespaces/default/events"
OLD_EVENTS = "/api/v1/namespaces/default/events"


async def test_events_are_one_resource_under_two_apis(http: httpx.AsyncClient) -> None:
    new_style = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "podinfo.1"},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "regarding": {"kind": "Canary", "name": "podinfo", "namespace": "default"},
        "note": "Advance podinfo.default canary weight 5",
        "reason": "Synced",
        "type": "Normal",
        "action": "Advance",
        "reportingController": "serinus",
        "reportingInstance": "serinus-0",
    }
    assert (await http.post(NEW_EVENTS, json=new_style)).status_code == 201
    old = (await http.get(f"{OLD_EVENTS}/podinfo.1")).json()
    assert (old["apiVersion"], old["message"], old["reportingComponent"]) == (
        "v1",
        "Advance podinfo.default canary weight 5",
        "serinus",
    )
    assert old["involvedObject"]["name"] == "podinfo"
    old_style = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "other.1"},
        "involvedObject": {"kind": "Deployment", "name": "other"},
        "message": "m",
        "count": 2,
    }
    await http.post(OLD_EVENTS, json=old_style)
    new = (await http.get(f"{NEW_EVENTS}/other.1")).json()
    assert (new["note"], new["deprecatedCount"], new["regarding"]["kind"]) == ("m", 2, "Deployment")
    by_old_name = (
        await http.get(OLD_EVENTS, params={"fieldSelector": "involvedObject.kind=Canary"})
    ).json()
    by_new_name = (
        await http.get(NEW_EVENTS, params={"fieldSelector": "regarding.kind=Canary"})
    ).json()
    assert [e["metadata"]["name"] for e in by_old_name["items"]] == ["podinfo.1"]
    assert [e["metadata"]["name"] for e in by_new_name["items"]] == ["podinfo.1"]
    refused = await http.get(NEW_EVENTS, params={"fieldSelector": "involvedObject.kind=Canary"})
    assert refused.status_code == 400


async def test_a_watch_sees_writes_through_the_other_api(http: httpx.AsyncClient) -> None:
    async with http.stream("GET", f"{NEW_EVENTS}?watch=true") as stream:
        await http.post(
            OLD_EVENTS,
            json={
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": "e"},
                "involvedObject": {"kind": "Pod", "name": "p"},
                "message": "hi",
            },
        )
        event = json.loads(await anext(stream.aiter_lines()))
    assert event["type"] == "ADDED"
    assert event["object"]["apiVersion"] == "events.k8s.io/v1"
    assert event["object"]["note"] == "hi"
