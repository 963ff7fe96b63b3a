"""Informer-style caches: objects the operator reads, kept in memory by a watch.

With a :class:`Cache` on the :class:`~serinus.kube.client.Kube` (the operator turns it on), the
first ``get`` of a kind in a namespace starts an :class:`Informer` for that kind and scope (the
namespace, or every namespace when the operator watches them all): a list, then a watch from the
list's version (:func:`serinus.kube.watch.follow`, which survives disconnects and 410s). Until the
informer has listed, reads go to the API server; afterwards they are answered from memory, an
absent object included, so a tick with nothing to do sends no request at all (Leases and
Secrets excepted: :data:`UNCACHED`). An informer that
cannot list or watch its kind (403 under a tight RBAC, a kind no longer served) is given up and
its reads go to the API server as before.

Writes stay direct. Their answer is put in the cache at once (read-your-writes: the next step of
the same tick sees the object as written, not the version before the watch catches up); an object
deleted is dropped; a write refused with 409 Conflict marks the object stale, so the read that
:func:`~serinus.kube.retry.retry_on_conflict` does next goes to the API server. A watch event
older than what the cache holds (the echo of a write already stored) is ignored.

Objects are kept as compact JSON without ``metadata.managedFields``: a read gets its own copy
(callers change what they read before writing it back) and a thousand Deployments, Services and
Canaries take a few megabytes. An object a watch event brings is kept as the API server sent it,
``managedFields`` cut out of the bytes (:meth:`serinus.kube.watch.Seen.trimmed`): it is not
decoded at all unless a listener or a read asks for it, which matters with ``--shards auto``,
where every replica receives every change, most of them for objects it never reads. Objects
from a list or a write's answer are written by orjson; an object orjson cannot write (an integer
beyond 64 bits, which a hostile manifest may hold) by msgspec. Reads decode with msgspec, which
keeps such integers exact, so no value changes.

A kind may leave some of its objects to the API server (:data:`UNHELD`): the operator's run
histories are ConfigMaps it writes and reads by name only, so its ConfigMap informer lists and
watches ``!serinus.io/history`` and never holds one (a write's answer included); a read of a name
the cache cannot vouch for (ending in ``-serinus-history`` and not held) goes to the API server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import msgspec
import orjson

from serinus import errors
from serinus.apis.base import Manifest
from serinus.kube import history
from serinus.kube.watch import Seen, Watched

logger = logging.getLogger(__name__)

SYNCED = "SYNCED"
"""The event a listener gets once the objects of the informer's first list have all come."""
FAILED = "FAILED"
"""The event a listener gets when the informer gives up (it will report nothing more)."""

Scope = str | None
"""The namespace an informer covers; None for every namespace (or a cluster-scoped kind)."""
Watcher = Callable[
    [str, str, Scope, str | None, Callable[[], None]], AsyncIterator[tuple[str, Watched]]
]
"""Starts the watch of (api_version, kind, namespace, label selector) calling back once the first
list is in."""

UNCACHED = frozenset({("coordination.k8s.io/v1", "Lease"), ("v1", "Secret")})
"""Kinds always read from the API server: Leases (leader election and membership need the
newest) and Secrets (read by name only: the operator's RBAC does not let it list them, so it
cannot enumerate them; docs/security.md)."""


@dataclasses.dataclass(frozen=True)
class Unheld:
    """The objects of a kind an informer leaves to the API server: those labelled ``label``
    (listed and watched without them, never held). A read of a name ending in ``suffix`` that
    memory does not hold goes to the API server, as such an object may exist unseen."""

    label: str
    suffix: str

    @property
    def selector(self) -> str:
        """The informer's label selector: objects without ``label``."""
        return f"!{self.label}"

    def labelled(self, obj: Manifest) -> bool:
        labels = (obj.get("metadata") or {}).get("labels")
        return isinstance(labels, dict) and self.label in labels


UNHELD: Mapping[tuple[str, str], Unheld] = {
    ("v1", "ConfigMap"): Unheld(history.LABEL, history.SUFFIX),
}
"""What the operator's informers leave out: the run histories (:mod:`serinus.kube.history`),
written by the recorder with the resourceVersion of its own last write and read from the API
server when a run starts; held here, every history of the namespace would sit in memory twice
and every replica would hold every replica's."""


