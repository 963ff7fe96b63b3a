"""A local Kubernetes API server: the real HTTP API on a loopback port, objects in memory or a file.

``kubectl``, lightkube and the operator talk to it exactly as to a cluster: discovery (aggregated
and legacy), OpenAPI v3 for server-side validation, CRUD with resourceVersions and conflicts, the
four patch types including server-side apply, ``status`` and ``scale`` subresources, selectors,
watch with resume and 410 Gone, finalizers and owner-reference garbage collection, server-side
Tables with CRD printer columns, and custom resources served as soon as their CRD is applied.

It plays a few controllers too (namespace and CRD teardown, the garbage collector, the CRD
"Established" condition) but no kubelet and no Deployment controller: the sandbox's workload
runner does that over this same API, and plugs container logs and ``kubectl exec`` in through
:class:`LogSources` and :class:`ExecSources`.

Module map: ``server`` (start/stop, :class:`ApiServer`), ``handlers``/``queries``/``responses``
(HTTP), ``routing``, ``discovery``, ``openapi``, ``writes``/``patching``/``merge``/``apply``/
``deletion`` (verbs), ``subresources``, ``podexec``, ``watch``, ``tables``/``printers``/``cells``/
``jsonpath``, ``cluster``/``store`` (state), ``ownership`` (managedFields of updates),
``resources``/``builtin``/``crds`` (what is served), ``schema``/``schemanodes``/``pruning`` (a
CRD's schema on writes), ``meta``/``defaults``/``validation``, ``selectors``, ``persistence``,
``kubeconfig``, ``logs``.
"""

from serinus.sandbox.apiserver.kubeconfig import kubeconfig, write_kubeconfig
from serinus.sandbox.apiserver.logs import LogRequest, LogSource, LogSources
from serinus.sandbox.apiserver.podexec import ExecProcess, ExecRequest, ExecSource, ExecSources
from serinus.sandbox.apiserver.server import ApiServer, serve

__all__ = [
    "ApiServer",
    "ExecProcess",
    "ExecRequest",
    "ExecSource",
    "ExecSources",
    "LogRequest",
    "LogSource",
    "LogSources",
    "kubeconfig",
    "serve",
    "write_kubeconfig",
]
