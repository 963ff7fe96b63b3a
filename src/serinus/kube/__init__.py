"""The only package that talks to the Kubernetes API (with lightkube's configuration loading).

Everything above it (targets, routers, the operator) holds a :class:`Kube` and passes plain
``Manifest`` dicts; the HTTP layer's exceptions never leave this package, only the
:mod:`serinus.errors` classes do.

Module map: ``config`` (:class:`KubeSettings`, built by the CLI), ``client`` (:class:`Kube`),
``wire`` (one request over aiohttp), ``credentials`` (the kubeconfig user's Authorization),
``kinds`` (apiVersion/kind to URL), ``errors`` (HTTP status to exception class), ``retry``
(transient failures, :func:`retry_on_conflict`), ``watch`` (resume and re-list), ``ratelimit``
(the client-side rate limit), ``timing`` (who is told each request's times), and the port
implementations: ``status`` (:class:`KubeStatusStore`), ``eventsink`` (:class:`KubeEventSink`,
queued and written in the background through ``events``' recorder), ``resources``
(:class:`KubeResources`), plus ``leader`` (:class:`LeaderElector`).

Importing the package has no side effects beyond importing these modules.
"""

from serinus.kube.client import Kube
from serinus.kube.config import KubeSettings
from serinus.kube.eventsink import KubeEventSink
from serinus.kube.leader import LeaderElector
from serinus.kube.resources import KubeResources
from serinus.kube.retry import RetryPolicy, retry_on_conflict
from serinus.kube.status import KubeStatusStore

__all__ = [
    "Kube",
    "KubeEventSink",
    "KubeResources",
    "KubeSettings",
    "KubeStatusStore",
    "LeaderElector",
    "RetryPolicy",
    "retry_on_conflict",
]
