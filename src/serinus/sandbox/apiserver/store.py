"""The object store: objects by storage key, one resourceVersion counter, and the event log.

It knows nothing of API semantics (``operations`` and ``deletion`` hold those); it keeps objects,
stamps every change with the next resourceVersion (one counter for the whole server, as etcd's
revision is), records the change in a bounded log so a watch can resume from any recent version,
and hands each change to the open watches. A resume from a version older than the log's window is
refused with 410 Gone, which is how clients learn to list again; the window is a constructor
argument so tests can make it tiny.

Objects handed out are the stored dicts themselves: callers copy before they change anything.
Stored objects are never changed in place, so versions of one object may share their unchanged
parts (a status write stores a new status beside the previous version's spec).
Everything runs on the event loop's thread, so a change and its publication are atomic.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from serinus.sandbox.apiserver.objects import (
    Obj,
    deep_copy,
    metadata,
    name_of,
    namespace_of,
    rv_of,
    uid_of,
)
from serinus.sandbox.apiserver.status import gone


class ExpiredError(Exception):
    """A version whose changes have left the log's window (etcd's compaction)."""

    def __init__(self, rv: int) -> None:
        super().__init__(f"resource version {rv} is outside the window")
        self.rv = rv


@dataclass(frozen=True)
class Event:
    """One change: the object after it (for DELETED, its last state) and before it."""

    type: str
    storage: str
    obj: Obj
    prev: Obj | None

    @property
    def rv(self) -> int:
        return rv_of(self.obj)


class EventQueue:
    """The events waiting for one open watch, in order; ``None`` means the server ends it.

    Lighter than :class:`asyncio.Queue` for the watch's loop: :meth:`wait` waits for the next
    item without a task per wait (``asyncio.wait_for(queue.get(), ...)`` made one, with a timer,
    for every event of every watcher), and :meth:`wake` ends a wait early (the watch's own timer
    for its bookmarks and timeout)."""

    def __init__(self) -> None:
        self._items: collections.deque[Event | None] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Event | None) -> None:
        self._items.append(item)
        self.wake()

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def get_nowait(self) -> Event | None:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    async def wait(self) -> None:
        """Until an item is there (at once if one is) or :meth:`wake` is called."""
        if self._items:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None

    async def get(self) -> Event | None:
        while not self._items:
            await self.wait()
        return self._items.popleft()


@dataclass(eq=False)
class Subscription:
    """The queue of one open watch; ``None`` in the queue means the server is ending the watch."""

    storage: str
    queue: EventQueue = field(default_factory=EventQueue)


class Store:
    def __init__(self, *, window: int = 10_000) -> None:
        self.rv = 0
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {}
        self._log: collections.deque[Event] = collections.deque(maxlen=max(window, 0))
        self._evicted = 0
        self._subscriptions: set[Subscription] = set()
        self.listeners: list[Callable[[Event], None]] = []
        self._uids: collections.Counter[str] = collections.Counter()
        """Objects stored per uid: the collector asks on every write whether owners exist."""

    # reading

    def get(self, storage: str, namespace: str, name: str) -> Obj | None:
        return self._objects.get(storage, {}).get((namespace, name))

    def has_uid(self, uid: str) -> bool:
        """Whether an object with this uid is stored."""
        return self._uids[uid] > 0

    def items(self, storage: str, namespace: str | None = None) -> list[Obj]:
        """Objects of one storage (optionally one namespace), in (namespace, name) order."""
        found = self._objects.get(storage, {})
        keys = sorted(k for k in found if namespace is None or k[0] == namespace)
        return [found[key] for key in keys]

    def items_at(self, storage: str, rv: int, namespace: str | None = None) -> list[Obj]:
        """Objects of one storage as they were at version ``rv`` (a list snapshot), rebuilt by
        undoing the logged changes after it; ``ExpiredError`` once they left the log's window."""
        if rv < self._evicted:
            raise ExpiredError(rv)
        found = dict(self._objects.get(storage, {}))
        for event in reversed(self._log):
            if event.rv <= rv:
                break
            if event.storage != storage:
                continue
            key = (namespace_of(event.obj), name_of(event.obj))
            if event.type == "ADDED":
                found.pop(key, None)
            elif event.prev is not None:
                found[key] = event.prev
        keys = sorted(k for k in found if namespace is None or k[0] == namespace)
        return [found[key] for key in keys]

    def everything(self) -> Iterator[tuple[str, Obj]]:
        """Every stored object with its storage key."""
        for storage, objects in list(self._objects.items()):
            for obj in list(objects.values()):
                yield storage, obj

    # writing

    def add(self, storage: str, obj: Obj, *, owned: bool = False) -> Obj:
        """Store a new object: a copy of ``obj``, or ``obj`` itself when the caller gives it
        away (``owned``: its top level and metadata are its own, and nothing it shares with
        stored objects is ever changed; the write verbs build such objects)."""
        stored = self._stamp(obj, owned)
        self._objects.setdefault(storage, {})[(namespace_of(stored), name_of(stored))] = stored
        self._uids[uid_of(stored)] += 1
        self._publish(Event("ADDED", storage, stored, None))
        return stored

    def replace(self, storage: str, obj: Obj, *, owned: bool = False) -> Obj:
        """Store a new version (``owned`` as for :meth:`add`)."""
        key = (namespace_of(obj), name_of(obj))
        previous = self._objects[storage][key]
        stored = self._stamp(obj, owned)
        self._objects[storage][key] = stored
        self._uids[uid_of(previous)] -= 1
        self._uids[uid_of(stored)] += 1
        self._publish(Event("MODIFIED", storage, stored, previous))
        return stored

    def remove(self, storage: str, namespace: str, name: str, last: Obj | None = None) -> Obj:
        """Delete an object; ``last`` is its final state when a write is what deletes it."""
        previous = self._objects[storage].pop((namespace, name))
        if not self._objects[storage]:
            del self._objects[storage]
        self._uids[uid_of(previous)] -= 1
        final = self._stamp(last if last is not None else previous)
        self._publish(Event("DELETED", storage, final, previous))
        return final

    def _stamp(self, obj: Obj, owned: bool = False) -> Obj:
        self.rv += 1
        stored = obj if owned else deep_copy(obj)
        metadata(stored)["resourceVersion"] = str(self.rv)
        return stored

    def _publish(self, event: Event) -> None:
        if self._log.maxlen == 0:
            self._evicted = event.rv
        elif len(self._log) == self._log.maxlen:
            self._evicted = self._log[0].rv
        self._log.append(event)
        for subscription in self._subscriptions:
            if subscription.storage == event.storage:
                subscription.queue.put_nowait(event)
        for listener in self.listeners:
            listener(event)

    def load(self, rv: int, objects: Iterable[tuple[str, Obj]]) -> None:
        """Replace the contents with saved ones; earlier versions are outside the window."""
        self._objects.clear()
        for storage, obj in objects:
            self._objects.setdefault(storage, {})[(namespace_of(obj), name_of(obj))] = obj
        self._uids = collections.Counter(uid_of(obj) for _, obj in self.everything())
        self.rv = max([rv, *(rv_of(obj) for _, obj in self.everything())])
        self._log.clear()
        self._evicted = self.rv

    # watching

    def events_after(self, storage: str, rv: int) -> list[Event]:
        """Changes of one storage after version ``rv``; 410 Gone when they left the window."""
        if rv < self._evicted:
            oldest = self._log[0].rv if self._log else self.rv + 1
            raise gone(rv, oldest)
        return [e for e in self._log if e.rv > rv and e.storage == storage]

    def subscribe(self, storage: str) -> Subscription:
        subscription = Subscription(storage)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def end_watches(self, storage: str | None = None) -> None:
        """Ask open watches (of one storage, or all) to finish their streams."""
        for subscription in list(self._subscriptions):
            if storage is None or subscription.storage == storage:
                subscription.queue.put_nowait(None)
                self._subscriptions.discard(subscription)
