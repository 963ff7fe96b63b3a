"""Kubernetes Events, aggregated as the real event recorder does.

:class:`EventRecorder` records core/v1 Events on any object for one source component,
awaiting each write (the sandbox's kubelet, scheduler and GitOps manager use it so); the
operator's :class:`serinus.kube.eventsink.KubeEventSink` queues its Events and writes them
through one recorder in the background, off the tick's path, as client-go does for Flagger.
Each message of a tick ("Advance podinfo.test canary weight 5", "Halt advancement ...")
becomes a core/v1 Event on the Canary, with Flagger's shape: reason ``Synced``, type Normal or
Warning, source component ``serinus`` (Flagger's is ``flagger``; configurable), so ``kubectl
describe canary`` lists them.

A Canary waiting for a gate or halting on a metric says the same thing every tick. Creating an
Event each time would flood the namespace (and etcd), so, like client-go's event correlator, an
identical event (same object, type, reason, message and source) seen again within ``window``
seconds increments ``count`` and moves ``lastTimestamp`` on the existing Event instead; many
similar events (a long analysis advancing step by step) are combined into one, and each object
has a budget of Event writes (:mod:`serinus.kube.correlator`, client-go's numbers). The
memory of recent events is per process and bounded (least recently used first out): after a
restart the next occurrence simply starts a new Event, as with client-go.

Messages pass through :func:`serinus.redaction.clean` (no credentials, at most 1,024 characters),
and names through :func:`event_name`, which keeps them within the 253 characters of an object
name for a Canary of any name (client-go's ``<object>.<nanoseconds>`` does not, and the API
server refuses every Event of a Canary whose name is longer than 236 characters).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import logging
import time

from serinus import errors
from serinus.apis.base import Manifest, format_time
from serinus.kube.client import Kube
from serinus.kube.correlator import COMBINED, Correlator
from serinus.ports import Clock, EventType, SystemClock
from serinus.redaction import MESSAGE_LIMIT, clean

logger = logging.getLogger(__name__)

REASON = "Synced"
NAME_LIMIT = 253
"""Longest object name the API server takes (a DNS subdomain)."""


def event_name(object_name: str, nanoseconds: int | None = None) -> str:
    """``<object>.<nanoseconds, hex>`` as client-go names Events (unique, and sortable), with the
    object's part shortened so that the whole stays a valid name of at most 253 characters."""
    suffix = f".{nanoseconds if nanoseconds is not None else time.time_ns():x}"
    prefix = object_name[: NAME_LIMIT - len(suffix)].rstrip("-.")
    return f"{prefix}{suffix}"


def timestamp(moment: datetime.datetime) -> str:
    """RFC 3339 in UTC with seconds, as Event timestamps are written."""
    return format_time(moment)


def reference(obj: Manifest, *, field_path: str = "") -> Manifest:
    """The ``involvedObject`` of an Event about ``obj`` (``field_path``: a part of it, such as
    ``spec.containers{podinfo}``)."""
    metadata = obj.get("metadata") or {}
    found: Manifest = {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace"),
    }
    for key in ("uid", "resourceVersion"):
        if metadata.get(key):
            found[key] = metadata[key]
    if field_path:
        found["fieldPath"] = field_path
    return found


@dataclasses.dataclass
class _Seen:
    name: str
    """The Event's name; empty while its first write is held back (no budget)."""
    namespace: str
    count: int
    first: datetime.datetime
    last: datetime.datetime


class EventRecorder:
    """Records Events for one source component through the API, aggregating repeats."""

    def __init__(
        self,
        kube: Kube,
        *,
        component: str,
        host: str | None = None,
        clock: Clock | None = None,
        window: float = 600.0,
        remembered: int = 4096,
    ) -> None:
        """
        Args:
            kube: the client.
            component: ``source.component`` (and ``reportingComponent``) of every Event.
            host: ``source.host`` (the node, or the pod's name), when known.
            clock: where Event times come from; the system clock by default.
            window: seconds within which a repeated event updates the earlier one.
            remembered: how many distinct recent events are kept for aggregation.
        """
        self._kube = kube
        self._component = component
        self._host = host
        self._clock: Clock = clock or SystemClock()
        self._window = datetime.timedelta(seconds=window)
        self._limit = remembered
        self._seen: collections.OrderedDict[tuple[str, ...], _Seen] = collections.OrderedDict()
        self._correlator = Correlator(remembered=remembered)

    async def record(
        self,
        involved: Manifest,
        *,
        event_type: EventType | str,
        reason: str,
        message: str,
        at: datetime.datetime | None = None,
    ) -> None:
        """Record one Event about ``involved`` (see :func:`reference`); KubeError when refused.

        An identical Event (same object, part, type, reason, message and source) recorded within
        the window is counted on the earlier one instead; similar ones are combined, and a write
        beyond the object's budget is held back (counted, sent with the next write allowed).
        ``at``: when it happened (a queued Event is written later, stamped and correlated with
        the moment it was recorded); now by default.
        """
        now = at or self._clock.now()
        moment = now.timestamp()
        source = self._source(involved)
        message = self._correlator.combine(
            source, (event_type, reason), clean(message, MESSAGE_LIMIT), moment
        )
        key = self._key(source, event_type, reason, message)
        seen = self._seen.get(key)
        if seen is not None and now - seen.last > self._window:
            seen = None
        if seen is None:
            seen = _Seen("", str(involved.get("namespace") or ""), 0, now, now)
        seen.count += 1
        seen.last = now
        self._remember(key, seen)
        if not self._correlator.allow(source, moment):
            return
        if seen.name and await self._increment(seen, message, now):
            return
        seen.name = await self._create(involved, event_type, reason, message, seen)

    def _source(self, involved: Manifest) -> tuple[str, ...]:
        """Who records (component, host) about what (the object, and the part of it)."""
        fields = ("apiVersion", "namespace", "kind", "name", "uid", "fieldPath")
        return (self._component, self._host or "", *(str(involved.get(f) or "") for f in fields))

    def _key(
        self, source: tuple[str, ...], event_type: str, reason: str, message: str
    ) -> tuple[str, ...]:
        if message.startswith(COMBINED):  # one Event for all of them
            message = COMBINED
        return (*source, event_type, reason, message)

    def _remember(self, key: tuple[str, ...], seen: _Seen) -> None:
        self._seen[key] = seen
        self._seen.move_to_end(key)
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)

    async def _increment(self, seen: _Seen, message: str, now: datetime.datetime) -> bool:
        """Write the count (and newest message) on the Event; False when it is gone."""
        patch = {"count": seen.count, "lastTimestamp": timestamp(now), "message": message}
        try:
            await self._kube.patch("v1", "Event", seen.name, seen.namespace, patch)
        except errors.NotFoundError:  # expired (events live an hour) or deleted
            seen.count = 1
            seen.first = now
            return False
        return True

    async def _create(
        self,
        involved: Manifest,
        event_type: str,
        reason: str,
        message: str,
        seen: _Seen,
    ) -> str:
        for _ in range(3):
            event = self._event(involved, event_type, reason, message, seen)
            try:
                created = await self._kube.create(event)
            except errors.ConflictError:  # the same name from another replica: pick another
                continue
            return str(created["metadata"]["name"])
        raise errors.ConflictError(
            f"create Event on {involved.get('kind')} "
            f"{involved.get('namespace')}/{involved.get('name')}: no free name"
        )

    def _event(
        self,
        involved: Manifest,
        event_type: str,
        reason: str,
        message: str,
        seen: _Seen,
    ) -> Manifest:
        source: Manifest = {"component": self._component}
        if self._host:
            source["host"] = self._host
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": event_name(str(involved.get("name") or "")),
                "namespace": involved.get("namespace"),
            },
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": event_type,
            "source": source,
            "firstTimestamp": timestamp(seen.first),
            "lastTimestamp": timestamp(seen.last),
            "count": seen.count,
            "reportingComponent": self._component,
            "reportingInstance": self._host or "",
        }
