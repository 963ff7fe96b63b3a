"""The API server's own ``/metrics``: every request counted, as a real API server counts them.

A real kube-apiserver serves ``/metrics`` (a non-resource URL, behind RBAC like every other) with
``apiserver_request_total``, the requests it answered by verb, group, version, resource,
subresource, scope and response code. The sandbox's API server keeps the same counter under the
same name and labels, so what a platform engineer would query in a real cluster
(``sum by (verb, resource) (rate(apiserver_request_total[1m]))``) works here too, and so
benchmarks count an operator's requests from the server itself instead of a proxy in between
(``benchmarks/operator_scale.py``: a proxy copying every watch stream cost the benchmark's share
of the same cores).

Verbs, as the real server names them: ``LIST`` and ``WATCH`` for reads of a collection, ``GET``
for one object, ``POST``, ``PUT``, ``PATCH`` (``APPLY`` for a server-side apply patch),
``DELETE``, ``DELETECOLLECTION``, ``CONNECT`` for exec. A request that never named a resource
(discovery, ``/version``, a path that does not exist) is counted with empty resource labels. A
watch is counted when it ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from serinus.sandbox.apiserver.routing import Target

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_APPLY = "application/apply-patch+yaml"
_LABELS = ("verb", "group", "version", "resource", "subresource", "scope", "code")
_VERBS = {"list": "LIST", "watch": "WATCH", "deletecollection": "DELETECOLLECTION"}


class Counted(NamedTuple):
    """What a request was about, once its route is known (the code comes with the answer)."""

    verb: str
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    scope: str = ""


def about(method: str, rbac_verb: str, target: Target, version: str, content_type: str) -> Counted:
    """The labels of a request on a resource, from its method and its authorization verb."""
    if target.subresource == "exec":
        verb = "CONNECT"
    elif method == "PATCH" and content_type.startswith(_APPLY):
        verb = "APPLY"
    else:
        verb = _VERBS.get(rbac_verb, method)
    if target.name is not None:
        scope = "resource"
    else:
        scope = "namespace" if target.namespace is not None else "cluster"
    return Counted(
        verb,
        target.resource.group,
        version,
        target.resource.plural,
        target.subresource or "",
        scope,
    )


class RequestMetrics(Collector):
    """The counter of one API server (its own registry: tests run many servers at once)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, ...], int] = {}
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(self)

    def count(self, counted: Counted | None, method: str, code: int) -> None:
        """One request answered with ``code`` (``counted`` None: no resource was named)."""
        about = counted if counted is not None else Counted(method)
        labels = (*about, str(code))
        self._counts[labels] = self._counts.get(labels, 0) + 1

    def collect(self) -> Iterator[Metric]:
        total = CounterMetricFamily(
            "apiserver_request",  # exposed as apiserver_request_total
            "Requests answered, by verb, group, version, resource, subresource, scope and "
            "HTTP status code.",
            labels=_LABELS,
        )
        for labels, value in sorted(self._counts.items()):
            total.add_metric(labels, value)
        yield total

    def exposition(self) -> bytes:
        """The Prometheus text format of every counter."""
        return generate_latest(self._registry)