def version_of(obj: Manifest) -> int | None:
    """The resourceVersion as a number (the API server's are; None when it is not)."""
    return _number(str((obj.get("metadata") or {}).get("resourceVersion")))


def _number(version: str) -> int | None:
    try:
        return int(version)
    except ValueError:
        return None


_DECODER = msgspec.json.Decoder()


def _compact(obj: Manifest) -> tuple[int | None, bytes]:
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    trimmed = {**obj, "metadata": metadata}
    try:
        # copied: orjson's own bytes object keeps its whole write buffer (about 4 KB for a
        # 600-byte Deployment; 20 MB more RSS at 1,000 Canaries)
        return version_of(obj), memoryview(orjson.dumps(trimmed)).tobytes()
    except TypeError:  # an integer beyond 64 bits: kept exact by msgspec
        return version_of(obj), msgspec.json.encode(trimmed)


def _held(seen: Seen) -> tuple[int | None, bytes]:
    """A watched object as held: its bytes as sent, without managedFields."""
    trimmed = seen.trimmed()
    if trimmed is None:  # not cut for certain: written again from the document
        return _compact(seen.manifest)
    return _number(seen.version), trimmed


def _expand(held: bytes) -> Manifest:
    document: Manifest = _DECODER.decode(held)
    return document


def _newer(held: int | None, incoming: int | None) -> bool:
    return held is None or incoming is None or incoming >= held


class Informer:
    """The objects of one kind in one scope, as the watch reports them."""

    def __init__(
        self, api_version: str, kind: str, scope: Scope, unheld: Unheld | None = None
    ) -> None:
        self.api_version, self.kind, self.scope = api_version, kind, scope
        self.unheld = unheld
        self.objects: dict[tuple[str, str], tuple[int | None, bytes]] = {}
        self.synced = asyncio.Event()
        self.failed = False
        self._stale: set[tuple[str, str]] = set()
        self._listeners: list[asyncio.Queue[tuple[str, Watched]]] = []
        self.task: asyncio.Task[None] | None = None

    def get(self, namespace: str, name: str) -> tuple[bool, Manifest | None]:
        """(True, object or None) from memory, or (False, None) when the API must answer."""
        key = (namespace, name)
        if self.failed or not self.synced.is_set() or key in self._stale:
            return False, None
        held = self.objects.get(key)
        if held is None and self.unheld is not None and name.endswith(self.unheld.suffix):
            return False, None  # perhaps one the informer leaves out
        return True, None if held is None else _expand(held[1])

    def items(self) -> list[Manifest]:
        """Every object held, each a copy."""
        return [_expand(text) for _, text in self.objects.values()]

    def store(self, obj: Watched) -> None:
        """Hold ``obj`` unless the cache holds a newer version."""
        if isinstance(obj, Seen):  # the watch's selector left the unheld out
            key, (version, text) = obj.key, _held(obj)
        elif self.unheld is not None and self.unheld.labelled(obj):
            self.objects.pop(_key(obj), None)  # a write's answer or a read: not held
            return
        else:
            key, (version, text) = _key(obj), _compact(obj)
        held = self.objects.get(key)
        if held is None or _newer(held[0], version):
            self.objects[key] = (version, text)

    def forget(self, obj: Watched) -> None:
        if isinstance(obj, Seen):
            key, version = obj.key, _number(obj.version)
        else:
            key, version = _key(obj), version_of(obj)
        held = self.objects.get(key)
        if held is None or _newer(held[0], version):
            self.objects.pop(key, None)

    def stale(self, namespace: str, name: str) -> None:
        """A write was refused as stale: the next read goes to the API server."""
        self._stale.add((namespace, name))

    def refreshed(self, namespace: str, name: str, obj: Manifest | None) -> None:
        """What a read from the API server found (it wins over what the cache held)."""
        if not self.synced.is_set():
            return
        self._stale.discard((namespace, name))
        if obj is None:
            self.objects.pop((namespace, name), None)
        else:
            self.store(obj)

    def listen(self) -> asyncio.Queue[tuple[str, Watched]]:
        """The watch's events from now on, after an ADDED event per object held now (and
        :data:`SYNCED` once the first list is in, :data:`FAILED` when the informer gives up):
        what a consumer of the kind needs, without a watch of its own."""
        queue: asyncio.Queue[tuple[str, Watched]] = asyncio.Queue()
        for obj in self.items():
            queue.put_nowait(("ADDED", obj))
        if self.synced.is_set():
            queue.put_nowait((SYNCED, {}))
        if self.failed:
            queue.put_nowait((FAILED, {}))
        self._listeners.append(queue)
        return queue

    def unlisten(self, queue: asyncio.Queue[tuple[str, Watched]]) -> None:
        self._listeners.remove(queue)

    def _tell(self, event_type: str, obj: Watched) -> None:
        for queue in self._listeners:
            queue.put_nowait((event_type, obj))

    def _synced(self) -> None:
        self.synced.set()
        self._tell(SYNCED, {})

    async def run(self, watch: Watcher) -> None:
        """Apply the watch's events for ever (or give up when it cannot be followed)."""
        try:
            selector = self.unheld.selector if self.unheld is not None else None
            events = watch(self.api_version, self.kind, self.scope, selector, self._synced)
            async for event_type, obj in events:
                if event_type == "DELETED":
                    self.forget(obj)
                else:
                    self.store(obj)
                self._tell(event_type, obj)
        except errors.SerinusError as error:
            self.failed = True
            self._tell(FAILED, {})
            logger.warning(
                "not caching %s %s (%s): reading from the API server", self.kind, self.scope, error
            )


