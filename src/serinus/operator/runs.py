"""``--max-concurrent-runs`` (and per namespace): who may start a run now, and who is next.

:class:`RunLimits` is the operator's :class:`~serinus.ports.RunSlots`. It keeps, from the watch of
Canaries (and from each tick's result, which is newer), every Canary's phase and ``queued``
stamp. A run is in progress in phases Progressing, WaitingPromotion, Promoting and Finalising; the
queue is every Canary in phase Waiting with a ``queued`` stamp, in the order of (stamp,
namespace, name). A new revision is admitted when the runs in progress plus the Canaries ahead of
it in the queue are fewer than the limit, in the cluster and in its namespace.

Admitting reserves the slot in memory at once (between the decision and the status write that
says Progressing, other ticks run), so one replica never admits past the limit. With ``--shards
auto`` each replica decides from its own watch: the queue's order and the runs in progress are
the same everywhere, but two replicas may admit in the same few milliseconds before either's
write reaches the other, so the cluster limit may be passed by one run per extra replica for that
long; the docs say so.
"""

from __future__ import annotations

import time

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.ports import Admission

IN_PROGRESS = frozenset({"Progressing", "WaitingPromotion", "Promoting", "Finalising"})
RESERVATION_SECONDS = 120.0
"""How long an admitted run counts as in progress before its status says so (a tick that dies
between the two frees the slot after this long)."""

Key = tuple[str, str]


class RunLimits:
    """The run slots of the cluster and of each namespace (see the module docstring)."""

    def __init__(self, *, cluster: int, namespace: int) -> None:
        self.cluster, self.namespace = cluster, namespace
        self._phases: dict[Key, str] = {}
        self._queued: dict[Key, str] = {}
        self._reserved: dict[Key, float] = {}

    @property
    def limited(self) -> bool:
        return bool(self.cluster or self.namespace)

    def seen(self, key: Key, phase: str, queued: str | None) -> None:
        """A Canary's phase and queue stamp, as last read or written."""
        self._phases[key] = phase
        if phase == "Waiting" and queued:
            self._queued[key] = queued
        else:
            self._queued.pop(key, None)
        if phase in IN_PROGRESS:
            self._reserved.pop(key, None)

    def seen_manifest(self, key: Key, manifest: Manifest) -> None:
        status = manifest.get("status") or {}
        self.seen(key, str(status.get("phase") or ""), status.get("queued"))

    def forget(self, key: Key) -> None:
        self._phases.pop(key, None)
        self._queued.pop(key, None)
        self._reserved.pop(key, None)

    async def admit(self, canary: Canary, queued: str) -> Admission:
        if not self.limited:
            return Admission(admitted=True)
        key = (canary.namespace, canary.name)
        now = time.monotonic()
        self._reserved = {k: t for k, t in self._reserved.items() if t > now}
        if key in self._reserved:
            return Admission(admitted=True)
        place = (queued, *key)
        verdicts = []
        for limit, inside in (
            (self.cluster, lambda k: True),
            (self.namespace, lambda k: k[0] == key[0]),
        ):
            if not limit:
                continue
            running = sum(
                1
                for k, phase in self._phases.items()
                if inside(k) and (phase in IN_PROGRESS or k in self._reserved)
            )
            ahead = sum(  # admitted ones count as running already
                1
                for k, stamp in self._queued.items()
                if inside(k) and k != key and k not in self._reserved and (stamp, *k) < place
            )
            verdicts.append((running + ahead < limit, running, ahead + 1))
        refused = [v for v in verdicts if not v[0]]
        if refused:
            _, running, position = max(refused, key=lambda v: v[2])
            return Admission(admitted=False, in_progress=running, position=position)
        self._reserved[key] = now + RESERVATION_SECONDS
        return Admission(admitted=True)
