"""``serinus loadtester``: serve the API of Flagger's load tester (``POST /``, gates, probes).

The flags mirror Flagger's ``loadtester`` binary (``-port``, ``-timeout``, ``-namespace-regexp``,
``-log-level``) plus ``--allow-command`` and ``--state``. The command runs until SIGTERM or SIGINT,
then kills the process groups of the commands still running and exits 0, so a rolled pod leaves no
``hey`` behind. The bound address is logged ("Load tester listening on http://HOST:PORT"), which
also tells ``--port 0`` users which port was picked.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import signal

import click
from aiohttp import web

from serinus import logs
from serinus.apis.base import parse_duration
from serinus.loadtester import app as loadtester_app
from serinus.loadtester.authz import Policy


def _default_state_file() -> pathlib.Path:
    state_home = os.environ.get("XDG_STATE_HOME") or str(pathlib.Path.home() / ".local" / "state")
    return pathlib.Path(state_home) / "serinus" / "loadtester-gates.json"


def _seconds(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise click.BadParameter(
            f"expected a duration such as 30s, 10m or 1h, got {value!r}"
        ) from None
    if seconds <= 0:
        raise click.BadParameter(f"must be more than zero, got {value!r}")
    return seconds


@click.command()
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on. Flagger's binary defaults to 9090, but its chart and kustomize run it "
    "on 8080 behind Service port 80, so 8080 is the default here. 0 picks a free port.",
)
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option(
    "--timeout",
    "timeout",
    default="1h",
    show_default=True,
    callback=_seconds,
    help="Longest a task may run; then its whole process group is killed.",
)
@click.option(
    "--namespace-regexp",
    default=None,
    help="Only payloads whose namespace matches this regular expression are served (else 403).",
)
@click.option(
    "--allow-command",
    "allow_commands",
    multiple=True,
    metavar="REGEX",
    help="Repeatable. When given, a command runs only if it fully matches one REGEX (else 403). "
    "kubectl tasks are matched as 'kubectl ARGS'. Without it any command runs, as in Flagger.",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=pathlib.Path),
    default=None,
    help="JSON file that keeps opened gates across restarts "
    "[default: $XDG_STATE_HOME/serinus/loadtester-gates.json, else "
    "~/.local/state/serinus/loadtester-gates.json]. In a pod, point it at a mounted volume.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option(
    "--log-format",
    type=click.Choice(["json", "console"]),
    default="json",
    show_default=True,
)
def loadtester(
    port: int,
    host: str,
    timeout: float,
    namespace_regexp: str | None,
    allow_commands: tuple[str, ...],
    state_file: pathlib.Path | None,
    log_level: str,
    log_format: str,
) -> None:
    """Answer Flagger's load tester webhooks: run load (hey) and checks, serve manual gates.

    POST / runs metadata.cmd as metadata.type: cmd (sh -c, in the background, one at a time per
    canary and command; 202), bash (bash -c, waits; 200 or 500) or kubectl (waits). Gates:
    /gate/{approve,halt,check,open,close} and /rollback/{check,open,close}. Also /healthz and
    /metrics.
    """
    logs.configure(level=log_level, fmt=log_format)
    try:
        policy = Policy.from_patterns(namespace=namespace_regexp, commands=allow_commands)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    state = state_file or _default_state_file()
    try:
        state.parent.mkdir(parents=True, exist_ok=True)
        settings = loadtester_app.Settings(timeout=timeout, policy=policy, state_file=state)
        application = loadtester_app.create_app(settings)
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot use --state {state}: {error}") from None
    asyncio.run(_serve(application, host=host, port=port))


async def _serve(application: web.Application, *, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await loadtester_app.serve(application, host=host, port=port, stop=stop)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from None
