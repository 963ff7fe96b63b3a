"""``serinus sandbox``: a local stand-in for a Kubernetes cluster.

``serinus sandbox apiserver`` runs the sandbox's Kubernetes API server in the foreground: it
writes a kubeconfig pointing at it, prints where it listens, and serves until SIGINT or SIGTERM,
ending open watches cleanly. Later commands of this group start and inspect the whole sandbox
(pods, mesh, Prometheus) on top of it.
"""

from __future__ import annotations

import ipaddress
import pathlib

import click

from serinus import logs
from serinus.errors import SerinusError


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
