"""The manual gates (``/gate/*``, ``/rollback/*``) and the journal that keeps them across restarts.

A gate is open or closed; each canary has an approval gate and a rollback gate. Flagger keys them
``name.namespace`` and ``rollback.name.namespace``, so the rollback gate of ``podinfo`` and the
approval gate of a canary called ``rollback.podinfo`` are one key. Here a gate is the triple
:class:`Gate` (kind, namespace, name), which cannot collide: the payload's namespace and name are
checked to be Kubernetes names before a gate is touched. Gates start closed. At most ``limit`` gates
are open at once (:class:`TooManyGates` past it, a 429), so a caller cannot grow the state without
bound.

Flagger keeps gates in memory, so restarting its load tester silently closes every gate a person
opened. Here every change is appended to a journal file (one JSON line, flushed and fsynced) before
the HTTP answer goes out: a change costs one short write whatever the number of gates, where
rewriting the whole state would cost a write of every open gate. When the journal holds many more
lines than open gates it is compacted: rewritten atomically (temporary file, fsync, rename), so a
crash leaves the old journal or the new one. A last line cut short by a crash is ignored with a
warning; anything else that is not gate state is an error at start-up, since silently starting
with every gate closed would undo someone's approval without telling them. A version 1 file (the
whole state as one JSON document, Flagger-style keys) is read and rewritten as a journal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import pathlib
import tempfile
from collections.abc import Iterable
from typing import Literal

_log = logging.getLogger(__name__)

DEFAULT_LIMIT = 1000
"""Gates open at once by default (``--max-gates``)."""
_VERSION = 2
_COMPACT_SLACK = 256
"""Journal lines beyond twice the open gates that trigger a compaction."""

Kind = Literal["gate", "rollback"]


@dataclasses.dataclass(frozen=True, order=True)
class Gate:
    """One gate: the approval or rollback gate of one canary."""

    kind: Kind
    namespace: str
    name: str

    def __str__(self) -> str:
        """Flagger's spelling, for logs and answers: ``podinfo.test``, ``rollback.podinfo.test``."""
        prefix = "rollback." if self.kind == "rollback" else ""
        return f"{prefix}{self.name}.{self.namespace}"


class TooManyGates(Exception):
    """Opening another gate would pass the limit; the message is the 429 text."""


class GateStore:
    """Open/closed state per gate, journalled to ``path`` (or kept in memory when None)."""

    def __init__(self, path: pathlib.Path | None, *, limit: int = DEFAULT_LIMIT) -> None:
        self._path = path
        self._limit = limit
        self._open: set[Gate] = set()
        self._lines = 0
        if path is not None:
            self._open, self._lines, current = _load(path)
            if not current:
                self._compact()

    @property
    def path(self) -> pathlib.Path | None:
        return self._path

    def __len__(self) -> int:
        return len(self._open)

    def is_open(self, gate: Gate) -> bool:
        return gate in self._open

    def open(self, gate: Gate) -> None:
        """Open ``gate``; idempotent. The change is on disk when this returns."""
        if gate in self._open:
            return
        if len(self._open) >= self._limit:
            raise TooManyGates(
                f"too many open gates ({self._limit}, --max-gates); close some first"
            )
        self._append("open", gate)
        self._open.add(gate)

    def close(self, gate: Gate) -> None:
        """Close ``gate``; idempotent. The change is on disk when this returns."""
        if gate not in self._open:
            return
        self._append("close", gate)
        self._open.discard(gate)

    def _append(self, change: str, gate: Gate) -> None:
        if self._path is None:
            return
        if self._lines > 2 * len(self._open) + _COMPACT_SLACK:
            self._compact()
        with self._path.open("a", encoding="utf-8") as journal:
            journal.write(_line(change, gate))
            journal.flush()
            os.fsync(journal.fileno())
        self._lines += 1

    def _compact(self) -> None:
        """Rewrite the journal as one line per open gate, atomically."""
        assert self._path is not None
        lines = [json.dumps({"version": _VERSION}) + "\n"]
        lines += [_line("open", gate) for gate in sorted(self._open)]
        _replace(self._path, "".join(lines))
        self._lines = len(lines)


def _line(change: str, gate: Gate) -> str:
    return json.dumps({change: [gate.kind, gate.namespace, gate.name]}) + "\n"


def _load(path: pathlib.Path) -> tuple[set[Gate], int, bool]:
    """The open gates in ``path``, its line count, and whether it is a current journal."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return set(), 0, False
    if not text.strip():
        return set(), 0, False
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None  # a journal of several lines
    if isinstance(document, dict) and document != {"version": _VERSION}:
        return _load_version_1(path, text), 0, False
    lines = text.split("\n")
    torn = lines.pop()  # after the last newline: empty, or a line cut short by a crash
    if torn:
        _log.warning("Gate journal %s: ignoring a last line cut short (%d bytes)", path, len(torn))
    _expect_header(path, lines[0] if lines else torn)
    gates: set[Gate] = set()
    for number, line in enumerate(lines[1:], start=2):
        change, gate = _parse_line(path, number, line)
        if change == "open":
            gates.add(gate)
        else:
            gates.discard(gate)
    _log.info("Loaded %d open gate(s) from %s", len(gates), path)
    return gates, len(lines), not torn


def _expect_header(path: pathlib.Path, line: str) -> None:
    try:
        header = json.loads(line)
    except json.JSONDecodeError:
        header = None
    if header != {"version": _VERSION}:
        raise ValueError(
            f'gate state file {path}: expected a first line {{"version": {_VERSION}}}, '
            f"found {line[:80]!r}"
        )


def _parse_line(path: pathlib.Path, number: int, line: str) -> tuple[str, Gate]:
    try:
        entry = json.loads(line)
        [(change, (kind, namespace, name))] = entry.items()
        valid = change in ("open", "close") and kind in ("gate", "rollback")
        if valid and isinstance(namespace, str) and isinstance(name, str):
            return change, Gate(kind, namespace, name)
    except (json.JSONDecodeError, ValueError, TypeError, AttributeError):
        pass
    raise ValueError(f"gate state file {path}, line {number}: not a gate change: {line[:80]!r}")


def _load_version_1(path: pathlib.Path, text: str) -> set[Gate]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"gate state file {path} is not JSON: {error}") from None
    keys = document.get("open") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise ValueError(
            f'gate state file {path}: expected {{"version": 1, "open": [gate keys]}}, '
            f"found {text[:120]!r}"
        )
    _log.info("Converting %d open gate(s) in %s to a journal", len(keys), path)
    return set(_version_1_gates(keys))


def _version_1_gates(keys: Iterable[str]) -> Iterable[Gate]:
    for key in keys:
        kind: Kind = "rollback" if key.startswith("rollback.") else "gate"
        name, _, namespace = key.removeprefix("rollback.").rpartition(".")
        if name and namespace:
            yield Gate(kind, namespace, name)


def _replace(path: pathlib.Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
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
