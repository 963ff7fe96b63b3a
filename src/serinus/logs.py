"""Log setup: JSON lines with Flagger's keys, or a plain console format.

Flagger's zap encoder writes ``ts``, ``level``, ``logger``, ``caller`` and ``msg``, plus ``canary``
as ``name.namespace``. Users pipe these logs through ``jq .msg`` and grep for the messages, so
serinus keeps the keys and the wording. Only the CLI calls :func:`configure`; every module logs
through ``logging.getLogger(__name__)``, and per-canary lines go through :class:`CanaryLogger`.

Both formats pass every message and traceback through :func:`serinus.redaction.clean`, whatever
logged it: credentials in URLs never reach the log, and no line is longer than
:data:`LINE_LIMIT` characters (container runtimes split longer lines, and a 339 KB spec echoed
into one line helps nobody).
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import sys
from collections.abc import Callable, MutableMapping
from typing import Any, TextIO

from serinus.redaction import clean

# Extra record attributes copied into the JSON line when present.
_EXTRA_KEYS = ("canary", "provider", "metric", "phase", "weight", "verdict")

LINE_LIMIT = 16 * 1024
"""Characters of a message (and of a traceback) in one log line: Docker and containerd split
lines at 16 KiB."""


def _message(record: logging.LogRecord) -> str:
    return clean(record.getMessage(), LINE_LIMIT)


_ENCODER = json.JSONEncoder(default=str)
"""What ``json.dumps(value, default=str)`` encodes with (built once here, not at every line)."""
_QUOTED: Callable[[str], str] = json.encoder.encode_basestring_ascii
"""A string as ``json.dumps`` writes it: non-ASCII and control characters escaped."""
_LEVELS: dict[str, str] = {}


def _json(value: object) -> str:
    return _QUOTED(value) if type(value) is str else _ENCODER.encode(value)


class _Stamps:
    """``ts`` as ``datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")``
    writes it, the date and time of day made once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, created: float) -> str:
        fraction, whole = math.modf(created)
        micro = round(fraction * 1e6)  # rounded half to even, as datetime does
        if micro >= 1_000_000:
            whole, micro = whole + 1, micro - 1_000_000
        elif micro < 0:
            whole, micro = whole - 1, micro + 1_000_000
        second = int(whole)
        if second != self._second:
            moment = datetime.datetime.fromtimestamp(second, tz=datetime.UTC)
            self._prefix, self._second = moment.isoformat()[: -len("+00:00")], second
        return f"{self._prefix}.{micro // 1000:03d}+00:00"


class JsonFormatter(logging.Formatter):
    """One JSON object per line with Flagger's key names.

    The line is the one ``json.dumps(fields, default=str)`` writes (keys in this order, ``", "``
    and ``": "`` between them, non-ASCII and control characters escaped), joined here from each
    value's JSON: a tick logs a line or two, and building a dict and a new encoder for each was
    a good part of its logging."""

    def __init__(self) -> None:
        super().__init__()
        self._stamp = _Stamps()

    def format(self, record: logging.LogRecord) -> str:
        level = record.levelname
        lowered = _LEVELS.get(level)
        if lowered is None:
            lowered = _LEVELS[level] = _QUOTED(level.lower())
        parts = [
            f'{{"ts": "{self._stamp(record.created)}", "level": {lowered}',
            f'"logger": {_json(record.name)}',
            f'"caller": {_json(f"{record.module}.py:{record.lineno}")}',
            f'"msg": {_QUOTED(_message(record))}',
        ]
        fields = record.__dict__
        for key in _EXTRA_KEYS:
            value = fields.get(key)
            if value is not None:
                parts.append(f'"{key}": {_json(value)}')
        if record.exc_info:
            trace = clean(self.formatException(record.exc_info), LINE_LIMIT)
            parts.append(f'"stacktrace": {_QUOTED(trace)}')
        return ", ".join(parts) + "}"


class ConsoleFormatter(logging.Formatter):
    """``HH:MM:SS level message`` for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        text = f"{stamp} {record.levelname.lower():7} {_message(record)}"
        if record.exc_info:
            text += "\n" + clean(self.formatException(record.exc_info), LINE_LIMIT)
        return text


def configure(*, level: str = "info", fmt: str = "json", stream: TextIO | None = None) -> None:
    """Install one handler on the root logger. Called once, by the CLI."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Neither format shows the thread or the process: not looked up for every record.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root.setLevel(level.upper())
    # Client libraries are chatty at debug; their requests are not what an operator's log is for.
    for noisy in ("httpx", "httpcore", "httpx2", "httpcore2", "asyncio", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


class CanaryLogger(logging.LoggerAdapter[logging.Logger]):
    """A logger that tags every line with the canary as ``name.namespace``."""

    def __init__(self, logger: logging.Logger, *, canary: str) -> None:
        super().__init__(logger, {"canary": canary})

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        given = kwargs.get("extra")
        if given:
            kwargs["extra"] = {**(self.extra or {}), **given}
        else:  # read only (copied into the record): no copy needed
            kwargs["extra"] = self.extra
        return msg, kwargs
