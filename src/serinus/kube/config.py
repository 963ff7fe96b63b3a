"""Where the Kubernetes API is and how to authenticate: :class:`KubeSettings` and its resolution.

The CLI builds one :class:`KubeSettings` from its flags and the environment (it is the only
package allowed to read either) and hands it to :class:`serinus.kube.client.Kube`. Three ways to
reach a cluster are supported, chosen in this order:

1. a plain server URL (``server=``): the sandbox and the tests, no credentials;
2. a kubeconfig file (``kubeconfig=``, optionally ``context=``), as ``kubectl --kubeconfig``;
3. the in-cluster service account: token and CA under ``service_account``, the server address from
   ``KUBERNETES_SERVICE_HOST``/``KUBERNETES_SERVICE_PORT``, which the CLI passes in as
   ``service_host``/``service_port`` (lightkube's own in-cluster loader reads the environment
   itself, which serinus keeps to the CLI, so the configuration is built here instead).

The token is read from its file on every 401, as client-go does: kubelet rotates projected
service-account tokens, and a long-running operator must follow.
"""

from __future__ import annotations

import dataclasses
import pathlib

from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.config.models import Cluster, User
from lightkube.core.exceptions import ConfigError

from serinus.kube.errors import KubeConfigError
from serinus.kube.retry import RetryPolicy

SERVICE_ACCOUNT = pathlib.Path("/var/run/secrets/kubernetes.io/serviceaccount")
"""Where Kubernetes mounts a pod's service account token, CA and namespace."""


@dataclasses.dataclass(frozen=True)
class KubeSettings:
    """How to reach the Kubernetes API; built by the CLI, read by :class:`~serinus.kube.Kube`."""

    server: str | None = None
    """A server URL used without credentials (the sandbox, tests)."""
    kubeconfig: pathlib.Path | None = None
    """A kubeconfig file, as ``kubectl --kubeconfig``."""
    context: str | None = None
    """The kubeconfig context to use; its current-context when None."""
    service_host: str | None = None
    """``KUBERNETES_SERVICE_HOST`` of an in-cluster pod (passed in by the CLI)."""
    service_port: str | None = None
    """``KUBERNETES_SERVICE_PORT`` of an in-cluster pod (passed in by the CLI)."""
    service_account: pathlib.Path = SERVICE_ACCOUNT
    """Directory holding the service account's ``token``, ``ca.crt`` and ``namespace``."""
    namespace: str | None = None
    """Default namespace for namespaced calls without one; else the context's, else default."""
    timeout: float = 10.0
    """Seconds before a single request (not a watch stream) gives up."""
    watch_timeout: int = 300
    """Seconds after which the server ends a watch stream; it is resumed at once. Bounds how long
    a connection that died without a word (a vanished load balancer) can go unnoticed."""
    user_agent: str = "serinus"
    qps: float = 0.0
    """Requests a second the client sends at most (0: no limit); watches are not counted."""
    burst: int = 1
    """Requests the client may send at once above ``qps`` after a quiet spell."""
    retry: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)
    """How often and how patiently requests are retried on 429, 5xx and transport errors."""

    def __post_init__(self) -> None:
        if self.context is not None and self.kubeconfig is None:
            raise KubeConfigError(
                f"context {self.context!r} needs a kubeconfig file, found none (--kubeconfig)"
            )
        if self.timeout <= 0:
            raise KubeConfigError(f"timeout: expected seconds > 0, found {self.timeout}")

    @classmethod
    def for_server(cls, url: str, *, namespace: str | None = None) -> KubeSettings:
        """Settings for a server that needs no credentials (the sandbox API server)."""
        return cls(server=url, namespace=namespace)

    @property
    def source(self) -> str:
        """Which of the three ways is used, for log lines and errors."""
        if self.server is not None:
            return f"server {self.server}"
        if self.kubeconfig is not None:
            context = f" (context {self.context})" if self.context else ""
            return f"kubeconfig {self.kubeconfig}{context}"
        return f"in-cluster service account {self.service_account}"


def load(settings: KubeSettings) -> SingleConfig:
    """The lightkube configuration the settings describe; KubeConfigError when unusable."""
    try:
        config = _load(settings)
    except ConfigError as error:
        raise KubeConfigError(f"cannot use {settings.source}: {error}") from error
    if config.user is None:
        # lightkube refuses a context without a user; an empty one means "no credentials".
        config = config._replace(user=User())
    return config


def _load(settings: KubeSettings) -> SingleConfig:
    if settings.server is not None:
        single = KubeConfig.from_one(
            cluster=Cluster(server=settings.server), user=User(), namespace=settings.namespace
        ).get()
    elif settings.kubeconfig is not None:
        single = KubeConfig.from_file(settings.kubeconfig).get(context_name=settings.context)
    elif settings.service_host:
        single = _in_cluster(settings).get()
    else:
        raise KubeConfigError(
            "no Kubernetes API configured: expected a kubeconfig file (--kubeconfig) or a pod's "
            "service account (KUBERNETES_SERVICE_HOST), found neither"
        )
    if single is None:  # only when a default is passed to KubeConfig.get, which we never do
        raise KubeConfigError(f"cannot use {settings.source}: no context")
    return single


def _in_cluster(settings: KubeSettings) -> KubeConfig:
    account = settings.service_account
    token = account / "token"
    ca = account / "ca.crt"
    for required in (token, ca):
        if not required.is_file():
            raise KubeConfigError(
                f"in-cluster configuration: expected the service account file {required}, "
                "found none (is a service account mounted?)"
            )
    host = str(settings.service_host)
    if ":" in host:  # an IPv6 address needs brackets in a URL
        host = f"[{host}]"
    port = settings.service_port or "443"
    namespace_file = account / "namespace"
    namespace = settings.namespace
    if namespace is None and namespace_file.is_file():
        namespace = namespace_file.read_text().strip() or None
    return KubeConfig.from_one(
        cluster=Cluster(server=f"https://{host}:{port}", certificate_auth=str(ca)),
        user=User(token_file=str(token)),
        namespace=namespace,
    )
