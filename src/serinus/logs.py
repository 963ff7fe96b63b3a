"""Log setup: JSON lines with Flagger's keys, or a plain console format.

Flagger's zap encoder writes ``ts``, ``level``, ``logger``, ``caller`` and ``msg``, plus ``canary``
as ``name.namespace``. Users pipe these logs through ``jq .msg`` and grep for the messages, so
serinus keeps the keys and the wording. Only the CLI calls :func:`configure`; every module logs
through ``logging.getLogger(__name__)``, and per-canary lines go through :class:`CanaryLogger`.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

# Extra record attributes copied into the JSON line when present.
_EXTRA_KEYS = ("canary", "provider", "metric", "phase", "weight", "verdict")


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
            "msg": record.getMessage(),
        }
        for key in _EXTRA_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["stacktrace"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class ConsoleFormatter(logging.Formatter):
    """``HH:MM:SS level message`` for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        text = f"{stamp} {record.levelname.lower():7} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
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
