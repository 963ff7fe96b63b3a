"""``serinus operator``: run the operator against a Kubernetes API server.

Flags mirror Flagger's (``-mesh-provider``, ``-metrics-server``, ``-namespace``,
``-enable-leader-election``...) in both spellings, single dash as Flagger writes them and double
dash, so a Flagger Deployment's arguments carry over. The Slack and Teams settings may also come
from Flagger's environment variables (SLACK_URL, MSTEAMS_URL...).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
from collections.abc import Callable
from typing import Any, TypeVar

import click

from serinus.apis.base import parse_duration
from serinus.cli import common
from serinus.kube.config import KubeSettings
from serinus.operator import runner
from serinus.operator.settings import NotifierSettings, OperatorSettings

F = TypeVar("F", bound=Callable[..., Any])


def _flag(name: str, *extra: str, **kwargs: Any) -> Callable[[F], F]:
    """An option written --name or, as Flagger writes it, -name."""
    return click.option(f"--{name}", f"-{name}", *extra, **kwargs)


def _seconds(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError:
        raise click.BadParameter(f"expected a duration such as 10s or 1m, got {value!r}") from None


@click.command()
@_flag(
    "kubeconfig",
    type=click.Path(path_type=pathlib.Path),
    help="Path to a kubeconfig; in-cluster when omitted.",
)
@_flag("context", "kube_context", default=None, help="The kubeconfig context to use.")
@_flag("server", default=None, help="API server URL used without credentials (sandbox, tests).")
@_flag(
    "namespace",
    default=None,
    help="Watch Canaries in these namespaces only, comma-separated (default: all).",
)
@_flag(
    "mesh-provider",
    default="istio",
    show_default=True,
    help="Default service mesh or ingress provider.",
)
@_flag(
    "metrics-server",
    default="http://prometheus:9090",
    show_default=True,
    help="Default Prometheus address.",
)
@_flag(
    "selector-labels",
    default="app,name,app.kubernetes.io/name",
    show_default=True,
    help="Labels that select the target's pods, in order.",
)
@_flag(
    "include-label-prefix",
    default="*",
    show_default=True,
    help="Label prefixes copied to the primary (comma-separated).",
)
@click.option(
    "--enable-config-tracking/--disable-config-tracking",
    "config_tracking",
    default=True,
    help="Track ConfigMaps and Secrets of the target.",
)
@click.option(
    "--track-secrets/--no-track-secrets",
    "track_secrets",
    default=True,
    help="Track the target's Secrets too (copies them to -primary: needs write access to "
    "Secrets). Off, the operator never writes a Secret and Secrets are used as they are.",
)
@_flag("ingress-class", default="", help="Ingress class for contour/nginx routers.")
@_flag("ingress-annotations-prefix", default="nginx.ingress.kubernetes.io", show_default=True)
@_flag(
    "enable-leader-election",
    "leader_election",
    is_flag=True,
    help="Elect a leader among replicas (a Lease).",
)
@_flag("leader-election-namespace", default="default", show_default=True)
@_flag("leader-election-name", default="serinus-leader-election", show_default=True)
@_flag(
    "identity", default="", help="This replica's name in the Lease (default: host name and pid)."
)
@_flag("host", default="0.0.0.0", show_default=True, help="Address of /metrics, /healthz, /readyz.")
@_flag("port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@_flag(
    "min-interval",
    default="10s",
    show_default=True,
    callback=_seconds,
    help="Shortest analysis interval (Flagger: 10s).",
)
@_flag(
    "slack-url", default="", envvar="SLACK_URL", help="Global Slack webhook (no analysis.alerts)."
)
@_flag("slack-token", default="", envvar="SLACK_TOKEN")
@_flag("slack-channel", default="general", envvar="SLACK_CHANNEL", show_default=True)
@_flag("slack-user", default="serinus", envvar="SLACK_USER", show_default=True)
@_flag("slack-proxy-url", default="", envvar="SLACK_PROXY_URL")
@_flag("msteams-url", default="", envvar="MSTEAMS_URL", help="Global Microsoft Teams webhook.")
@_flag("msteams-proxy-url", default="", envvar="MSTEAMS_PROXY_URL")
@_flag("cluster-name", default="", envvar="CLUSTER_NAME", help="Shown in alerts.")
@_flag(
    "event-webhook",
    default="",
    envvar="EVENT_WEBHOOK_URL",
    help="Receives every event (Canaries without event hooks).",
)
@common.log_options(default_format="json", flagger_spelling=True)
@click.option(
    "-threadiness",
    "--threadiness",
    hidden=True,
    default=2,
    help="Accepted for Flagger compatibility.",
)
@click.option("-control-loop-interval", "--control-loop-interval", hidden=True, default="10s")
def operator(**flags: object) -> None:
    """Watch Canaries and run their canary releases (Flagger-compatible flags)."""
    settings = _settings(flags)
    with contextlib.suppress(KeyboardInterrupt):  # SIGINT before the loop handles signals
        common.run_until_signal(lambda stop: runner.run(settings, stop=stop))


def _settings(flags: dict[str, object]) -> OperatorSettings:
    def text(name: str) -> str:
        return str(flags[name] or "")

    kube = KubeSettings(
        server=text("server") or None,
        kubeconfig=flags["kubeconfig"] if isinstance(flags["kubeconfig"], pathlib.Path) else None,
        context=text("kube_context") or None,
        service_host=os.environ.get("KUBERNETES_SERVICE_HOST"),
        service_port=os.environ.get("KUBERNETES_SERVICE_PORT"),
    )
    return OperatorSettings(
        kube=kube,
        namespaces=tuple(v.strip() for v in text("namespace").split(",") if v.strip()),
        mesh_provider=text("mesh_provider"),
        metrics_server=text("metrics_server"),
        selector_labels=tuple(v for v in text("selector_labels").split(",") if v),
        include_label_prefixes=tuple(v for v in text("include_label_prefix").split(",") if v),
        config_tracking=bool(flags["config_tracking"]),
        track_secrets=bool(flags["track_secrets"]),
        ingress_class=text("ingress_class"),
        ingress_annotations_prefix=text("ingress_annotations_prefix"),
        host=text("host"),
        port=int(str(flags["port"])),
        leader_election=bool(flags["leader_election"]),
        leader_election_namespace=text("leader_election_namespace"),
        leader_election_name=text("leader_election_name"),
        identity=text("identity") or f"{socket.gethostname()}-{os.getpid()}",
        min_interval_seconds=float(str(flags["min_interval"])),
        notifier=NotifierSettings(
            slack_url=text("slack_url"),
            slack_token=text("slack_token"),
            slack_channel=text("slack_channel"),
            slack_user=text("slack_user"),
            slack_proxy_url=text("slack_proxy_url"),
            msteams_url=text("msteams_url"),
            msteams_proxy_url=text("msteams_proxy_url"),
            cluster_name=text("cluster_name"),
            event_webhook=text("event_webhook"),
        ),
    )
