"""``serinus loadtester``: serve the API of Flagger's load tester (``POST /``, gates, probes).

The flags mirror Flagger's ``loadtester`` binary (``-port``, ``-timeout``, ``-namespace-regexp``,
``-log-level``) plus ``--allow-command``, the caps on running tasks and open gates, ``--state`` and
``--signing-secret`` (read from ``SERINUS_LOADTESTER_SIGNING_SECRET`` too, so a pod can take it from
a Secret without showing it in its arguments). The command runs until SIGTERM or SIGINT,
then kills the process groups of the commands still running and exits 0, so a rolled pod leaves no
``hey`` behind. The bound address is logged ("Load tester listening on http://HOST:PORT"), which
also tells ``--port 0`` users which port was picked.
"""

from __future__ import annotations

import os
import pathlib

import click

from serinus.cli import common
from serinus.loadtester import app as loadtester_app
from serinus.loadtester import gates, runner
from serinus.loadtester.authz import Policy


def _default_state_file() -> pathlib.Path:
    state_home = os.environ.get("XDG_STATE_HOME") or str(pathlib.Path.home() / ".local" / "state")
    return pathlib.Path(state_home) / "serinus" / "loadtester-gates.json"


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
    callback=common.duration("30s, 10m or 1h", positive=True),
    help="Longest a task may run; then its whole process group is killed.",
)
@click.option(
    "--namespace-regexp",
    default=None,
    help="Only payloads whose namespace fully matches this regular expression are served "
    "(else 403).",
)
@click.option(
    "--allow-command",
    "allow_commands",
    multiple=True,
    metavar="REGEX",
    help="Repeatable. When given, commands run without a shell, and only if their arguments, "
    "joined back with shell quoting, fully match one REGEX (else 403); shells and other "
    "programs that run programs need a rule that starts with their name. kubectl tasks are "
    "matched as 'kubectl ARGS', helm tasks as 'helm ARGS'. Without it any command runs through "
    "sh, as in Flagger.",
)
@click.option(
    "--max-running",
    default=runner.DEFAULT_MAX_RUNNING,
    show_default=True,
    type=click.IntRange(1),
    help="Tasks running at once; past it requests get 429.",
)
@click.option(
    "--max-running-per-namespace",
    default=runner.DEFAULT_MAX_PER_NAMESPACE,
    show_default=True,
    type=click.IntRange(1),
    help="Tasks running at once for one payload namespace; past it requests get 429.",
)
@click.option(
    "--max-gates",
    default=gates.DEFAULT_LIMIT,
    show_default=True,
    type=click.IntRange(1),
    help="Gates open at once; opening one more gets 429.",
)
@click.option(
    "--signing-secret",
    envvar="SERINUS_LOADTESTER_SIGNING_SECRET",
    default=None,
    help="When set, every request that reads a payload must carry serinus's X-Serinus-Signature "
    "made with this key (a Canary webhook's signingSecretRef), else 401. Prefer the "
    "SERINUS_LOADTESTER_SIGNING_SECRET variable, which does not show in the process list.",
)
@click.option(
    "--signing-max-age",
    default="5m",
    show_default=True,
    callback=common.duration("30s, 10m or 1h", positive=True),
    help="How far a signature's timestamp may be from this clock before it is refused as stale.",
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
@common.log_options(default_format="json")
def loadtester(
    port: int,
    host: str,
    timeout: float,
    namespace_regexp: str | None,
    allow_commands: tuple[str, ...],
    max_running: int,
    max_running_per_namespace: int,
    max_gates: int,
    signing_secret: str | None,
    signing_max_age: float,
    state_file: pathlib.Path | None,
) -> None:
    """Answer Flagger's load tester webhooks: run load (hey) and checks, serve manual gates.

    POST / runs a task as metadata.type says: cmd (in the background, one at a time per
    namespace and command; 202), bash (bash -c, waits; 200 or 500), kubectl, helm or helmv3
    (wait), concord (waits) or ngrinder (in the background). Gates:
    /gate/{approve,halt,check,open,close} and /rollback/{check,open,close}. Also /healthz and
    /metrics.
    """
    try:
        policy = Policy.from_patterns(namespace=namespace_regexp, commands=allow_commands)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    state = state_file or _default_state_file()
    try:
        state.parent.mkdir(parents=True, exist_ok=True)
        settings = loadtester_app.Settings(
            timeout=timeout,
            policy=policy,
            state_file=state,
            max_running=max_running,
            max_per_namespace=max_running_per_namespace,
            max_gates=max_gates,
            signing_key=signing_secret.encode("utf-8") if signing_secret else None,
            signing_max_age=signing_max_age,
        )
        application = loadtester_app.create_app(settings)
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot use --state {state}: {error}") from None
    with common.click_errors(listening=f"cannot listen on {host}:{port}"):
        common.run_until_signal(
            lambda stop: loadtester_app.serve(application, host=host, port=port, stop=stop)
        )
