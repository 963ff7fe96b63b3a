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
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

from serinus.redaction import clean

# Extra record attributes copied into the JSON line when present.
_EXTRA_KEYS = ("canary", "provider", "metric", "phase", "weight", "verdict")

LINE_LIMIT = 16 * 1024
"""Characters of a message (and of a traceback) in one log line: Docker and containerd split
lines at 16 KiB."""


def _message(record: logging.LogRecord) -> str:
    return clean(record.getMessage(), LINE_LIMIT)


class JsonFormatter(logging.Formatter):
    """One JSON object per line with Flagger's key names."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "caller": f"{record.module}.py:{record.lineno}",
            "msg": _message(record),
        }
        for key in _EXTRA_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["stacktrace"] = clean(self.formatException(record.exc_info), LINE_LIMIT)
        return json.dumps(line, default=str)


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
        extra = dict(self.extra or {})
        extra.update(kwargs.get("extra") or {})
        kwargs["extra"] = extra
        return msg, kwargs
