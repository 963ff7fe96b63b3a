"""The object store: one resourceVersion counter, the event log and its window, subscriptions.

Covers: every change takes the next version (deletions too), objects are kept as copies; the
log replays the changes of one storage after a version; a version older than the window is
410 Gone, with a window of zero included; subscribers get only their storage's events and end
with None when asked to; loading saved objects puts earlier versions outside the window.
"""

from __future__ import annotations

import pytest

from serinus.sandbox.apiserver.status import ApiError
from serinus.sandbox.apiserver.store import Store


def obj(name: str, **extra: object) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": "ns"}, **extra}


def test_versions_come_from_one_counter_and_objects_are_copied() -> None:
    store = Store()
    original = obj("a", data={"k": "v"})
    added = store.add("configmaps", original)
    other = store.add("secrets", obj("b"))
    changed = store.replace("configmaps", obj("a", data={"k": "w"}))
    final = store.remove("configmaps", "ns", "a")
    versions = [x["metadata"]["resourceVersion"] for x in (added, other, changed, final)]
    assert versions == ["1", "2", "3", "4"]
    assert "resourceVersion" not in original["metadata"]  # type: ignore[operator]
    assert store.get("configmaps", "ns", "a") is None
    assert final["data"] == {"k": "w"}


def test_log_replays_one_storage_after_a_version() -> None:
    store = Store()
    store.add("configmaps", obj("a"))
    store.add("secrets", obj("s"))
    store.replace("configmaps", obj("a", data={}))
    store.add("configmaps", obj("b"))
    replayed = [(e.type, e.rv) for e in store.events_after("configmaps", 1)]
    assert replayed == [("MODIFIED", 3), ("ADDED", 4)]


@pytest.mark.parametrize("window", [0, 2])
def test_versions_older_than_the_window_are_gone(window: int) -> None:
    store = Store(window=window)
    for name in "abcd":
        store.add("configmaps", obj(name))
    with pytest.raises(ApiError) as caught:
        store.events_after("configmaps", 1)
    assert caught.value.code == 410
    assert caught.value.reason == "Expired"
    assert store.events_after("configmaps", 4) == []


async def test_subscriptions_see_their_storage_until_ended() -> None:
    store = Store()
    mine = store.subscribe("configmaps")
    store.add("secrets", obj("s"))
    store.add("configmaps", obj("a"))
    store.end_watches("configmaps")
    first = await mine.queue.get()
    assert first is not None
    assert (first.type, first.obj["metadata"]["name"]) == ("ADDED", "a")
    assert await mine.queue.get() is None


def test_loading_puts_earlier_versions_outside_the_window() -> None:
    store = Store()
    saved = obj("a")
    saved["metadata"]["resourceVersion"] = "41"  # type: ignore[index]
    store.load(40, [("configmaps", saved)])
    assert store.rv == 41
    with pytest.raises(ApiError):
        store.events_after("configmaps", 30)
    assert store.add("configmaps", obj("b"))["metadata"]["resourceVersion"] == "42"
