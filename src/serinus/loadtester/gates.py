"""The manual gates (``/gate/*``, ``/rollback/*``) and the file that keeps them across restarts.

A gate is a key that is open or closed: ``podinfo.test`` for a canary's approval gate and
``rollback.podinfo.test`` for its rollback gate, as in Flagger. Gates start closed. Flagger keeps
them in memory, so restarting its load tester silently closes every gate that a person opened; here
each change is written to a small JSON file before the HTTP answer goes out, so an opened gate stays
open through a restart or a rolled pod.

The file is replaced atomically (write a temporary file in the same directory, fsync, rename), so a
crash leaves either the old or the new state, never half of one. A file that exists but cannot be
read as gate state is an error at start-up: silently starting with every gate closed would undo
someone's approval without telling them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pathlib
import tempfile

_log = logging.getLogger(__name__)

_FORMAT_VERSION = 1


class GateStore:
    """Open/closed state per gate key, persisted to ``path`` (or kept in memory when None)."""

    def __init__(self, path: pathlib.Path | None) -> None:
        self._path = path
        self._open: set[str] = _load(path) if path is not None else set()

    @property
    def path(self) -> pathlib.Path | None:
        return self._path

    def is_open(self, key: str) -> bool:
        return key in self._open

    def open(self, key: str) -> None:
        """Open ``key``; idempotent. The change is on disk when this returns."""
        self._set(key, is_open=True)

    def close(self, key: str) -> None:
        """Close ``key``; idempotent. The change is on disk when this returns."""
        self._set(key, is_open=False)

    def _set(self, key: str, *, is_open: bool) -> None:
        wanted = self._open | {key} if is_open else self._open - {key}
        if wanted == self._open:
            return
        if self._path is not None:
            _save(self._path, wanted)
        self._open = wanted


def _load(path: pathlib.Path) -> set[str]:
    """The open gates stored in ``path``; an empty set when the file does not exist yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"gate state file {path} is not JSON: {error}") from None
    gates = document.get("open") if isinstance(document, dict) else None
    if not isinstance(gates, list) or not all(isinstance(key, str) for key in gates):
        raise ValueError(
            f'gate state file {path}: expected {{"version": 1, "open": [gate keys]}}, '
            f"found {text[:120]!r}"
        )
    _log.info("Loaded %d open gate(s) from %s", len(gates), path)
    return set(gates)


def _save(path: pathlib.Path, open_gates: set[str]) -> None:
    """Replace ``path`` atomically with the given state."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"version": _FORMAT_VERSION, "open": sorted(open_gates)}, indent=2)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: pathlib.Path) -> None:
    """Make the rename itself durable; some platforms cannot open a directory, which is fine."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