def _key(obj: Manifest) -> tuple[str, str]:
    metadata = obj.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


class Cache:
    """Informers started on first read, one per kind and scope (see the module docstring)."""

    def __init__(
        self,
        watch: Watcher,
        *,
        namespaces: tuple[str, ...] = (),
        unheld: Mapping[tuple[str, str], Unheld] = UNHELD,
    ) -> None:
        self._watch = watch
        self._namespaces = namespaces
        self._unheld = unheld
        self._informers: dict[tuple[str, str, Scope], Informer] = {}

    def scope(self, namespaced: bool, namespace: str | None) -> tuple[bool, Scope]:
        """(cacheable, scope) of a read in ``namespace``."""
        if not namespaced:
            return True, None
        if not self._namespaces:
            return True, None
        return namespace in self._namespaces, namespace

    def informer(
        self, api_version: str, kind: str, namespaced: bool, namespace: str | None, start: bool
    ) -> Informer | None:
        """The informer answering reads of this kind in ``namespace`` (started when asked)."""
        if (api_version, kind) in UNCACHED:
            return None
        cacheable, scope = self.scope(namespaced, namespace)
        if not cacheable:
            return None
        informer = self._informers.get((api_version, kind, scope))
        if informer is None and start:
            informer = Informer(api_version, kind, scope, self._unheld.get((api_version, kind)))
            self._informers[(api_version, kind, scope)] = informer
            informer.task = asyncio.get_running_loop().create_task(
                informer.run(self._watch), name=f"informer {kind} {scope or '*'}"
            )
        return informer

    def sizes(self) -> dict[str, int]:
        """Objects held per kind (for the operator's metrics and the benchmark)."""
        counts: dict[str, int] = {}
        for (_, kind, _), informer in self._informers.items():
            counts[kind] = counts.get(kind, 0) + len(informer.objects)
        return counts

    async def close(self) -> None:
        tasks = [i.task for i in self._informers.values() if i.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._informers.clear()


async def listened(
    informer: Informer | None,
    fallback: Callable[[Callable[[], None] | None], AsyncIterator[tuple[str, Manifest]]],
    synced: Callable[[], None] | None,
    *,
    documents: bool = True,
) -> AsyncIterator[tuple[str, Watched]]:
    """The events of ``informer`` (``synced`` called once its first list is in); those of
    ``fallback(synced)``, a watch of the caller's own, when there is no informer or it gives up.
    Without ``documents``, objects come as the watch gave them (a
    :class:`~serinus.kube.watch.Seen` is decoded only when its reader asks)."""
    if informer is not None:
        queue = informer.listen()
        try:
            while True:
                event_type, obj = await queue.get()
                if event_type == FAILED:
                    break
                if event_type != SYNCED:
                    yield event_type, obj.manifest if documents and isinstance(obj, Seen) else obj
                elif synced is not None:
                    synced()
                    synced = None
        finally:
            informer.unlisten(queue)
    async for event in fallback(synced):
        yield event


def hold(informer: Informer | None, obj: Any) -> None:
    """Put a write's answer in the cache (when the kind is cached)."""
    if informer is not None and isinstance(obj, dict):
        informer.store(obj)
