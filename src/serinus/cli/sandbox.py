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
