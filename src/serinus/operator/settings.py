"""What the operator is told to do: :class:`OperatorSettings`, built by ``serinus operator``.

The fields mirror Flagger's flags and defaults (``-mesh-provider istio``, ``-metrics-server
http://prometheus:9090``, ``-selector-labels app,name,app.kubernetes.io/name``, ...) so a Flagger
deployment's arguments keep their meaning.
"""

from __future__ import annotations

import dataclasses

from serinus.kube.config import KubeSettings


@dataclasses.dataclass(frozen=True)
class NotifierSettings:
    """The global notifier, used for Canaries without ``analysis.alerts``."""

    slack_url: str = ""
    slack_token: str = ""
    slack_channel: str = "general"
    slack_user: str = "serinus"
    slack_proxy_url: str = ""
    msteams_url: str = ""
    msteams_proxy_url: str = ""
    cluster_name: str = ""
    event_webhook: str = ""


@dataclasses.dataclass(frozen=True)
class OperatorSettings:
    kube: KubeSettings
    namespaces: tuple[str, ...] = ()
    """Watch Canaries of these namespaces only; all namespaces when empty."""
    mesh_provider: str = "istio"
    metrics_server: str = "http://prometheus:9090"
    selector_labels: tuple[str, ...] = ("app", "name", "app.kubernetes.io/name")
    include_label_prefixes: tuple[str, ...] = ("*",)
    config_tracking: bool = True
    track_secrets: bool = True
    """Track (checksum, copy to ``-primary``) Secrets too, which needs write access to Secrets."""
    ingress_class: str = ""
    ingress_annotations_prefix: str = "nginx.ingress.kubernetes.io"
    port: int = 8080
    host: str = "0.0.0.0"
    leader_election: bool = False
    leader_election_namespace: str = "default"
    leader_election_name: str = "serinus-leader-election"
    identity: str = ""
    notifier: NotifierSettings = dataclasses.field(default_factory=NotifierSettings)
    control_loop_seconds: float = 10.0
    """How often the set of Canaries is re-listed besides the watch (Flagger: 10s)."""
    grace_seconds: float = 30.0
    """How long ticks in flight may take to finish on shutdown."""
    min_interval_seconds: float = 10.0
    """The shortest analysis interval (Flagger clamps to 10s; the sandbox's demo may lower it)."""
