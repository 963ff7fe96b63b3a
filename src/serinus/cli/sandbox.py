"""``serinus sandbox``: a local stand-in for a Kubernetes cluster.

The group holds two kinds of commands. The whole sandbox lives here: ``up`` starts a cluster on
this machine (API server, workload runner, mesh proxy, Prometheus, and the operator and load
tester as pods), ``down`` stops it, ``status`` shows it and ``shell`` runs a command that sees its
Service names. Its servers, each runnable alone (``apiserver``, ``podinfo``, ``mesh`` and the
hidden ``part``), are in :mod:`serinus.cli.sandbox_servers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import signal
import sys
from typing import TYPE_CHECKING

import click

from serinus import logs
from serinus.cli import common, sandbox_servers
from serinus.errors import SerinusError

if TYPE_CHECKING:
    from serinus.sandbox.gitops import Settings
    from serinus.sandbox.orchestration.down import DownReport
    from serinus.sandbox.orchestration.state import SandboxState

REFRESH_SECONDS = 2.0
"""How often the foreground ``up`` redraws its status table."""
UP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""A foreground ``up`` stops on Ctrl-C, on SIGTERM, and when its terminal closes."""


@click.group()
def sandbox() -> None:
    """A local stand-in for a cluster: API server, pods, mesh.

    Everything listens on loopback and needs no container runtime.
    """


for _server in (
    sandbox_servers.apiserver,
    sandbox_servers.podinfo,
    sandbox_servers.mesh,
    sandbox_servers.part,
):
    sandbox.add_command(_server)


@sandbox.command(
    short_help="Start the whole sandbox: API server, pods, mesh, Prometheus, operator."
)
@sandbox_servers.DIR_OPTION
@click.option(
    "--detach",
    is_flag=True,
    help="Return once everything serves and leave it running (stop it with `down`).",
)
@click.option(
    "--install-with",
    type=click.Choice(["sandbox", "helm", "kustomize", "none"]),
    default="sandbox",
    show_default=True,
    help="How serinus gets in: the sandbox's own manifests (serinus-system), the README's "
    "`helm upgrade --install` commands or docs/install.md's `kubectl apply -k` commands for "
    "Linkerd (linkerd and prod, from this checkout's deploy/), or nothing (a bare cluster with "
    "the linkerd, linkerd-viz and prod namespaces, to install by hand).",
)
@sandbox_servers.GITOPS_OPTION
@sandbox_servers.GITOPS_INTERVAL_OPTION
def up(
    directory: pathlib.Path,
    detach: bool,
    install_with: str,
    gitops: pathlib.Path | None,
    gitops_interval: float,
) -> None:
    """Start a cluster on this machine and run serinus in it.

    Starts the Kubernetes API server, the workload runner (pods as local processes), the mesh
    proxy (plays Linkerd), Prometheus, and, as Deployments, the operator (serinus-system/serinus)
    and the load tester (prod/load-tester). Writes DIR/kubeconfig for kubectl. A part that
    exits is started again (`serinus sandbox status` shows its restarts and how it last ended).
    Without --detach it shows a live status table and stops everything on Ctrl-C; with it, a
    supervisor process of its own keeps the parts running until `down`.
    """
    from serinus.sandbox.gitops import Settings

    logs.configure(level="warning", fmt="console")
    environment = dict(os.environ)  # the parts run with the caller's environment
    settings = None if gitops is None else Settings(gitops.absolute(), gitops_interval)
    with common.click_errors():
        report = common.run_until_signal(
            lambda stop: _up(
                directory,
                detach=detach,
                environment=environment,
                stop=stop,
                install_with=install_with,
                gitops=settings,
            ),
            signals=UP_SIGNALS,
        )
    if report is not None:
        _report_down(report, directory)


async def _up(
    directory: pathlib.Path,
    *,
    detach: bool,
    environment: dict[str, str],
    stop: asyncio.Event,
    install_with: str = "sandbox",
    gitops: Settings | None = None,
) -> DownReport | None:
    """Start, then (in the foreground) supervise and show the status until ``stop``, then stop
    everything; detached, a supervisor process starts and keeps the sandbox."""
    from serinus.sandbox.orchestration import state
    from serinus.sandbox.orchestration import up as starting

    directory = state.canonical(directory)
    if detach:
        await _up_detached(
            directory, environment=environment, stop=stop, install_with=install_with, gitops=gitops
        )
        return None
    starts = starting.start(
        directory,
        progress=click.echo,
        environment=environment,
        install_with=install_with,
        gitops=gitops,
    )
    started = await common.unless_stopped(stop, starts)
    if started is None:  # start() stops what it started when it is cancelled
        raise click.ClickException("interrupted; what was started is stopped")
    _say_how_to_use(started, directory, detach=False, install_with=install_with)
    click.echo("Ctrl-C stops everything.\n")
    from serinus.sandbox.orchestration import supervisor

    supervising = asyncio.create_task(
        supervisor.Supervisor(started, environment=environment).run(stop)
    )
    try:
        await _show_status(directory, stop)
    finally:
        stop.set()
        await supervising
    click.echo("stopping the sandbox ...")
    from serinus.sandbox.orchestration import down as stopping

    return await asyncio.to_thread(stopping.stop, directory)


