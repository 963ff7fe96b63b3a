"""The sandbox's servers as commands of ``serinus sandbox``, each runnable alone.

``apiserver`` (the Kubernetes API server, with a kubeconfig for it), ``podinfo`` (the demo app),
``mesh`` (the mesh proxy playing Linkerd) and the hidden ``part`` (the API server and the workload
runner as ``serinus sandbox up`` starts them). Each serves in the foreground until SIGINT or
SIGTERM (:func:`~serinus.cli.common.run_until_signal`), then stops cleanly and exits 0. The whole
sandbox (``up``, ``down``, ``status``, ``shell``) is in :mod:`serinus.cli.sandbox`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import pathlib
import socket
import sys
from typing import TYPE_CHECKING

import click

from serinus import logs
from serinus.cli import common

if TYPE_CHECKING:
    from serinus.sandbox.gitops import Settings

DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=pathlib.Path(".sandbox"),
    show_default=True,
    help="The sandbox's directory: kubeconfig, state.json, logs, pods' files.",
)


GITOPS_OPTION = click.option(
    "--gitops",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=None,
    help="A Git repository (made one if it is not) whose every commit on the current branch "
    "the sandbox applies, as Flux would: plain manifests or kustomize, server-side apply as "
    "kustomize-controller, pruning what Git no longer has.",
)
GITOPS_INTERVAL_OPTION = click.option(
    "--gitops-interval",
    default="1m",
    show_default=True,
    callback=common.duration("30s, 1m or 10m", positive=True),
    help="How often the repository is applied even without a new commit (Flux's "
    "Kustomization interval): what drifted from Git is set back then.",
)


@click.command(short_help="Run the Kubernetes API server and write a kubeconfig for it.")
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
    help="Address to listen on. A caller without credentials is the admin: keep it on loopback.",
)
@click.option(
    "--secure-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Also serve TLS here (0 picks a port), with a certificate from the cluster's CA; the "
    "kubeconfig gets a serinus-sandbox-tls context, over which kubectl sends --token.",
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
@common.log_options(default_format="console")
def apiserver(
    port: int,
    host: str,
    secure_port: int | None,
    state_file: pathlib.Path | None,
    kubeconfig: pathlib.Path,
    watch_window: int,
) -> None:
    """Serve the Kubernetes API on HOST:PORT until Ctrl-C (SIGINT) or SIGTERM.

    kubectl, lightkube and the operator work against it unchanged: discovery, apply (client-side
    and --server-side), get with printer columns, patch (json, merge, strategic), watch, scale,
    status, finalizers and garbage collection. Custom resources are served once their CRD is
    applied, e.g. `kubectl --kubeconfig sandbox.kubeconfig apply -f deploy/crds/`.

    It plays no kubelet: Deployments get no pods until the rest of the sandbox runs.
    """
    from serinus.sandbox.apiserver import ApiServer, serve

    if not _is_loopback(host):
        click.echo(
            f"warning: {host} is not a loopback address and callers without credentials are "
            "the admin",
            err=True,
        )

    def ready(server: ApiServer) -> None:
        click.echo(f"Kubernetes API server listening on {server.url}")
        if server.secure_url is not None:
            click.echo(f"and with TLS on {server.secure_url} (context serinus-sandbox-tls)")
        click.echo(f"kubeconfig written to {kubeconfig} (kubectl --kubeconfig {kubeconfig} get ns)")
        click.echo(f"state: {state_file if state_file else 'in memory only'}")

    server = ApiServer(
        host=host,
        port=port,
        state=state_file,
        watch_window=watch_window,
        secure_port=secure_port,
    )
    with common.click_errors(listening=f"cannot serve on {host}:{port}"):
        common.run_until_signal(
            lambda stop: serve(server, stop=stop, kubeconfig=kubeconfig, on_ready=ready),
            fast_loop=True,
            # it holds the whole cluster as Python objects (~2 million at 3,000 Canaries), so a
            # sweep stops it for seconds; what it stores are JSON documents (trees), freed by
            # reference counting alone
            sweep_every=3600.0,
        )
    click.echo("Kubernetes API server stopped")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command(short_help="Run the podinfo stand-in (the demo app of the sandbox).")
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
    type=click.Choice(common.LOG_LEVELS),
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
    """Answer as stefanprodan/podinfo does, until SIGTERM or SIGINT (then 3 s more, unready).

    Routes: / (info JSON), /version, /status/{code}, /delay/{seconds}, /healthz, /readyz
    (POST /readyz/enable|disable), /token, /env, /headers, /metrics. One JSON line per request
    goes to stdout; PODINFO_* variables set the flags, as with podinfo.
    """
    from serinus.sandbox.podinfo import Podinfo, serve
    from serinus.sandbox.podinfo.server import DRAIN_SECONDS, configure_access_log

    logs.configure(level=log_level, fmt="json")  # podinfo's own flag and format
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
    with common.click_errors(listening=f"cannot listen on {host}:{port}"):
        drain = 0.0 if log_level == "debug" else DRAIN_SECONDS  # podinfo's own rule
        common.run_until_signal(
            lambda stop: serve(settings, host=host, port=port, stop=stop, drain=drain)
        )


@click.command(short_help="Run the mesh proxy (plays Linkerd) for an API server's Services.")
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
@common.log_options(default_format="console")
def mesh(kubeconfig: pathlib.Path, metrics_port: int, metrics_host: str) -> None:
    """Serve every Service at its loopback clusterIP:port until Ctrl-C (SIGINT) or SIGTERM.

    Requests go to the Service's ready endpoints, split by weight as the SMI TrafficSplit or
    Gateway API HTTPRoute steering the Service says, and are counted with the Linkerd proxy's
    metrics (response_total, response_latency_ms, request_total) labelled with the destination's
    namespace, deployment and pod. Services whose clusterIP is not a loopback address are skipped
    with a warning.
    """
    from serinus.kube import Kube, KubeSettings
    from serinus.sandbox.mesh import MeshProxy

    async def main(stop: asyncio.Event) -> None:
        async with (
            Kube(KubeSettings(kubeconfig=kubeconfig)) as kube,
            MeshProxy(kube, metrics_host=metrics_host, metrics_port=metrics_port) as proxy,
        ):
            click.echo(f"mesh proxy serving {len(proxy.listening)} Service ports")
            click.echo(f"metrics on {proxy.metrics_url}")
            await stop.wait()

    try:
        with common.click_errors(
            listening=f"cannot serve metrics on {metrics_host}:{metrics_port}"
        ):
            common.run_until_signal(main, fast_loop=True)
    except TimeoutError:
        raise click.ClickException(
            f"the API server of {kubeconfig} did not answer the first listing in time"
        ) from None
    click.echo("mesh proxy stopped")


@click.command(hidden=True)
@click.argument("name", type=click.Choice(["apiserver", "workloads", "gitops", "supervisor"]))
@DIR_OPTION
@click.option("--port", type=click.IntRange(0, 65535), default=0)
@click.option("--secure-port", type=click.IntRange(0, 65535), default=0)
@click.option("--service-cidr", default="127.96.0.0/24")
@click.option("--progress-fd", type=click.IntRange(0), default=None)
@click.option(
    "--install-with",
    type=click.Choice(["sandbox", "helm", "kustomize", "none"]),
    default="sandbox",
)
@GITOPS_OPTION
@GITOPS_INTERVAL_OPTION
def part(
    name: str,
    directory: pathlib.Path,
    port: int,
    secure_port: int,
    service_cidr: str,
    progress_fd: int | None,
    install_with: str,
    gitops: pathlib.Path | None,
    gitops_interval: float,
) -> None:
    """One part of a sandbox started by `serinus sandbox up` (not for direct use).

    `supervisor` is a detached `up`: it starts the sandbox, telling `up` how it goes through
    the pipe PROGRESS_FD, then keeps the parts running. `gitops` applies the repository GITOPS.
    """
    from serinus.sandbox.gitops import Settings
    from serinus.sandbox.orchestration import parts

    logs.configure(level="info", fmt="json")
    directory = directory.resolve()
    environment = dict(os.environ)

    async def main(stop: asyncio.Event) -> None:
        if name == "apiserver":
            await parts.serve_apiserver(
                directory,
                port=port,
                secure_port=secure_port,
                service_cidr=service_cidr,
                stop=stop,
            )
        elif name == "workloads":
            await parts.run_workloads(directory, stop=stop)
        elif name == "gitops":
            if gitops is None:
                raise click.UsageError("--gitops: expected the repository to apply")
            await parts.run_gitops(
                directory, repository=gitops, interval=gitops_interval, stop=stop
            )
        else:
            settings = None if gitops is None else Settings(gitops, gitops_interval)
            await _supervise(directory, environment, progress_fd, stop, install_with, settings)

    with common.click_errors():
        common.run_until_signal(main)


async def _supervise(
    directory: pathlib.Path,
    environment: dict[str, str],
    progress_fd: int | None,
    stop: asyncio.Event,
    install_with: str,
    gitops: Settings | None,
) -> None:
    from serinus.errors import SerinusError
    from serinus.sandbox.orchestration import detached, supervisor, up

    if progress_fd is None:
        raise click.UsageError("--progress-fd: expected the pipe `up --detach` reads")
    reporter = detached.Reporter(progress_fd)
    try:
        starts = up.start(
            directory,
            progress=reporter.progress,
            environment=environment,
            install_with=install_with,
            gitops=gitops,
        )
        started = await common.unless_stopped(stop, starts)
    except SerinusError as error:
        reporter.failed(str(error))
        raise
    if started is None:
        reporter.failed("interrupted; what was started is stopped")
        return
    reporter.ready()
    await supervisor.Supervisor(started, environment=environment).run(stop)
