"""``serinus sandbox``: a local stand-in for a Kubernetes cluster.

``serinus sandbox apiserver`` runs the sandbox's Kubernetes API server in the foreground: it
writes a kubeconfig pointing at it, prints where it listens, and serves until SIGINT or SIGTERM,
ending open watches cleanly. Later commands of this group start and inspect the whole sandbox
(pods, mesh, Prometheus) on top of it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import pathlib
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING

import click

from serinus import logs
from serinus.errors import SerinusError

if TYPE_CHECKING:
    from serinus.sandbox.orchestration.down import DownReport


@click.group()
def sandbox() -> None:
    """A local stand-in for a cluster: API server, pods, mesh.

    Everything listens on loopback and needs no container runtime.
    """


@sandbox.command(short_help="Run the Kubernetes API server and write a kubeconfig for it.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="TCP port to listen on; 0 picks a free one (it is printed and written to the kubeconfig).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. The server checks no credentials: keep it on loopback.",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=pathlib.Path),
    default=None,
    help="JSON file keeping every object across restarts (created if missing). "
    "Without it, objects live in memory only.",
)
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, path_type=pathlib.Path),
    default=pathlib.Path("sandbox.kubeconfig"),
    show_default=True,
    help="Where to write a kubeconfig pointing at the server (overwritten).",
)
@click.option(
    "--watch-window",
    type=click.IntRange(1),
    default=10_000,
    show_default=True,
    help="How many recent changes a watch can resume across before it gets 410 Gone.",
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
    default="console",
    show_default=True,
)
def apiserver(
    port: int,
    host: str,
    state_file: pathlib.Path | None,
    kubeconfig: pathlib.Path,
    watch_window: int,
    log_level: str,
    log_format: str,
) -> None:
    """Serve the Kubernetes API on HOST:PORT until Ctrl-C (SIGINT) or SIGTERM.

    kubectl, lightkube and the operator work against it unchanged: discovery, apply (client-side
    and --server-side), get with printer columns, patch (json, merge, strategic), watch, scale,
    status, finalizers and garbage collection. Custom resources are served once their CRD is
    applied, e.g. `kubectl --kubeconfig sandbox.kubeconfig apply -f deploy/crds/`.

    It plays no kubelet: Deployments get no pods until the rest of the sandbox runs.
    """
    from serinus.sandbox.apiserver import ApiServer, run

    logs.configure(level=log_level, fmt=log_format)
    if not _is_loopback(host):
        click.echo(
            f"warning: {host} is not a loopback address and the server has no auth", err=True
        )

    def ready(server: ApiServer) -> None:
        click.echo(f"Kubernetes API server listening on {server.url}")
        click.echo(f"kubeconfig written to {kubeconfig} (kubectl --kubeconfig {kubeconfig} get ns)")
        click.echo(f"state: {state_file if state_file else 'in memory only'}")

    server = ApiServer(host=host, port=port, state=state_file, watch_window=watch_window)
    try:
        run(server, kubeconfig=kubeconfig, on_ready=ready)
    except SerinusError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(
            f"cannot serve on {host}:{port}: {error.strerror or error}"
        ) from None
    click.echo("Kubernetes API server stopped")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@sandbox.command(short_help="Run the podinfo stand-in (the demo app of the sandbox).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=9898,
    show_default=True,
    envvar="PODINFO_PORT",
    help="TCP port to listen on; 0 picks a free one (it is logged).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--version",
    "version",
    default="6.0.0",
    show_default=True,
    help="The podinfo version to report (the image tag); it also picks that version's UI "
    "defaults (colour, logo).",
)
@click.option("--revision", default="unknown", show_default=True, help="The commit to report.")
@click.option(
    "--hostname",
    envvar="HOSTNAME",
    default=None,
    help="The hostname to report [default: $HOSTNAME (the pod name in the sandbox), else the "
    "machine's].",
)
@click.option("--ui-color", envvar="PODINFO_UI_COLOR", default=None, help="UI colour.")
@click.option("--ui-message", envvar="PODINFO_UI_MESSAGE", default=None, help="UI message.")
@click.option("--ui-logo", envvar="PODINFO_UI_LOGO", default=None, help="UI logo URL.")
@click.option(
    "--jwt-secret",
    envvar="PODINFO_JWT_SECRET",
    default="podinfo",
    show_default=True,
    help="Key signing the /token JWTs.",
)
@click.option(
    "--unready",
    is_flag=True,
    envvar="PODINFO_UNREADY",
    help="Start with /readyz failing (POST /readyz/enable turns it on).",
)
@click.option(
    "--unhealthy", is_flag=True, envvar="PODINFO_UNHEALTHY", help="Start with /healthz failing."
)
@click.option(
    "--level",
    "log_level",
    envvar="PODINFO_LEVEL",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
def podinfo(
    port: int,
    host: str,
    version: str,
    revision: str,
    hostname: str | None,
    ui_color: str | None,
    ui_message: str | None,
    ui_logo: str | None,
    jwt_secret: str,
    unready: bool,
    unhealthy: bool,
    log_level: str,
) -> None:
    """Answer as stefanprodan/podinfo does, until SIGTERM or SIGINT.

    Routes: / (info JSON), /version, /status/{code}, /delay/{seconds}, /healthz, /readyz
    (POST /readyz/enable|disable), /token, /env, /headers, /metrics. One JSON line per request
    goes to stdout; PODINFO_* variables set the flags, as with podinfo.
    """
    from serinus.sandbox.podinfo import Podinfo, serve
    from serinus.sandbox.podinfo.server import configure_access_log

    logs.configure(level=log_level, fmt="json")
    configure_access_log(sys.stdout)
    settings = Podinfo(
        version=version,
        revision=revision,
        hostname=hostname or socket.gethostname(),
        color=ui_color,
        message=ui_message,
        logo=ui_logo,
        environment=dict(os.environ),
        jwt_secret=jwt_secret,
        ready=not unready,
        healthy=not unhealthy,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        await serve(settings, host=host, port=port, stop=stop)

    try:
        asyncio.run(main())
    except OSError as error:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {error.strerror or error}"
        ) from None


@sandbox.command(short_help="Run the mesh proxy (plays Linkerd) for an API server's Services.")
@click.option(
    "--kubeconfig",
    type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path),
    default=pathlib.Path("sandbox.kubeconfig"),
    show_default=True,
    help="Kubeconfig of the API server whose Services, Endpoints and traffic objects to follow.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=4191,
    show_default=True,
    help="Port of the admin server (/metrics, /ready, /live), as Linkerd's linkerd-admin; "
    "0 picks a free one (it is printed).",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Its address.")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option(
    "--log-format", type=click.Choice(["json", "console"]), default="console", show_default=True
)
def mesh(
    kubeconfig: pathlib.Path, metrics_port: int, metrics_host: str, log_level: str, log_format: str
) -> None:
    """Serve every Service at its loopback clusterIP:port until Ctrl-C (SIGINT) or SIGTERM.

    Requests go to the Service's ready endpoints, split by weight as the SMI TrafficSplit or
    Gateway API HTTPRoute steering the Service says, and are counted with the Linkerd proxy's
    metrics (response_total, response_latency_ms, request_total) labelled with the destination's
    namespace, deployment and pod. Services whose clusterIP is not a loopback address are skipped
    with a warning.
    """
    from serinus.kube import Kube, KubeSettings
    from serinus.sandbox.mesh import MeshProxy

    logs.configure(level=log_level, fmt=log_format)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        async with (
            Kube(KubeSettings(kubeconfig=kubeconfig)) as kube,
            MeshProxy(kube, metrics_host=metrics_host, metrics_port=metrics_port) as proxy,
        ):
            click.echo(f"mesh proxy serving {len(proxy.listening)} Service ports")
            click.echo(f"metrics on {proxy.metrics_url}")
            await stop.wait()

    try:
        asyncio.run(main())
    except SerinusError as error:
        raise click.ClickException(str(error)) from None
    except TimeoutError:
        raise click.ClickException(
            f"the API server of {kubeconfig} did not answer the first listing in time"
        ) from None
    except OSError as error:
        raise click.ClickException(
            f"cannot serve metrics on {metrics_host}:{metrics_port}: {error.strerror or error}"
        ) from None
    click.echo("mesh proxy stopped")


# The whole sandbox: up, down, status, shell (and the hidden parts they start).

_DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=pathlib.Path(".sandbox"),
    show_default=True,
    help="The sandbox's directory: kubeconfig, state.json, logs, pods' files.",
)


@sandbox.command(
    short_help="Start the whole sandbox: API server, pods, mesh, Prometheus, operator."
)
@_DIR_OPTION
@click.option(
    "--detach",
    is_flag=True,
    help="Return once everything serves and leave it running (stop it with `down`).",
)
def up(directory: pathlib.Path, detach: bool) -> None:
    """Start a cluster on this machine and run serinus in it.

    Starts the Kubernetes API server, the workload runner (pods as local processes), the mesh
    proxy (plays Linkerd), Prometheus, and, as Deployments, the operator (serinus-system/serinus)
    and the load tester (prod/load-tester). Writes DIR/kubeconfig for kubectl. Without --detach
    it shows a live status table and stops everything on Ctrl-C.
    """
    from rich.console import Console
    from rich.live import Live

    from serinus.sandbox.orchestration import down as stopping
    from serinus.sandbox.orchestration import status as inspecting
    from serinus.sandbox.orchestration import up as starting

    logs.configure(level="warning", fmt="console")
    try:
        started = asyncio.run(starting.start(directory, progress=click.echo))
    except SerinusError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        raise click.ClickException("interrupted; what was started is stopped") from None
    kubeconfig = started.kubeconfig
    click.echo("")
    click.echo(f"The sandbox runs. Talk to it with kubectl:\n\n  export KUBECONFIG={kubeconfig}")
    click.echo("  kubectl get pods -A")
    click.echo("  kubectl logs -f deployment/serinus -n serinus-system | jq .msg")
    click.echo(
        f"\nCommands with the sandbox's Service names: serinus sandbox shell --dir {directory}"
    )
    click.echo(f"Prometheus: {started.details.get('prometheus')}")
    if detach:
        click.echo(f"Stop it with: serinus sandbox down --dir {directory}")
        return
    click.echo("Ctrl-C stops everything.\n")
    for number in (signal.SIGTERM, signal.SIGHUP):  # a closed terminal stops it too
        signal.signal(number, signal.default_int_handler)
    console = Console()
    try:
        with Live(console=console, refresh_per_second=1) as live:
            while True:
                live.update(inspecting.render(asyncio.run(inspecting.collect(directory))))
                time.sleep(2)
    except KeyboardInterrupt:
        pass
    click.echo("stopping the sandbox ...")
    _report_down(stopping.stop(directory), directory)


@sandbox.command(short_help="Stop everything a sandbox started.")
@_DIR_OPTION
def down(directory: pathlib.Path) -> None:
    """Stop every process of the sandbox in DIR (pods included); its ports are free after."""
    from serinus.sandbox.orchestration import down as stopping

    logs.configure(level="warning", fmt="console")
    try:
        report = stopping.stop(directory)
    except SerinusError as error:
        raise click.ClickException(str(error)) from None
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
@_DIR_OPTION
def status(directory: pathlib.Path) -> None:
    """Print the sandbox's parts (pid, state, ports), Deployments, pods and Services.

    Exits 1 when no sandbox runs in DIR.
    """
    from rich.console import Console

    from serinus.sandbox.orchestration import status as inspecting

    logs.configure(level="warning", fmt="console")
    try:
        found = asyncio.run(inspecting.collect(directory))
    except SerinusError as error:
        raise click.ClickException(str(error)) from None
    Console(width=160).print(inspecting.render(found))
    if not found.running:
        sys.exit(1)


@sandbox.command(
    short_help="Run a shell (or a command) that sees the sandbox's Service names.",
    context_settings={"ignore_unknown_options": True},
)
@_DIR_OPTION
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
    try:
        wrapped = asyncio.run(sandbox_shell.command(directory, namespace, words))
    except SerinusError as error:
        raise click.ClickException(str(error)) from None
    os.execvpe(wrapped[0], wrapped, sandbox_shell.environment(directory, os.environ))


@sandbox.command(hidden=True)
@click.argument("name", type=click.Choice(["apiserver", "workloads"]))
@_DIR_OPTION
@click.option("--port", type=click.IntRange(0, 65535), default=0)
@click.option("--service-cidr", default="127.96.0.0/24")
def part(name: str, directory: pathlib.Path, port: int, service_cidr: str) -> None:
    """One part of a sandbox started by `serinus sandbox up` (not for direct use)."""
    from serinus.sandbox.orchestration import parts

    logs.configure(level="info", fmt="json")
    directory = directory.resolve()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        if name == "apiserver":
            await parts.serve_apiserver(directory, port=port, service_cidr=service_cidr, stop=stop)
        else:
            await parts.run_workloads(directory, stop=stop)

    try:
        asyncio.run(main())
    except SerinusError as error:
        raise click.ClickException(str(error)) from None
