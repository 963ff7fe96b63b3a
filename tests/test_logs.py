"""Covers: the JSON log line is, byte for byte, the one ``json.dumps(fields, default=str)``
writes (Flagger's keys in order, ", " and ": " between them, non-ASCII, astral, control and lone
surrogate characters escaped, extras of any type, a stack trace), and its ``ts`` is what
``datetime.fromtimestamp(...).isoformat(timespec="milliseconds")`` writes for any time,
including the ones that round up into the next second; the console format is unchanged."""

from __future__ import annotations

import datetime
import io
import json
import logging
import random
from collections.abc import Iterator

import pytest

from serinus import logs
from serinus.logs import LINE_LIMIT, CanaryLogger, JsonFormatter
from serinus.redaction import clean

TRICKY = [
    "Advance podinfo.test canary weight 10",
    "naïve ünïcode \u2013 \u2028 \u00a0 ✓ 𝄞",
    'quotes " and \\ backslashes / slash',
    "control \x00 \x01 \t \n \r \x1f \x7f",
    "a token in http://user:secret@host/path?token=abc",
    "x" * (LINE_LIMIT + 10),
]


def _former(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    """The line as serinus wrote it before: a dict through ``json.dumps``."""
    created = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
    line = {
        "ts": created.isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "caller": f"{record.module}.py:{record.lineno}",
        "msg": clean(record.getMessage(), LINE_LIMIT),
    }
    for key in ("canary", "provider", "metric", "phase", "weight", "verdict"):
        value = getattr(record, key, None)
        if value is not None:
            line[key] = value
    if record.exc_info:
        line["stacktrace"] = clean(formatter.formatException(record.exc_info), LINE_LIMIT)
    return json.dumps(line, default=str)


class _Name(str):
    pass


class _Thing:
    def __str__(self) -> str:
        return "thing ✓"


EXTRAS: list[dict[str, object]] = [
    {},
    {"canary": "podinfo.test"},
    {"canary": _Name("sub ✓"), "weight": 10, "phase": None},
    {"weight": 1.5, "metric": float("nan"), "verdict": float("inf")},
    {"provider": {"b": [1, 2.0, None, True], "a": "ü"}, "metric": _Thing()},
    {"phase": ["x", {"y": _Thing()}], "weight": -(2**70), "verdict": False},
]


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("serinus.tests.logs")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.handlers.clear()


def test_a_line_is_byte_for_byte_what_json_dumps_wrote(captured):
    logger, stream = captured
    formatter = JsonFormatter()
    records: list[logging.LogRecord] = []
    keep = logging.Handler()
    keep.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(keep)
    for index, message in enumerate(TRICKY):
        for extra in EXTRAS:
            level = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR][index % 4]
            logger.log(level, "%s (%d)", message, index, extra=extra)
    try:
        raise ValueError("bad ü \x01 value")
    except ValueError:
        logger.exception("failed: %s", TRICKY[1], extra={"canary": "podinfo.test"})
    CanaryLogger(logger, canary="podinfo.prod").info("Advance %s", "ü", extra={"weight": 5})
    lines = stream.getvalue().splitlines()
    assert len(lines) == len(records) == len(TRICKY) * len(EXTRAS) + 2
    for line, record in zip(lines, records, strict=True):
        assert line == _former(formatter, record)
        assert line.isascii()
    assert json.loads(lines[-1])["canary"] == "podinfo.prod"
    assert json.loads(lines[-1])["weight"] == 5


def test_lone_surrogates_are_escaped_as_json_dumps_escapes_them():
    """(Formatted directly: pytest's own report cannot carry them between processes.)"""
    formatter = JsonFormatter()
    for message in ("lone surrogate \ud800 and \udfff", "\udc80"):
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (message,), None)
        record.canary = message
        assert formatter.format(record) == _former(formatter, record)


def test_the_time_is_written_as_datetime_writes_it():
    stamps = logs._Stamps()
    rng = random.Random(15)
    now = 1_796_000_000.0
    moments = [now + rng.random() * 86_400 for _ in range(20_000)]
    moments += [now + second + edge for second in range(50) for edge in (0.0, 0.0005, 0.9995)]
    moments += [now + 0.9999995, now + 0.9999994999, now + 59.99999951, 1.0, 0.0004999]
    for moment in sorted(moments):
        former = datetime.datetime.fromtimestamp(moment, tz=datetime.UTC)
        assert stamps(moment) == former.isoformat(timespec="milliseconds"), repr(moment)


def test_the_console_format_is_unchanged():
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "hello %s", ("ü",), None)
    stamp = datetime.datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
    assert logs.ConsoleFormatter().format(record) == f"{stamp} warning hello ü"
