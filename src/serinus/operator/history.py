"""Recording each tick into the Canary's run history, and telling live viewers.

:class:`HistoryRecorder` is called by :class:`serinus.operator.canaries.Canaries` after every
tick, with the Canary as the tick left it. During a run (and on the tick that ends one) it adds
the tick to the history (:func:`serinus.operating.timeline.record`); a Canary idling between
runs costs nothing. The ConfigMap (:class:`serinus.kube.history.HistoryStore`) is written at once
when a run starts or ends, its phase changes or a request is handled, and otherwise at most once
every :data:`FLUSH_SECONDS` per Canary: a run stepping its weight every 10 s would else write its
whole history on every tick (a thousand Canaries, a hundred writes a second of nothing new to
anyone but a viewer). Points not yet written are held in memory; the dashboard shows them
(:meth:`Changes.unwritten`), ``serinus report`` sees them at the next write, a graceful stop
writes them all (:meth:`HistoryRecorder.flush`), and a crash loses at most :data:`FLUSH_SECONDS`
of points (never a run's start, end or a request). What is written is always the whole history
as it stood at that tick.

The history of each Canary in a run is held between ticks as :class:`serinus.operator.held.Held`
(mostly the JSON it is written as, the current run's last point as a model), so a tick neither
reads, parses nor serializes the whole history; it is let go when the run ends and is written,
and read again from the ConfigMap (from the API server: the operator's cache does not hold run
histories) when the next run starts. A write is one request: the store replaces the ConfigMap
with the resourceVersion of its own last read or write. Recording is best effort: a failure is a
log line and never stops a release.

:class:`Changes` wakes the dashboard's live streams when a Canary's history or status moved.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging

from serinus.apis.base import Manifest, format_time
from serinus.apis.canary import Canary
from serinus.apis.history import History
from serinus.apis.status import ACTIVE_PHASES, CanaryPhase
from serinus.errors import SerinusError
from serinus.kube import history as store
from serinus.kube.history import HistoryStore
from serinus.operator.held import Held
from serinus.ports import Clock

logger = logging.getLogger(__name__)

Key = tuple[str, str]
Pending = tuple[list[Manifest], Held]
"""A history not written yet: the ConfigMap's ownerReferences, and the history."""
FLUSH_SECONDS = 60.0
"""The longest a point waits in memory before the history ConfigMap is written."""


class Changes:
    """A counter per Canary that live viewers wait on."""

    def __init__(self) -> None:
        self._moved = asyncio.Condition()
        self._versions: dict[Key, int] = {}
        self.pending: dict[Key, Pending] = {}
        """Histories not written yet."""

    def unwritten(self, key: Key) -> History | None:
        """The Canary's history when it holds points not written yet, else None."""
        found = self.pending.get(key)
        return None if found is None else History.model_validate_json(found[1].text())

    def version(self, key: Key) -> int:
        return self._versions.get(key, 0)

    async def changed(self, key: Key) -> None:
        async with self._moved:
            self._versions[key] = self._versions.get(key, 0) + 1
            self._moved.notify_all()

    async def wait(self, key: Key, *, after: int, within: float) -> int:
        """Wait until ``key`` moved past version ``after`` (or ``within`` seconds); its version."""
        async with self._moved:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._moved.wait_for(lambda: self.version(key) > after), within
                )
            return self.version(key)


class HistoryRecorder:
    """Keeps each Canary's run history up to date, tick after tick."""

    def __init__(self, store: HistoryStore, *, clock: Clock, changes: Changes | None = None):
        self._store = store
        self._clock = clock
        self.changes = changes or Changes()
        self._held: dict[Key, Held] = {}
        """The history of each Canary in a run (or with points not written yet)."""
        self._written: dict[Key, datetime.datetime] = {}

    async def record(self, canary: Canary, *, before: CanaryPhase | None) -> None:
        """Add this tick to the Canary's history, when it is in a run or just left one."""
        status = canary.status
        phase = status.phase if status is not None else None
        key = (canary.namespace, canary.name)
        if phase is None or (phase not in ACTIVE_PHASES and phase is before):
            return
        try:
            await self._record(key, canary)
        except SerinusError as error:
            logger.warning("run history of %s not written: %s", canary.key, error)
        if phase not in ACTIVE_PHASES and key not in self.changes.pending:
            self._held.pop(key, None)  # out of a run and written: read again at the next
        await self.changes.changed(key)

    async def _record(self, key: Key, canary: Canary) -> None:
        held = self._held.get(key)
        if held is None:
            history = await self._store.read(*key) or History(canary=canary.key)
            held = self._held[key] = Held.of(history)
        now = self._clock.now()
        landmark = held.landmark()  # before record(), which may change the current run
        updated = held.record(canary, at=_stamp(now))
        if updated is None:
            return
        self._held[key] = updated
        self.changes.pending[key] = (store.owner(canary), updated)
        written = self._written.get(key)
        if landmark != updated.landmark() or (
            written is None or (now - written).total_seconds() >= FLUSH_SECONDS
        ):
            await self._write(key)

    async def _write(self, key: Key) -> None:
        entry = self.changes.pending[key]
        owners, held = entry
        await self._store.write_text(key[0], key[1], owners, held.text())
        if self.changes.pending.get(key) is entry:
            del self.changes.pending[key]
        self._written[key] = self._clock.now()

    async def flush(self, keys: list[Key] | None = None) -> None:
        """Write every history (of ``keys``) that holds points not written yet: on a graceful
        stop, and before a Canary goes to another replica."""
        for key in list(self.changes.pending) if keys is None else keys:
            if key not in self.changes.pending:
                continue
            try:
                await self._write(key)
            except SerinusError as error:
                logger.warning("run history of %s.%s not written: %s", key[1], key[0], error)

    async def hand_over(self, keys: list[Key]) -> None:
        """These Canaries go to another replica: write what is pending, then forget them (the
        copy held here would be stale should they come back)."""
        await self.flush(keys)
        for key in keys:
            self.forget(key)

    def forget(self, key: Key) -> None:
        """The Canary is gone."""
        self._held.pop(key, None)
        self._written.pop(key, None)
        self.changes.pending.pop(key, None)
        self._store.forget(*key)


def _stamp(moment: datetime.datetime) -> str:
    return format_time(moment)
