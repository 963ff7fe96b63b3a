"""Recording each tick into the Canary's run history, and telling live viewers.

:class:`HistoryRecorder` is called by :class:`serinus.operator.canaries.Canaries` after every
tick, with the Canary as the tick left it. During a run (and on the tick that ends one) it adds
the tick to the history (:func:`serinus.operating.timeline.record`) and writes the ConfigMap
(:class:`serinus.kube.history.HistoryStore`); a Canary idling between runs costs nothing. The
last histories written are kept in memory (a few, least recently used out), so a tick usually
writes without reading first; a write that conflicts drops the copy and the next tick reads
again. Recording is best effort: a failure is a log line and never stops a release.

:class:`Changes` wakes the dashboard's live streams when a Canary's history or status moved.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime
import logging

from serinus.apis.canary import Canary
from serinus.apis.history import History
from serinus.apis.status import ACTIVE_PHASES, CanaryPhase
from serinus.errors import SerinusError
from serinus.kube.history import HistoryStore
from serinus.operating import timeline
from serinus.ports import Clock

logger = logging.getLogger(__name__)

Key = tuple[str, str]
CACHED = 64


class Changes:
    """A counter per Canary that live viewers wait on."""

    def __init__(self) -> None:
        self._moved = asyncio.Condition()
        self._versions: dict[Key, int] = {}

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
        self._cache: collections.OrderedDict[Key, History] = collections.OrderedDict()

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
            self._cache.pop(key, None)
            logger.warning("run history of %s not written: %s", canary.key, error)
        await self.changes.changed(key)

    async def _record(self, key: Key, canary: Canary) -> None:
        history = self._cache.get(key)
        if history is None:
            history = await self._store.read(*key) or History(canary=canary.key)
        now = self._clock.now().astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        updated = timeline.record(history, canary, at=now)
        if updated is not None:
            await self._store.write(canary, updated)
            history = updated
        self._cache[key] = history
        self._cache.move_to_end(key)
        while len(self._cache) > CACHED:
            self._cache.popitem(last=False)

    def forget(self, key: Key) -> None:
        """The Canary is gone."""
        self._cache.pop(key, None)
