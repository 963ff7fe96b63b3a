"""``--state FILE``: every object and the resourceVersion counter, kept across restarts.

Two files keep them. ``FILE`` is a snapshot of everything, written debounced (a burst of changes
is written once, ``delay`` seconds after the first) and atomically (a temporary file in the same
directory, fsynced, then renamed over the old one). ``FILE.journal`` gets one JSON line per
change, written before the change is answered, so a server killed at any moment (SIGKILL, a
crash) loses no write it acknowledged, as etcd commits before the API server answers. Each
snapshot starts a new journal (the previous one, ``FILE.journal.old``, is kept until the snapshot
is on disk), and on start the snapshot is loaded and both journals replayed over it, skipping
the changes it already holds and a last line cut short by the kill. A clean stop writes a final
snapshot and removes the journals.

The journal is written but not fsynced: a process that dies keeps what it wrote (the kernel has
it); only a crash of the machine itself can lose the last writes.

On start the event log is empty, so a watch that resumes from a version before the restart gets
410 Gone and lists again, as after an etcd compaction.
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
from serinus.sandbox.apiserver.objects import Obj, name_of, namespace_of, rv_of
from serinus.sandbox.apiserver.store import Event

logger = logging.getLogger(__name__)

FORMAT = "serinus.sandbox.apiserver/state"

Key = tuple[str, str, str]


class StateFile:
    def __init__(self, path: pathlib.Path, cluster: Cluster, *, delay: float = 0.2) -> None:
        self.path = path
        self.journal = path.with_name(path.name + ".journal")
        self.rotated = path.with_name(path.name + ".journal.old")
        self.cluster = cluster
        self.delay = delay
        self._dirty = False
        self._writer: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()
        self._fd: int | None = None

    def load(self) -> bool:
        """Load the saved state into the cluster; False when there is nothing saved yet."""
        if not self.path.exists() and not self.journal.exists() and not self.rotated.exists():
            return False
        rv, objects = self._read_snapshot() if self.path.exists() else (0, {})
        replayed = 0
        for journal in (self.rotated, self.journal):
            for line in _lines(journal):
                change = _change(journal, line)
                if change is None or int(change["rv"]) <= rv:
                    continue
                replayed += 1
                rv = int(change["rv"])
                key = _key(str(change["storage"]), change["object"])
                if change["type"] == "DELETED":
                    objects.pop(key, None)
                else:
                    objects[key] = change["object"]
        self.cluster.store.load(rv, [(key[0], obj) for key, obj in objects.items()])
        self.cluster.sync_crds()
        logger.info(
            "loaded %d objects from %s (%d changes from its journal)",
            len(objects),
            self.path,
            replayed,
        )
        return True

    def _read_snapshot(self) -> tuple[int, dict[Key, Obj]]:
        try:
            saved = json.loads(self.path.read_text())
            if not isinstance(saved, dict) or saved.get("format") != FORMAT:
                raise ValueError(f"expected an object with format {FORMAT!r}")
            objects = {_key(str(e["storage"]), e["object"]): e["object"] for e in saved["objects"]}
            return int(saved["resourceVersion"]), objects
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise SerinusError(
                f"{self.path}: not a state file of the sandbox API server: {error}"
            ) from error

    def attach(self) -> None:
        """Journal every change from now on, and save a snapshot after each burst."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.cluster.store.listeners.append(self._changed)

    def _changed(self, event: Event) -> None:
        if self._fd is not None:
            line = {"rv": event.rv, "type": event.type, "storage": event.storage}
            line["object"] = event.obj
            os.write(self._fd, json.dumps(line, separators=(",", ":")).encode() + b"\n")
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
            self._rotate()  # on the loop's thread, with the snapshot: no change falls between
            await asyncio.to_thread(_write_atomically, self.path, snapshot)
            self.rotated.unlink(missing_ok=True)

    def _rotate(self) -> None:
        if self._fd is None:
            return
        os.close(self._fd)
        os.replace(self.journal, self.rotated)
        self._fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

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
        snapshot = self._snapshot()
        self._rotate()
        _write_atomically(self.path, snapshot)
        self.rotated.unlink(missing_ok=True)

    async def close(self) -> None:
        """Finish the pending write (never two at once: an older snapshot must not land last),
        then save the final state and remove the journals."""
        self._hurry.set()
        if self._writer is not None:
            await self._writer
        self.save()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.journal.unlink(missing_ok=True)


def _key(storage: str, obj: Obj) -> Key:
    return storage, namespace_of(obj), name_of(obj)


def _lines(journal: pathlib.Path) -> list[bytes]:
    try:
        return journal.read_bytes().splitlines()
    except FileNotFoundError:
        return []


def _change(journal: pathlib.Path, line: bytes) -> Obj | None:
    """One journal line; None for the last one a kill cut short (it was never answered)."""
    try:
        change = json.loads(line)
        if not isinstance(change, dict) or not isinstance(change.get("object"), dict):
            raise ValueError("expected an object with rv, type, storage and object")
        rv_of(change["object"])
        int(change["rv"])
    except (ValueError, TypeError, KeyError) as error:
        logger.warning("%s: skipping an unreadable change (%s)", journal, error)
        return None
    return change


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
