"""Kubernetes Events, aggregated as the real event recorder does.

:class:`EventRecorder` records core/v1 Events on any object for one source component (the
sandbox's kubelet and scheduler use it); :class:`KubeEventSink` is the operator's implementation
of :class:`serinus.ports.EventSink` on top of it. Each message of a tick
("Advance podinfo.test canary weight 5", "Halt advancement ...") becomes a core/v1 Event on the
Canary, with Flagger's shape: reason ``Synced``, type Normal or Warning, source component
``serinus`` (Flagger's is ``flagger``; configurable), so ``kubectl describe canary`` lists them.

A Canary waiting for a gate or halting on a metric says the same thing every tick. Creating an
Event each time would flood the namespace (and etcd), so, like client-go's event correlator, an
identical event (same object, type, reason, message and source) seen again within ``window``
seconds increments ``count`` and moves ``lastTimestamp`` on the existing Event instead. The
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
from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.kube.client import Kube
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
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    namespace: str
    count: int
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

    async def record(
        self, involved: Manifest, *, event_type: EventType | str, reason: str, message: str
    ) -> None:
        """Record one Event about ``involved`` (see :func:`reference`); KubeError when refused.

        An identical Event (same object, part, type, reason, message and source) recorded within
        the window is counted on the earlier one instead.
        """
        now = self._clock.now()
        message = clean(message, MESSAGE_LIMIT)
        key = self._key(involved, event_type, reason, message)
        if await self._increment(self._seen.get(key), now):
            self._seen.move_to_end(key)
            return
        name = await self._create(involved, event_type, reason, message, now)
        self._remember(key, _Seen(name, str(involved.get("namespace") or ""), 1, now))

    def _key(
        self, involved: Manifest, event_type: str, reason: str, message: str
    ) -> tuple[str, ...]:
        fields = ("namespace", "kind", "name", "uid", "fieldPath")
        return (
            *(str(involved.get(field) or "") for field in fields),
            event_type,
            reason,
            message,
            self._component,
        )

    def _remember(self, key: tuple[str, ...], seen: _Seen) -> None:
        self._seen[key] = seen
        self._seen.move_to_end(key)
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)

    async def _increment(self, seen: _Seen | None, now: datetime.datetime) -> bool:
        """Count one more occurrence on a recent identical Event; False when there is none."""
        if seen is None or now - seen.last > self._window:
            return False
        patch = {"count": seen.count + 1, "lastTimestamp": timestamp(now)}
        try:
            await self._kube.patch("v1", "Event", seen.name, seen.namespace, patch)
        except errors.NotFoundError:  # expired (events live an hour) or deleted
            return False
        seen.count += 1
        seen.last = now
        return True

    async def _create(
        self,
        involved: Manifest,
        event_type: str,
        reason: str,
        message: str,
        now: datetime.datetime,
    ) -> str:
        for _ in range(3):
            event = self._event(involved, event_type, reason, message, now)
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
        now: datetime.datetime,
    ) -> Manifest:
        source: Manifest = {"component": self._component}
        if self._host:
            source["host"] = self._host
        stamp = timestamp(now)
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
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "reportingComponent": self._component,
            "reportingInstance": self._host or "",
        }


class KubeEventSink:
    """Records Events on Canaries through the API (an ``EventSink`` port)."""

    def __init__(
        self,
        kube: Kube,
        *,
        component: str = "serinus",
        host: str | None = None,
        clock: Clock | None = None,
        window: float = 600.0,
        remembered: int = 4096,
    ) -> None:
        """
        Args:
            kube: the client.
            component: ``source.component`` (and ``reportingComponent``) of every Event.
            host: ``source.host`` (the pod's node or name), when known.
            clock: where Event times come from; the system clock by default.
            window: seconds within which a repeated event updates the earlier one.
            remembered: how many distinct recent events are kept for aggregation.
        """
        self._recorder = EventRecorder(
            kube,
            component=component,
            host=host,
            clock=clock,
            window=window,
            remembered=remembered,
        )

    async def record(self, canary: Canary, *, event_type: EventType, message: str) -> None:
        """Record one Event (reason Synced); raise KubeError when the API refuses it."""
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
        await self._recorder.record(involved, event_type=event_type, reason=REASON, message=message)
