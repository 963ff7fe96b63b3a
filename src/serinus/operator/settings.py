"""What the operator is told to do: :class:`OperatorSettings`, the one source of its flags.

Each field that a flag sets says so in its metadata (:func:`flag`): the flag's name as Flagger
spells it, its help, and, for Flagger's Slack and Teams settings, the environment variable that
may set it. ``serinus operator`` builds its options from these fields, defaults included, so a
default is written once, here, and the fields mirror Flagger's flags and defaults
(``-mesh-provider istio``, ``-metrics-server http://prometheus:9090``, ``-selector-labels
app,name,app.kubernetes.io/name``, ...): a Flagger deployment's arguments keep their meaning.
(This module names flags but parses none: only ``serinus.cli`` does.)

Flagger's ``-threadiness`` and ``-control-loop-interval`` have no field: serinus ticks each Canary
on its own task at its own interval and follows the watch at once, so neither has anything to
tune; the command accepts them and says it ignores them (:data:`IGNORED_FLAGS`). What bounds the
work instead is serinus's own: ``--max-concurrent-ticks``, ``--kube-api-qps``/``--kube-api-burst``,
``--max-concurrent-runs`` (and per namespace) and ``--shards`` (docs/architecture.md, "Scale").
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from serinus.kube.config import KubeSettings

Kind = Literal["text", "list", "switch", "flag", "port", "duration", "count"]
"""How a flag's value reads: a text, a comma-separated list, ``--x/--no-x``, a bare flag, a port
number, a duration (``10s``), a whole number >= 0."""


def flag(
    name: str,
    text: str,
    *,
    kind: Kind = "text",
    off: str = "",
    env: str | None = None,
) -> dict[str, Any]:
    """Field metadata naming the flag that sets the field.

    Args:
        name: the flag without dashes, as Flagger spells it (``mesh-provider``).
        text: its help.
        kind: how its value reads (:data:`Kind`).
        off: for a ``switch``, the flag that turns it off (``disable-config-tracking``).
        env: an environment variable that sets it when the flag is absent (Flagger's).
    """
    return {"flag": {"name": name, "help": text, "kind": kind, "off": off, "env": env}}


IGNORED_FLAGS = {
    "threadiness": "serinus runs one task per Canary",
    "control-loop-interval": "serinus follows the watch of Canaries at once",
}
"""Flagger's flags that serinus accepts for compatibility and ignores, with why."""


@dataclasses.dataclass(frozen=True)
class NotifierSettings:
    """The global notifier, used for Canaries without ``analysis.alerts``."""

    slack_url: str = dataclasses.field(
        default="",
        metadata=flag("slack-url", "Global Slack webhook (no analysis.alerts).", env="SLACK_URL"),
    )
    slack_token: str = dataclasses.field(
        default="", metadata=flag("slack-token", "Slack bot token.", env="SLACK_TOKEN")
    )
    slack_channel: str = dataclasses.field(
        default="general", metadata=flag("slack-channel", "Slack channel.", env="SLACK_CHANNEL")
    )
    slack_user: str = dataclasses.field(
        default="serinus", metadata=flag("slack-user", "Slack user name.", env="SLACK_USER")
    )
    slack_proxy_url: str = dataclasses.field(
        default="",
        metadata=flag("slack-proxy-url", "Proxy for Slack.", env="SLACK_PROXY_URL"),
    )
    msteams_url: str = dataclasses.field(
        default="",
        metadata=flag("msteams-url", "Global Microsoft Teams webhook.", env="MSTEAMS_URL"),
    )
    msteams_proxy_url: str = dataclasses.field(
        default="",
        metadata=flag("msteams-proxy-url", "Proxy for Teams.", env="MSTEAMS_PROXY_URL"),
    )
    cluster_name: str = dataclasses.field(
        default="", metadata=flag("cluster-name", "Shown in alerts.", env="CLUSTER_NAME")
    )
    event_webhook: str = dataclasses.field(
        default="",
        metadata=flag(
            "event-webhook",
            "Receives every event (Canaries without event hooks).",
            env="EVENT_WEBHOOK_URL",
        ),
    )


@dataclasses.dataclass(frozen=True)
class OperatorSettings:
    kube: KubeSettings
    namespaces: tuple[str, ...] = dataclasses.field(
        default=(),
        metadata=flag(
            "namespace",
            "Watch Canaries in these namespaces only, comma-separated (default: all).",
            kind="list",
        ),
    )
    mesh_provider: str = dataclasses.field(
        default="istio",
        metadata=flag("mesh-provider", "Default service mesh or ingress provider."),
    )
    metrics_server: str = dataclasses.field(
        default="http://prometheus:9090",
        metadata=flag("metrics-server", "Default Prometheus address."),
    )
    selector_labels: tuple[str, ...] = dataclasses.field(
        default=("app", "name", "app.kubernetes.io/name"),
        metadata=flag(
            "selector-labels", "Labels that select the target's pods, in order.", kind="list"
        ),
    )
    include_label_prefixes: tuple[str, ...] = dataclasses.field(
        default=("*",),
        metadata=flag(
            "include-label-prefix",
            "Label prefixes copied to the primary (comma-separated).",
            kind="list",
        ),
    )
    config_tracking: bool = dataclasses.field(
        default=True,
        metadata=flag(
            "enable-config-tracking",
            "Track ConfigMaps and Secrets of the target.",
            kind="switch",
            off="disable-config-tracking",
        ),
    )
    track_secrets: bool = dataclasses.field(
        default=True,
        metadata=flag(
            "track-secrets",
            "Track the target's Secrets too (copies them to -primary: needs write access to "
            "Secrets). Off, the operator never writes a Secret and Secrets are used as they are.",
            kind="switch",
            off="no-track-secrets",
        ),
    )
    ingress_class: str = dataclasses.field(
        default="", metadata=flag("ingress-class", "Ingress class for contour/nginx routers.")
    )
    ingress_annotations_prefix: str = dataclasses.field(
        default="nginx.ingress.kubernetes.io",
        metadata=flag("ingress-annotations-prefix", "Prefix of the NGINX canary annotations."),
    )
    port: int = dataclasses.field(
        default=8080, metadata=flag("port", "Port of /metrics, /healthz, /readyz.", kind="port")
    )
    host: str = dataclasses.field(
        default="0.0.0.0", metadata=flag("host", "Address of /metrics, /healthz, /readyz.")
    )
    leader_election: bool = dataclasses.field(
        default=False,
        metadata=flag(
            "enable-leader-election", "Elect a leader among replicas (a Lease).", kind="flag"
        ),
    )
    leader_election_namespace: str = dataclasses.field(
        default="default",
        metadata=flag("leader-election-namespace", "Namespace of the leader election Lease."),
    )
    leader_election_name: str = dataclasses.field(
        default="serinus-leader-election",
        metadata=flag("leader-election-name", "Name of the leader election Lease."),
    )
    identity: str = dataclasses.field(
        default="",
        metadata=flag("identity", "This replica's name in the Lease (default: host name and pid)."),
    )
    max_concurrent_ticks: int = dataclasses.field(
        default=64,
        metadata=flag(
            "max-concurrent-ticks",
            "Ticks running at once at most (0: no bound); runs in progress go first.",
            kind="count",
        ),
    )
    kube_api_qps: int = dataclasses.field(
        default=100,
        metadata=flag(
            "kube-api-qps",
            "Kubernetes API requests a second at most (0: no limit); runs in progress go first.",
            kind="count",
        ),
    )
    kube_api_burst: int = dataclasses.field(
        default=200,
        metadata=flag(
            "kube-api-burst", "Kubernetes API requests at once above the QPS.", kind="count"
        ),
    )
    max_concurrent_runs: int = dataclasses.field(
        default=0,
        metadata=flag(
            "max-concurrent-runs",
            "Runs (Progressing to Finalising) at once in the cluster at most (0: no limit); "
            "new revisions wait in order in phase Waiting.",
            kind="count",
        ),
    )
    max_concurrent_runs_per_namespace: int = dataclasses.field(
        default=0,
        metadata=flag(
            "max-concurrent-runs-per-namespace",
            "Runs at once in one namespace at most (0: no limit).",
            kind="count",
        ),
    )
    shards: str = dataclasses.field(
        default="",
        metadata=flag(
            "shards",
            "'auto': every live replica acts on its consistent-hash share of the Canaries "
            "(a Lease per replica in --leader-election-namespace); empty: one replica acts on all.",
        ),
    )
    notifier: NotifierSettings = dataclasses.field(default_factory=NotifierSettings)
    grace_seconds: float = 30.0
    """How long ticks in flight may take to finish on shutdown."""

    def __post_init__(self) -> None:
        if self.shards not in ("", "auto"):
            raise ValueError(f"--shards: expected 'auto' or nothing, found {self.shards[:40]!r}")
        if self.shards and self.leader_election:
            raise ValueError(
                "--shards auto and --enable-leader-election: expected one of them (with shards "
                "every replica acts, on its own share), found both"
            )

    min_interval_seconds: float = dataclasses.field(
        default=10.0,
        metadata=flag(
            "min-interval",
            "Shortest analysis interval (Flagger clamps to 10s; the sandbox's demo goes lower).",
            kind="duration",
        ),
    )
    dashboard_port: int | None = dataclasses.field(
        default=None,
        metadata=flag(
            "dashboard-port",
            "Serve the dashboard on this port (off unless given; 0 picks a free port). Callers "
            "sign in with a Kubernetes token and see and act where RBAC lets them.",
            kind="port",
        ),
    )
    dashboard_host: str | None = dataclasses.field(
        default=None, metadata=flag("dashboard-host", "The dashboard's address (default: --host).")
    )
    dashboard_tls_cert: str | None = dataclasses.field(
        default=None,
        metadata=flag(
            "dashboard-tls-cert",
            "PEM certificate file: serve the dashboard over HTTPS (with --dashboard-tls-key).",
        ),
    )
    dashboard_tls_key: str | None = dataclasses.field(
        default=None,
        metadata=flag("dashboard-tls-key", "PEM private key of --dashboard-tls-cert."),
    )
