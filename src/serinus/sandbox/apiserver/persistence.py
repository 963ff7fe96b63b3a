"""``--state FILE``: every object and the resourceVersion counter, kept in one JSON file.

Writes are debounced (a burst of changes is written once, ``delay`` seconds after the first) and
atomic (a temporary file in the same directory, fsynced, then renamed over the old one), so a
crash leaves either the old state or the new one, never half a file. On start the file is
loaded before anything is served; the event log starts empty, so a watch that resumes from a
version before the restart gets 410 Gone and lists again, as after an etcd compaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pathlib
import tempfile

from serinus.errors import SerinusError
from serinus.sandbox.apiserver.cluster import Cluster
from serinus.sandbox.apiserver.objects import Obj
from serinus.sandbox.apiserver.store import Event

logger = logging.getLogger(__name__)

FORMAT = "serinus.sandbox.apiserver/state"


class StateFile:
    def __init__(self, path: pathlib.Path, cluster: Cluster, *, delay: float = 0.2) -> None:
        self.path = path
        self.cluster = cluster
        self.delay = delay
        self._dirty = False
        self._writer: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()

    def load(self) -> bool:
        """Load the saved state into the cluster; False when there is no file yet."""
        if not self.path.exists():
            return False
        try:
            saved = json.loads(self.path.read_text())
            if not isinstance(saved, dict) or saved.get("format") != FORMAT:
                raise ValueError(f"expected an object with format {FORMAT!r}")
            objects = [(str(e["storage"]), e["object"]) for e in saved["objects"]]
            rv = int(saved["resourceVersion"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise SerinusError(
                f"{self.path}: not a state file of the sandbox API server: {error}"
            ) from error
        self.cluster.store.load(rv, objects)
        self.cluster.sync_crds()
        logger.info("loaded %d objects from %s", len(objects), self.path)
        return True

    def attach(self) -> None:
        """Save after every change from now on."""
        self.cluster.store.listeners.append(self._changed)

    def _changed(self, event: Event) -> None:
        self._dirty = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.save()
            return
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_soon())

    async def _write_soon(self) -> None:
        while self._dirty:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), timeout=self.delay)
            self._dirty = False
            snapshot = self._snapshot()
            await asyncio.to_thread(_write_atomically, self.path, snapshot)

    def _snapshot(self) -> bytes:
        body: Obj = {
            "format": FORMAT,
            "resourceVersion": self.cluster.store.rv,
            "objects": [{"storage": s, "object": o} for s, o in self.cluster.store.everything()],
        }
        return json.dumps(body, separators=(",", ":")).encode()

    def save(self) -> None:
        """Write the current state now."""
        self._dirty = False
        _write_atomically(self.path, self._snapshot())

    async def close(self) -> None:
        """Finish the pending write (never two at once: an older snapshot must not land last),
        then save the final state."""
        self._hurry.set()
        if self._writer is not None:
            await self._writer
        self.save()


def _write_atomically(path: pathlib.Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise
