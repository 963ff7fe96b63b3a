"""Watch streams: ``?watch=true`` on a collection, as chunked JSON lines of events.

A watch without a resourceVersion (or with ``0``) starts with an ADDED event per current object,
in resourceVersion order (lightkube resumes from the last event it saw, so order matters), then
follows live changes. With ``resourceVersion=N`` it replays the changes after N from the store's
log, or, when N has left the log's window, sends one ERROR event carrying a 410 ``Status``, as the
real server does (an HTTP-level 410 sends lightkube into a retry storm). Label and field
selectors apply to every event; an object that stops matching is sent as DELETED, one that
starts matching as ADDED. ``timeoutSeconds`` ends the stream cleanly; ``allowWatchBookmarks``
adds BOOKMARK events, periodically and once just before the timeout (so a client can resume
from a fresh version); ``sendInitialEvents`` ends the initial burst with the
``k8s.io/initial-events-end`` bookmark. The Table form (``kubectl get -w``) wraps each object in a
one-row Table, with the column definitions in the first event only. Server shutdown ends every
stream with a proper final chunk.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass

from aiohttp import web

from serinus.sandbox.apiserver import tables
from serinus.sandbox.apiserver.cluster import Cluster
from serinus.sandbox.apiserver.objects import Obj, metadata, namespace_of, rv_of
from serinus.sandbox.apiserver.resources import ResourceType
from serinus.sandbox.apiserver.responses import JSON, encode
from serinus.sandbox.apiserver.selectors import FieldSelector, LabelSelector
from serinus.sandbox.apiserver.status import ApiError, bad_request
from serinus.sandbox.apiserver.store import Event, EventQueue

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchRequest:
    resource: ResourceType
    namespace: str | None
    resource_version: str | None
    labels: LabelSelector
    fields: FieldSelector
    timeout: float | None = None
    bookmarks: bool = False
    initial_events: bool = False
    as_table: bool = False
    include_object: str = "Metadata"


class _Stream:
    """One open watch: filtering, conversion and writing."""

    def __init__(self, cluster: Cluster, watch: WatchRequest, response: web.StreamResponse) -> None:
        self.cluster = cluster
        self.watch = watch
        self.response = response
        self.columns_sent = False
        self.everything = not (
            watch.as_table or watch.labels.requirements or watch.fields.requirements
        )
        """No selector and no Table: every event of the namespace goes out as it is."""

    def _matches(self, obj: Obj) -> bool:
        return self.watch.labels.matches(obj) and self.watch.fields.matches(obj)

    def _encoded(self, event: Event, obj: Obj) -> bytes | None:
        return None if self.watch.as_table else _encoded(self.watch.resource, event, obj)

    def translate(self, event: Event) -> tuple[str, Obj, bytes | None] | None:
        """The event this watcher sees, if any: its type, the object in its served form (a view
        of the stored one, for reading) and the object's encoding when it is the event's own
        (shared by every watcher of the same served type)."""
        if self.watch.namespace and namespace_of(event.obj) != self.watch.namespace:
            return None
        resource = self.watch.resource
        new = Cluster.view(resource, event.obj)
        now_matches = self._matches(new)
        if event.type != "MODIFIED" or event.prev is None:
            return (event.type, new, self._encoded(event, new)) if now_matches else None
        old = Cluster.view(resource, event.prev)
        was_matching = self._matches(old)
        if was_matching and now_matches:
            return ("MODIFIED", new, self._encoded(event, new))
        if now_matches:
            return ("ADDED", new, self._encoded(event, new))
        if was_matching:
            old["metadata"] = {**metadata(old), "resourceVersion": str(event.rv)}
            return ("DELETED", old, None)
        return None

    def line_of(self, event: Event) -> bytes | None:
        """The line this watcher sends for ``event``, if any (see :meth:`translate`); without
        selectors it is the event's own line, built once for every such watcher."""
        if not self.everything:
            seen = self.translate(event)
            return None if seen is None else self.line(*seen)
        if self.watch.namespace and namespace_of(event.obj) != self.watch.namespace:
            return None
        return _event_line(self.watch.resource, event)

    def line(self, kind: str, obj: Obj, encoded: bytes | None = None) -> bytes:
        """One event as the stream sends it (JSON and a newline)."""
        if self.watch.as_table and kind in ("ADDED", "MODIFIED", "DELETED"):
            obj = tables.table(
                self.watch.resource,
                [obj],
                resource_version=str(metadata(obj).get("resourceVersion", "")),
                include_object=self.watch.include_object,
                with_columns=not self.columns_sent,
            )
            self.columns_sent = True
            encoded = None
        if encoded is None:
            encoded = encode(obj)
        # the same bytes as encoding {"type": kind, "object": obj}, without encoding obj again
        return b'{"type":"' + kind.encode() + b'","object":' + encoded + b"}\n"

    async def send(self, kind: str, obj: Obj, encoded: bytes | None = None) -> None:
        await self.response.write(self.line(kind, obj, encoded))

    async def bookmark(self, *, initial_end: bool = False) -> None:
        meta: Obj = {"resourceVersion": str(self.cluster.store.rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        resource = self.watch.resource
        await self.send(
            "BOOKMARK",
            {"kind": resource.kind, "apiVersion": resource.api_version, "metadata": meta},
        )


_ENCODED: collections.OrderedDict[tuple[int, str, str], tuple[Event, bytes]] = (
    collections.OrderedDict()
)
_ENCODED_KEPT = 512
"""Recent events' encodings: every watcher of a kind sends the same bytes, encoded once."""


def _encoded(resource: ResourceType, event: Event, obj: Obj) -> bytes:
    """``obj`` (the served form of ``event.obj`` for ``resource``) encoded, once per event."""
    key = (id(event), resource.api_version, resource.kind)
    found = _ENCODED.get(key)
    if found is not None and found[0] is event:
        return found[1]
    encoded = encode(obj)
    _ENCODED[key] = (event, encoded)
    if len(_ENCODED) > _ENCODED_KEPT:
        _ENCODED.popitem(last=False)
    return encoded


_LINES: collections.OrderedDict[tuple[int, str, str], tuple[Event, bytes]] = (
    collections.OrderedDict()
)


def _event_line(resource: ResourceType, event: Event) -> bytes:
    """``event`` as the stream line of a watcher of ``resource`` that sees every event of its
    namespace: the event's own type and the object in its served form; once per event."""
    key = (id(event), resource.api_version, resource.kind)
    found = _LINES.get(key)
    if found is not None and found[0] is event:
        return found[1]
    encoded = _encoded(resource, event, Cluster.view(resource, event.obj))
    line = b'{"type":"' + event.type.encode() + b'","object":' + encoded + b"}\n"
    _LINES[key] = (event, line)
    if len(_LINES) > _ENCODED_KEPT:
        _LINES.popitem(last=False)
    return line


def _start_version(text: str | None) -> int | None:
    """The version to resume after, or None for "send the current objects first"."""
    if text in (None, "", "0"):
        return None
    try:
        return int(str(text))
    except ValueError:
        raise bad_request(f"invalid resource version: {text}") from None


async def serve(
    request: web.Request, cluster: Cluster, watch: WatchRequest, *, bookmark_interval: float
) -> web.StreamResponse:
    """Run one watch until timeout, client disconnect or server shutdown."""
    start = None if watch.initial_events else _start_version(watch.resource_version)
    store = cluster.store
    subscription = store.subscribe(watch.resource.storage)
    error: ApiError | None = None
    backlog: list[Event] = []
    try:
        if start is not None:
            backlog = store.events_after(watch.resource.storage, start)
    except ApiError as gone:
        error = gone
    initial = [] if start is not None else _current(cluster, watch)
    response = web.StreamResponse(status=200)
    response.headers["Content-Type"] = tables.TABLE_CONTENT_TYPE if watch.as_table else JSON
    response.headers["Cache-Control"] = "no-cache, private"
    response.enable_chunked_encoding()
    stream = _Stream(cluster, watch, response)
    try:
        await response.prepare(request)
        if error is not None:
            await stream.send("ERROR", error.status())
            return response
        for obj in initial:
            await stream.send("ADDED", obj)
        for event in backlog:
            if (seen := stream.translate(event)) is not None:
                await stream.send(*seen)
        if watch.initial_events:
            await stream.bookmark(initial_end=True)
        await _follow(stream, subscription.queue, bookmark_interval)
    except (ConnectionError, asyncio.CancelledError) as stopped:
        logger.debug("watch on %s ended: %r", watch.resource.resource, stopped)
        if isinstance(stopped, asyncio.CancelledError):
            raise
    finally:
        store.unsubscribe(subscription)
    return response


def _current(cluster: Cluster, watch: WatchRequest) -> list[Obj]:
    found = cluster.select(
        watch.resource, watch.namespace, watch.labels, watch.fields, copies=False
    )
    return sorted(found, key=rv_of)


_FINAL_BOOKMARK_LEAD = 2.0
"""Seconds before a watch's timeout at which its last bookmark goes out (as the real cacher)."""


async def _follow(stream: _Stream, queue: EventQueue, bookmark_interval: float) -> None:
    """Send the live events, the bookmarks and the end of the watch at its timeout.

    The next moment due (bookmark, final bookmark, timeout) has one timer that wakes the wait;
    an event only wakes it (no timer or task per event)."""
    loop = asyncio.get_running_loop()
    timeout = stream.watch.timeout
    bookmarks = stream.watch.bookmarks
    deadline = time.monotonic() + timeout if timeout is not None else None
    final_at = None
    if bookmarks and deadline is not None and timeout is not None:
        final_at = deadline - min(_FINAL_BOOKMARK_LEAD, timeout / 4)
    next_bookmark = time.monotonic() + bookmark_interval if bookmarks else None
    timer: asyncio.TimerHandle | None = None
    timer_at: float | None = None

    def ring() -> None:
        nonlocal timer, timer_at
        timer = timer_at = None
        queue.wake()

    try:
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            moments = [m for m in (deadline, final_at, next_bookmark) if m is not None]
            due = min(moments) if moments else None
            if due is not None and now >= due:
                if final_at is not None and now >= final_at:
                    final_at = None
                    next_bookmark = None
                    await stream.bookmark()
                elif next_bookmark is not None and now >= next_bookmark:
                    next_bookmark = now + bookmark_interval
                    await stream.bookmark()
                continue
            if queue.empty():
                if due != timer_at or timer is None:
                    if timer is not None:
                        timer.cancel()
                    timer, timer_at = None, None
                    if due is not None:
                        timer, timer_at = loop.call_later(due - now, ring), due
                await queue.wait()
                continue
            if not await _send_queued(stream, queue, queue.get_nowait()):
                return
    finally:
        if timer is not None:
            timer.cancel()


_BATCH = 64
"""Events already queued go out in one write (one system call instead of one each), at most this
many at a time; a client reads the lines the same either way."""


async def _send_queued(stream: _Stream, queue: EventQueue, event: Event | None) -> bool:
    """Send ``event`` and the events queued behind it; False when the server ends the watch."""
    lines: list[bytes] = []
    going = True
    while True:
        if event is None:
            going = False
            break
        if (line := stream.line_of(event)) is not None:
            lines.append(line)
        if queue.empty() or len(lines) >= _BATCH:
            break
        event = queue.get_nowait()
    if lines:
        await stream.response.write(b"".join(lines))
    return going
