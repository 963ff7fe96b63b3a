"""What every ``serinus`` command shares: log options, running until a signal, errors, durations.

* :func:`log_options` adds ``--log-level`` and ``--log-format`` to a command and configures
  logging (:func:`serinus.logs.configure`) before the command's body runs, so a command neither
  declares them nor calls ``configure`` itself.
* :func:`run_until_signal` runs a command's coroutine in one event loop, handing it an event that
  SIGINT and SIGTERM (or the signals given) set; the coroutine stops gracefully when it is set.
  The servers (API server, mesh proxy, podinfo, load tester, operator) all end this way, and only
  this module installs signal handlers. They run with short collector pauses
  (:func:`serinus.gcpauses.short_pauses`): a long-running process keeps its tail latency.
* :func:`click_errors` turns serinus's errors into click's (``Error: ...``, exit code 1), and an
  ``OSError`` of a server that cannot listen into one sentence naming the address.
* :func:`duration` parses a duration option (``30s``, ``10m``) with the bounds a command wants.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import click
import uvloop

from serinus import gcpauses, logs
from serinus.apis.base import format_duration, parse_duration
from serinus.errors import SerinusError

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "console")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def log_options(
    *, default_format: str, flagger_spelling: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--log-level`` (info) and ``--log-format`` (``default_format``), applied before the body.

    With ``flagger_spelling`` each option is also accepted as Flagger writes it (``-log-level``)
    and the format also as ``--zap-encoding``/``-zap-encoding``, Flagger's name for it.
    """
    level_names = ["--log-level", *(["-log-level"] if flagger_spelling else [])]
    format_names = ["--log-format", *(["-log-format"] if flagger_spelling else [])]
    if flagger_spelling:
        format_names += ["--zap-encoding", "-zap-encoding"]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def configured(*args: Any, log_level: str, log_format: str, **kwargs: Any) -> Any:
            logs.configure(level=log_level, fmt=log_format)
            return command(*args, **kwargs)

        level = click.option(
            *level_names,
            "log_level",
            type=click.Choice(LOG_LEVELS),
            default="info",
            show_default=True,
            help="The least severe log records written.",
        )
        fmt = click.option(
            *format_names,
            "log_format",
            type=click.Choice(LOG_FORMATS),
            default=default_format,
            show_default=True,
            help="JSON lines with Flagger's keys, or lines for a terminal.",
        )
        return level(fmt(configured))

    return decorate


def run_until_signal(
    main: Callable[[asyncio.Event], Awaitable[T]],
    *,
    signals: tuple[signal.Signals, ...] = STOP_SIGNALS,
    sweep_every: float = gcpauses.SWEEP_SECONDS,
    fast_loop: bool = False,
) -> T:
    """Run ``main(stop)`` in a new event loop; any of ``signals`` sets ``stop``. Full garbage
    collections freeze their survivors meanwhile (:mod:`serinus.gcpauses`).

    ``fast_loop``: uvloop's event loop (libuv, in C) instead of asyncio's, for the processes whose
    CPU goes into many small network exchanges: the operator and the sandbox's API server and
    mesh proxy (see ``uvloop`` in pyproject.toml for the figures). The rest keep asyncio's."""

    async def until_signal() -> T:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in signals:
            loop.add_signal_handler(number, stop.set)
        try:
            return await main(stop)
        finally:
            for number in signals:
                loop.remove_signal_handler(number)

    with gcpauses.short_pauses(sweep_every):
        factory = uvloop.new_event_loop if fast_loop else None
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(until_signal())


async def unless_stopped(stop: asyncio.Event, work: Awaitable[T]) -> T | None:
    """``work``'s result, or None when ``stop`` is set first (``work`` is then cancelled)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


@contextlib.contextmanager
def click_errors(*, listening: str | None = None) -> Iterator[None]:
    """serinus's errors as click errors; with ``listening``, an OSError as ``listening: why``.

    Args:
        listening: what the command was doing with which address when the operating system
            said no, e.g. ``cannot listen on 127.0.0.1:9898``.
    """
    try:
        yield
    except SerinusError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        if listening is None or isinstance(error, TimeoutError):
            raise
        raise click.ClickException(f"{listening}: {error.strerror or error}") from None


def duration(
    example: str, *, positive: bool = False, within: tuple[float, float] | None = None
) -> Callable[[click.Context, click.Parameter, str | None], float | None]:
    """A click callback parsing a duration option (None stays None).

    Args:
        example: the expected form, shown in the error (``30s, 10m or 1h``).
        positive: zero is refused.
        within: the shortest and longest durations allowed, in seconds.
    """

    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
        if value is None:
            return None
        try:
            seconds = parse_duration(value)
        except ValueError:
            raise click.BadParameter(
                f"expected a duration such as {example}, got {value!r}"
            ) from None
        if positive and seconds <= 0:
            raise click.BadParameter(f"must be more than zero, got {value!r}")
        if within is not None and not within[0] <= seconds <= within[1]:
            low, high = (format_duration(bound) for bound in within)
            raise click.BadParameter(f"expected between {low} and {high}, got {value!r}")
        return seconds

    return parse
