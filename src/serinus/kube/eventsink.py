"""The operator's Events, written off the tick's path, as client-go writes Flagger's.

A tick says what it does ("Advance podinfo.prod canary weight 5") in its log, to its event
webhooks and in a Kubernetes Event on the Canary. Awaiting the Event's write inside the tick made
every tick that says something wait for one more exchange with the API server (about 100 ms at
3,000 progressing Canaries on two busy cores) while it held a slot of the tick pool. client-go's
event recorder, which Flagger uses, never blocks its caller: an Event goes into a queue of 1,000
and is written in the background; when the queue is full the Event is dropped.
:class:`KubeEventSink`, the operator's :class:`serinus.ports.EventSink`, does the same:

* ``record`` stamps the Event with the moment it was recorded and the request priority of the
  tick that recorded it (:mod:`serinus.kube.ratelimit`: a run in progress goes first), queues
  it and returns without waiting for anything.
* The Events of one Canary go to one of ``writers`` (:data:`WRITERS`) shards, picked by a hash
  of its namespace and name. One task per shard writes them one at a time, in the order they
  were recorded, through one :class:`~serinus.kube.events.EventRecorder`: aggregation,
  correlation, the budget per object, names and redaction are the recorder's, unchanged (its
  count updates need one object's writes in order, never two at once). Different shards write
  in parallel. A shard's task ends when its queue is empty and starts again with its next Event.
* At most ``capacity`` Events (:data:`CAPACITY`, client-go's ``maxQueuedEvents``) wait or are
  being written; one more is dropped and counted (``dropped``: the operator's
  ``serinus_events_dropped_total``). The log says so once when dropping starts, and once, with
  how many were dropped, when the queue has drained to half: two lines however many are dropped.
* An Event the API server refuses is logged as a warning naming the Canary ("Event could not be
  recorded: ..."), as the tick logged it before; nothing raises into a tick.
* :meth:`flush` waits until the queue is empty; :meth:`aclose` (the operator's graceful stop,
  after its last ticks) writes what is queued within a grace period, then stops. A crash loses
  what was queued, as with client-go: at most ``capacity`` Events, usually none or a few.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime
import logging
import zlib
from collections.abc import Callable

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.errors import SerinusError
from serinus.kube import ratelimit
from serinus.kube.client import Kube
from serinus.kube.events import REASON, EventRecorder
from serinus.ports import Clock, EventType, SystemClock

logger = logging.getLogger(__name__)

CAPACITY = 1000
"""Events waiting or being written at most (client-go's ``maxQueuedEvents``)."""
WRITERS = 16
"""Shards, each with at most one writer task: Event writes in flight at most. Writers keep up
with Events arriving at ``WRITERS`` / (seconds per write) a second: at 1,000 progressing Canaries
per replica on a 10 s interval, up to 100 Events a second (a run's first steps), which 16 writers
write while a write takes up to 160 ms (about 100 ms at 3,000 Canaries and three replicas on two
cores)."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Queued:
    canary: str
    """``name.namespace``, as log lines name a Canary."""
    involved: Manifest
    event_type: EventType
    message: str
    at: datetime.datetime
    priority: int


class KubeEventSink:
    """Records Events on Canaries through the API in the background (an ``EventSink`` port)."""

    def __init__(
        self,
        kube: Kube,
        *,
        component: str = "serinus",
        host: str | None = None,
        clock: Clock | None = None,
        window: float = 600.0,
        remembered: int = 4096,
        capacity: int = CAPACITY,
        writers: int = WRITERS,
        dropped: Callable[[], object] | None = None,
    ) -> None:
        """
        Args:
            kube: the client.
            component: ``source.component`` (and ``reportingComponent``) of every Event.
            host: ``source.host`` (the pod's node or name), when known.
            clock: where Event times come from; the system clock by default.
            window: seconds within which a repeated event updates the earlier one.
            remembered: how many distinct recent events are kept for aggregation.
            capacity: Events waiting or being written at most; more are dropped.
            writers: shards of the queue, each written by one task at a time.
            dropped: called once for each Event dropped.
        """
        if capacity < 1:
            raise ValueError(f"capacity: expected at least 1 Event, found {capacity}")
        if writers < 1:
            raise ValueError(f"writers: expected at least 1, found {writers}")
        self._recorder = EventRecorder(
            kube,
            component=component,
            host=host,
            clock=clock,
            window=window,
            remembered=remembered,
        )
        self._clock: Clock = clock or SystemClock()
        self._capacity = capacity
        self._on_drop = dropped
        self._shards: list[collections.deque[_Queued]] = [
            collections.deque() for _ in range(writers)
        ]
        self._writers: list[asyncio.Task[None] | None] = [None] * writers
        self._queued = 0
        """Events waiting or being written."""
        self._dropped = 0
        """Events dropped since the log last said how many."""
        self._closed = False
        self._said_closed = False

    async def record(self, canary: Canary, *, event_type: EventType, message: str) -> None:
        """Queue one Event (reason Synced) and return at once: it is written in the background,
        or dropped (counted, logged) when the queue is full."""
        queued = _Queued(
            canary.key,
            _involved(canary),
            event_type,
            message,
            self._clock.now(),
            ratelimit.current(),
        )
        if self._closed or self._queued >= self._capacity:
            self._drop(queued)
            return
        self._queued += 1
        index = shard(canary.namespace, canary.name, len(self._shards))
        self._shards[index].append(queued)
        writer = self._writers[index]
        if writer is None or writer.done():
            self._writers[index] = asyncio.create_task(
                self._write_shard(index), name=f"event-writer-{index}"
            )

    async def flush(self) -> None:
        """Wait until every queued Event is written (or refused, and logged)."""
        while writers := self._running():
            await asyncio.wait(writers)

    def _running(self) -> list[asyncio.Task[None]]:
        return [writer for writer in self._writers if writer is not None and not writer.done()]

    async def aclose(self, grace: float | None = None) -> None:
        """Write what is queued, for at most ``grace`` seconds, then stop (Events recorded later
        are dropped)."""
        self._closed = True
        writers = self._running()
        if writers:
            _, late = await asyncio.wait(writers, timeout=grace)
            if late:
                logger.warning(
                    "Events not written before the grace period of %g s ended: %d",
                    grace,
                    self._queued,
                )
                for writer in late:
                    writer.cancel()
                await asyncio.wait(late)
        for queue in self._shards:
            queue.clear()
        self._writers = [None] * len(self._shards)
        self._queued = 0
        if self._dropped:
            self._say_dropped()

    async def _write_shard(self, index: int) -> None:
        """Write the Events of shard ``index`` in order until its queue is empty."""
        queue = self._shards[index]
        try:
            while queue:
                queued = queue.popleft()
                try:
                    await self._write(queued)
                finally:
                    self._queued -= 1
                if self._dropped and self._queued <= self._capacity // 2:
                    self._say_dropped()
        finally:
            self._writers[index] = None

    async def _write(self, queued: _Queued) -> None:
        with ratelimit.priority(queued.priority):
            try:
                await self._recorder.record(
                    queued.involved,
                    event_type=queued.event_type,
                    reason=REASON,
                    message=queued.message,
                    at=queued.at,
                )
            except SerinusError as error:
                logger.warning(
                    "Event could not be recorded: %s", error, extra={"canary": queued.canary}
                )
            except Exception:  # a fault of our own: the shard's next Events still go out
                logger.exception("Event could not be recorded", extra={"canary": queued.canary})

    def _drop(self, queued: _Queued) -> None:
        if self._on_drop is not None:
            self._on_drop()
        if self._closed:
            if not self._said_closed:
                logger.warning(
                    "Event not recorded: the operator is stopping", extra={"canary": queued.canary}
                )
                self._said_closed = True
            return
        self._dropped += 1
        if self._dropped > 1:
            return
        logger.warning(
            "Event queue full (%d Events waiting to be written): Events are dropped until it "
            "drains",
            self._capacity,
            extra={"canary": queued.canary},
        )

    def _say_dropped(self) -> None:
        logger.warning("Events dropped while the Event queue was full: %d", self._dropped)
        self._dropped = 0


def shard(namespace: str, name: str, shards: int) -> int:
    """The shard (of ``shards``) that writes the Events of the Canary ``namespace/name``."""
    return zlib.crc32(f"{namespace}/{name}".encode()) % shards


def _involved(canary: Canary) -> Manifest:
    """The Event's ``involvedObject``: the Canary as it was when the Event was recorded."""
    metadata = canary.metadata
    involved: Manifest = {
        "apiVersion": canary.api_version,
        "kind": "Canary",
        "name": canary.name,
        "namespace": canary.namespace,
    }
    if metadata.uid:
        involved["uid"] = metadata.uid
    if metadata.resource_version:
        involved["resourceVersion"] = metadata.resource_version
    return involved
