"""A work queue of object keys, as the Kubernetes controllers use one.

Watch events only say *which* object to look at; the controllers then read its current state.
A key already waiting is not queued twice, so a burst of events for one Deployment becomes one
sync; :meth:`WorkQueue.add_after` brings a key back later (a progress deadline, a pod becoming
available after ``minReadySeconds``, a retry after an error).
"""

from __future__ import annotations

import asyncio

Key = tuple[str, str, str]
"""(controller, namespace, name)."""


class WorkQueue:
    def __init__(self) -> None:
        self._waiting: dict[Key, None] = {}
        self._ready = asyncio.Event()
        self._timers: set[asyncio.TimerHandle] = set()

    def add(self, key: Key) -> None:
        self._waiting[key] = None
        self._ready.set()

    def add_after(self, key: Key, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            self.add(key)

        handle = loop.call_later(max(seconds, 0), fire)
        self._timers.add(handle)

    async def get(self) -> Key:
        while not self._waiting:
            self._ready.clear()
            await self._ready.wait()
        key = next(iter(self._waiting))
        del self._waiting[key]
        return key

    def close(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
