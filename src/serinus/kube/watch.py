"""A watch that does not end: resumes after disconnects, re-lists after 410 Gone.

``Kube.watch`` returns :func:`follow`, which the operator iterates for as long as it runs (one per
watched kind). A bare watch stream is not enough for that, for three reasons:

1. Connections drop (API server restarts, load balancers, idle timeouts). The watch is reopened
   after a backoff *from the last resourceVersion seen*, so nothing is missed and nothing is
   repeated.
2. The server keeps only a window of recent changes. Resuming from a version that left it is
   answered with 410 Gone; then the only way back is to list again. :func:`follow` keeps the
   last state of every object it reported, compares the new list against it and reports the
   difference as ADDED, MODIFIED and DELETED events, so the consumer sees one consistent stream
   and never needs to know a re-list happened (client-go's reflector does the same for
   informers).
3. Without a starting version, the current objects come first, as ADDED events from a list, and
   the watch starts at the list's version (the informer pattern), so a reconnect before the first
   change still resumes rather than replaying everything.

Errors that retrying cannot cure (403 Forbidden, 404 for an unserved kind) end the iteration with
the translated serinus error; everything else is retried for ever, with capped backoff.
:func:`stream` is one watch request, :func:`follow` the loop around it.

An informer's watch (``raw``) reports each object as a :class:`Seen`: its identity read from the
line in one pass, its JSON kept as the server sent it, decoded only when someone asks. With
``--shards auto`` every replica receives every change in the cluster, most of them for objects
it does not read (another replica's Canaries' TrafficSplits and run histories), so an event
that is held and not read costs no decoding into dicts and no encoding back (see
``benchmarks/watch_events.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TypeVar

import msgspec

from serinus import errors
from serinus.apis.base import Manifest
from serinus.kube import errors as kube_errors
from serinus.kube.retry import RetryPolicy
from serinus.kube.wire import Wire

logger = logging.getLogger(__name__)

GONE = 410
_FIELDS = b'"managedFields":'


class _Meta(msgspec.Struct):
    name: str = ""
    namespace: str = ""
    resourceVersion: str = ""
    uid: str = ""
    managedFields: msgspec.Raw = msgspec.Raw(b"")


class _Head(msgspec.Struct):
    apiVersion: str = ""
    kind: str = ""
    metadata: _Meta = msgspec.field(default_factory=_Meta)


class _Line(msgspec.Struct):
    type: str
    object: msgspec.Raw


_LINE = msgspec.json.Decoder(_Line)
_HEAD = msgspec.json.Decoder(_Head)
_DOCUMENT = msgspec.json.Decoder()


class Seen:
    """An object as a watch event carried it: its key and version, its JSON as sent (exact:
    integers beyond 64 bits included), the document decoded once, when first asked for."""

    __slots__ = ("_fields", "_head", "_manifest", "key", "raw", "version")

    def __init__(self, raw: bytes, head: _Head) -> None:
        meta = head.metadata
        self.raw, self._head = raw, head
        self.key = (meta.namespace, meta.name)
        self.version = meta.resourceVersion
        self._fields = bytes(meta.managedFields)
        self._manifest: Manifest | None = None

    @property
    def manifest(self) -> Manifest:
        """The object as a document (decoded at the first call; the same one afterwards)."""
        if self._manifest is None:
            self._manifest = _DOCUMENT.decode(self.raw)
        return self._manifest

    def slim(self) -> Manifest:
        """:func:`metadata_only` of the object, without decoding it."""
        meta = self._head.metadata
        kept = {"name": meta.name, "namespace": meta.namespace, "resourceVersion": self.version}
        if meta.uid:
            kept["uid"] = meta.uid
        return {"apiVersion": self._head.apiVersion, "kind": self._head.kind, "metadata": kept}

    def trimmed(self) -> bytes | None:
        """The JSON as sent without ``metadata.managedFields``, cut out of the bytes; None when
        it cannot be cut for certain (not written compactly, or found twice)."""
        if not self._fields:
            return self.raw
        needle = _FIELDS + self._fields
        start = self.raw.find(needle)
        if start < 1 or self.raw.find(needle, start + 1) != -1:
            return None  # a key's quotes are never inside a string: found once, it is the one
        end = start + len(needle)
        if self.raw[end : end + 1] == b",":
            return self.raw[:start] + self.raw[end + 1 :]
        if self.raw[start - 1 : start] == b",":
            return self.raw[: start - 1] + self.raw[end:]
        if self.raw[start - 1 : start] == b"{" and self.raw[end : end + 1] == b"}":
            return self.raw[:start] + self.raw[end:]
        return None


Watched = Manifest | Seen
"""An object a watch reports: a document, or (an informer's watch) a :class:`Seen`."""
Obj = TypeVar("Obj", Manifest, Watched)
Event = tuple[str, Manifest]
Lister = Callable[[], Awaitable[tuple[list[Manifest], str]]]
Streamer = Callable[[str | None], AsyncGenerator[tuple[str, Obj], None]]


def _key(obj: Watched) -> tuple[str, str]:
    if isinstance(obj, Seen):
        return obj.key
    metadata = obj.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


def _version(obj: Watched) -> str:
    if isinstance(obj, Seen):
        return obj.version
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def changes(
    known: dict[tuple[str, str], Manifest],
    listed: list[Manifest],
    keep: Callable[[Manifest], Manifest] = lambda obj: obj,
) -> list[Event]:
    """What turns ``known`` into ``listed``, as watch events; ``known`` is updated in place
    (with ``keep`` of each object: a DELETED event reports what was kept)."""
    found: list[Event] = []
    current = {_key(obj): obj for obj in listed}
    for key, obj in list(known.items()):
        if key not in current:
            found.append(("DELETED", obj))
            del known[key]
    for key, obj in current.items():
        previous = known.get(key)
        if previous is None:
            found.append(("ADDED", obj))
        elif _version(previous) != _version(obj):
            found.append(("MODIFIED", obj))
        else:
            continue
        known[key] = keep(obj)
    return found


def _fatal(error: errors.KubeError) -> bool:
    return error.http_status != GONE and not type(error).retriable


async def follow(
    list_objects: Lister,
    stream: Streamer[Obj],
    *,
    resource_version: str | None,
    policy: RetryPolicy,
    synced: Callable[[], None] | None = None,
    keep: Callable[[Obj], Manifest] = lambda obj: obj,  # type: ignore[assignment,return-value]
) -> AsyncIterator[tuple[str, Obj]]:
    """Every change of a collection, across disconnects and 410s (see the module docstring).

    ``synced`` is called once the first list's objects have all been reported (an informer's
    "has synced"). ``keep`` is what is remembered of each object to tell changes after a
    re-list (:func:`metadata_only` for a consumer that holds the objects itself): a DELETED
    event found by a re-list reports it. A stream of :class:`Seen` objects (``raw``) gives its
    events as they are, the list's objects as documents.
    """
    known: dict[tuple[str, str], Manifest] = {}
    version = resource_version
    relist = version is None
    failures = 0
    while True:
        try:
            if relist:
                listed, version = await list_objects()
                found = changes(known, sorted(listed, key=_numeric_version), keep)
                del listed  # held no longer than reported: this loop lasts as long as the watch
                found.reverse()
                while found:
                    yield found.pop()
                relist = False
                if synced is not None:
                    synced()
                    synced = None
            received = False
            async with contextlib.aclosing(stream(version or None)) as events:
                async for event_type, obj in events:
                    received, failures = True, 0
                    version = _version(obj) or version
                    seen = _remember(known, event_type, obj, keep)
                    if seen is not None:
                        yield seen
            if not received:
                # Ended without a single event: a quiet collection at the server's timeout, or
                # a server (or proxy) that closes at once; back off so the latter is no storm.
                failures += 1
                await asyncio.sleep(policy.delay(min(failures, 16)))
        except errors.KubeError as error:
            if _fatal(error):
                raise
            if error.http_status == GONE:
                logger.info("watch resourceVersion %s is too old, listing again", version)
                relist = True
                continue
            failures += 1
            wait = policy.delay(min(failures, 16))
            logger.warning("watch interrupted (%s); resuming in %.1fs", error, wait)
            await asyncio.sleep(wait)


async def stream(
    wire: Wire,
    path: str,
    *,
    params: dict[str, str],
    read_timeout: float,
    action: str,
    raw: bool = False,
) -> AsyncGenerator[tuple[str, Watched], None]:
    """One watch request's events as they come; ends when the server ends the stream.

    Sent as a plain request on the client's connections (same credentials and TLS) rather than
    through lightkube's ``watch``, which re-watches by itself and drops the body of an HTTP
    error, where the API server explains a 403 ("cannot watch resource ... in namespace ...").
    With ``raw``, objects come as :class:`Seen` (:func:`parse_seen`), otherwise as documents.
    """
    parse = parse_seen if raw else parse_event
    try:
        async with wire.stream(path, params, read_timeout=read_timeout) as lines:
            async for line in lines:
                yield parse(line, action=action)
    except (kube_errors.Answered, kube_errors.Unanswered) as error:
        raise kube_errors.wrap(error, action=action) from error


def parse_event(line: bytes | str, *, action: str) -> Event:
    """One line of a watch stream; an in-stream ERROR (410 Gone, ...) is raised as its error.

    msgspec reads it in one pass and keeps integers beyond 64 bits exact (orjson reads them as
    floats, and a regex search for long numbers before it cost five times the decoding).
    """
    try:
        event = msgspec.json.decode(line)
        event_type, obj = str(event["type"]), event["object"]
        if not isinstance(obj, dict):
            raise TypeError("the event's object is not an object")
    except (ValueError, KeyError, TypeError) as error:
        text = line if isinstance(line, str) else line.decode("utf-8", "replace")
        raise kube_errors.UnreachableError(f"{action}: garbled event {text[:80]!r}") from error
    if event_type == "ERROR":
        code = obj.get("code")
        raise kube_errors.from_status(
            code if isinstance(code, int) and code > 0 else 500,
            action=action,
            message=str(obj.get("message") or "")[: kube_errors.MESSAGE_LIMIT],
            reason=str(obj.get("reason") or ""),
            body=line if isinstance(line, str) else line.decode("utf-8", "replace"),
        )
    return event_type, obj


def parse_seen(line: bytes | str, *, action: str) -> tuple[str, Watched]:
    """:func:`parse_event`, the object as a :class:`Seen` (a document when its metadata is not
    what the API server writes: names and versions that are not strings)."""
    try:
        event = _LINE.decode(line)
        raw = bytes(event.object)
        head = None if event.type == "ERROR" else _HEAD.decode(raw)
    except msgspec.ValidationError:
        return parse_event(line, action=action)
    except ValueError as error:
        text = line if isinstance(line, str) else line.decode("utf-8", "replace")
        raise kube_errors.UnreachableError(f"{action}: garbled event {text[:80]!r}") from error
    if head is None:
        return parse_event(line, action=action)  # raised as its error
    return event.type, Seen(raw, head)


def metadata_only(obj: Watched) -> Manifest:
    """What identifies an object and its version: enough to tell changes (and deletions)."""
    if isinstance(obj, Seen):
        return obj.slim()
    metadata = obj.get("metadata") or {}
    kept = {
        k: metadata[k] for k in ("name", "namespace", "resourceVersion", "uid") if k in metadata
    }
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": kept}


def _remember(
    known: dict[tuple[str, str], Manifest],
    event_type: str,
    obj: Obj,
    keep: Callable[[Obj], Manifest],
) -> tuple[str, Obj] | None:
    """Record an event's object; None for bookmarks and for events already reported."""
    if event_type == "BOOKMARK":
        return None
    key = _key(obj)
    if event_type == "DELETED":
        known.pop(key, None)
        return event_type, obj
    previous = known.get(key)
    if previous is not None and _version(previous) == _version(obj):
        return None
    known[key] = keep(obj)
    return event_type, obj


def _numeric_version(obj: Watched) -> int:
    try:
        return int(_version(obj))
    except ValueError:
        return 0