async def _up_detached(
    directory: pathlib.Path,
    *,
    environment: dict[str, str],
    stop: asyncio.Event,
    install_with: str,
    gitops: Settings | None,
) -> None:
    from serinus.sandbox.orchestration import detached, state
    from serinus.sandbox.orchestration import up as starting

    starting.refuse_if_running(directory)
    options = ["--install-with", install_with, *(gitops.words() if gitops else [])]
    launched = detached.launch(directory, environment=environment, options=options)
    try:
        await detached.follow(launched, click.echo, stop)
    except SerinusError as error:
        raise click.ClickException(str(error)) from None
    started = state.load(directory)
    if started is None:
        raise click.ClickException(f"the sandbox in {directory} stopped as it started")
    _say_how_to_use(started, directory, detach=True, install_with=install_with)


def _say_how_to_use(
    started: SandboxState, directory: pathlib.Path, *, detach: bool, install_with: str = "sandbox"
) -> None:
    click.echo("")
    click.echo(
        f"The sandbox runs. Talk to it with kubectl:\n\n  export KUBECONFIG={started.kubeconfig}"
    )
    click.echo("  kubectl get pods -A")
    if install_with == "sandbox":
        click.echo("  kubectl logs -f deployment/serinus -n serinus-system | jq .msg")
    elif install_with != "none":
        click.echo("  kubectl -n linkerd logs deployment/serinus -f | jq .msg")
    click.echo(
        f"\nCommands with the sandbox's Service names: serinus sandbox shell --dir {directory}"
    )
    click.echo(f"Prometheus: {started.details.get('prometheus')}")
    if detach:
        click.echo(f"Stop it with: serinus sandbox down --dir {directory}")


async def _show_status(directory: pathlib.Path, stop: asyncio.Event) -> None:
    """Redraw the status table every :data:`REFRESH_SECONDS` until ``stop`` is set."""
    from rich.console import Console
    from rich.live import Live

    from serinus.sandbox.orchestration import status as inspecting

    with Live(console=Console(), refresh_per_second=1) as live:
        while not stop.is_set():
            live.update(inspecting.render(await inspecting.collect(directory)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=REFRESH_SECONDS)


@sandbox.command(short_help="Stop everything a sandbox started.")
@sandbox_servers.DIR_OPTION
def down(directory: pathlib.Path) -> None:
    """Stop every process of the sandbox in DIR (pods included); its ports are free after."""
    from serinus.sandbox.orchestration import down as stopping

    logs.configure(level="warning", fmt="console")
    with common.click_errors():
        report = stopping.stop(directory)
    _report_down(report, directory)


def _report_down(report: DownReport, directory: pathlib.Path) -> None:
    if not report.found:
        click.echo(f"no sandbox runs in {directory}")
        return
    click.echo(f"stopped: {', '.join(report.stopped) or 'nothing was running'}")
    if report.killed:
        click.echo(f"killed after their grace period: {', '.join(report.killed)}")
    if report.stragglers:
        click.echo(f"killed {len(report.stragglers)} leftover process(es) of the sandbox")
    if report.leftovers:
        pids = " ".join(map(str, report.leftovers))
        raise click.ClickException(f"processes of the sandbox still alive: {pids}")
    click.echo("no process of the sandbox is left; its ports are free")


@sandbox.command(short_help="Say what runs in a sandbox, and where.")
@sandbox_servers.DIR_OPTION
def status(directory: pathlib.Path) -> None:
    """Print the sandbox's parts (pid, state, ports), Deployments, pods and Services.

    Exits 1 when no sandbox runs in DIR.
    """
    from rich.console import Console

    from serinus.sandbox.orchestration import status as inspecting

    logs.configure(level="warning", fmt="console")
    with common.click_errors():
        found = asyncio.run(inspecting.collect(directory))
    Console(width=160).print(inspecting.render(found))
    if not found.running:
        sys.exit(1)


@sandbox.command(
    short_help="Run a shell (or a command) that sees the sandbox's Service names.",
    context_settings={"ignore_unknown_options": True},
)
@sandbox_servers.DIR_OPTION
@click.option(
    "-n",
    "--namespace",
    default="prod",
    show_default=True,
    help="Whose Service names resolve short (`podinfo` as well as `podinfo.prod`).",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def shell(directory: pathlib.Path, namespace: str, command: tuple[str, ...]) -> None:
    """Run COMMAND (default: $SHELL) as a pod of NAMESPACE would see the sandbox.

    Service names resolve to their cluster IPs (served by the mesh proxy), KUBECONFIG points at
    the sandbox, and the sandbox's `down` stops the command if it still runs. For instance:

      serinus sandbox shell -- hey -z 1m -c 5 -q 5 http://podinfo-canary:9898/status/500
    """
    from serinus.sandbox.orchestration import shell as sandbox_shell

    words = list(command) or [os.environ.get("SHELL") or "/bin/bash"]
    with common.click_errors():
        wrapped = asyncio.run(sandbox_shell.command(directory, namespace, words))
    os.execvpe(wrapped[0], wrapped, sandbox_shell.environment(directory, os.environ))
