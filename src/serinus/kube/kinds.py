"""Which URL serves an ``apiVersion``/``kind``: a table for the built-ins, discovery for the rest.

serinus handles objects as plain dicts, so it needs no model per kind, only each kind's plural
(the URL segment) and whether it lives in a namespace. The built-ins serinus touches are in
:data:`BUILTIN`; every other kind (Canary, TrafficSplit, HTTPRoute, VirtualService, ...) is looked
up once in the API server's discovery document for its group-version (``/apis/<group>/<version>``,
readable by every authenticated user, unlike the CRD objects themselves) and cached. A kind the
server does not serve is not cached, so a CRD installed later is found on the next call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from serinus import errors


@dataclasses.dataclass(frozen=True)
class Kind:
    """One served resource: ``apps/v1`` ``Deployment`` is ``deployments``, namespaced."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def title(self) -> str:
        """``deployments.apps``, as Kubernetes names a resource in its messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _table(*rows: tuple[str, str, str, bool]) -> dict[tuple[str, str], Kind]:
    return {(v, k): Kind(v, k, plural, namespaced) for v, k, plural, namespaced in rows}


BUILTIN: dict[tuple[str, str], Kind] = _table(
    ("v1", "Namespace", "namespaces", False),
    ("v1", "Node", "nodes", False),
    ("v1", "Pod", "pods", True),
    ("v1", "Service", "services", True),
    ("v1", "Endpoints", "endpoints", True),
    ("v1", "ConfigMap", "configmaps", True),
    ("v1", "PersistentVolumeClaim", "persistentvolumeclaims", True),
    ("v1", "Secret", "secrets", True),
    ("v1", "ServiceAccount", "serviceaccounts", True),
    ("v1", "Event", "events", True),
    ("apps/v1", "Deployment", "deployments", True),
    ("apps/v1", "DaemonSet", "daemonsets", True),
    ("apps/v1", "StatefulSet", "statefulsets", True),
    ("apps/v1", "ReplicaSet", "replicasets", True),
    ("autoscaling/v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True),
    ("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True),
    ("networking.k8s.io/v1", "Ingress", "ingresses", True),
    ("networking.k8s.io/v1", "IngressClass", "ingressclasses", False),
    ("coordination.k8s.io/v1", "Lease", "leases", True),
    ("events.k8s.io/v1", "Event", "events", True),
    ("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", True),
    ("batch/v1", "Job", "jobs", True),
    ("batch/v1", "CronJob", "cronjobs", True),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", False),
)

Fetch = Callable[[str], Awaitable[dict[str, Any] | None]]
"""GET a discovery path; the parsed JSON, or None when the server answers 404."""


def discovery_path(api_version: str) -> str:
    """``/api/v1`` for the core group, ``/apis/<group>/<version>`` for the others."""
    return f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"


def collection_path(kind: Kind, namespace: str | None) -> str:
    """The URL path of a kind's collection, in one namespace or (None) in all."""
    where = f"/namespaces/{namespace}" if namespace and kind.namespaced else ""
    return f"{discovery_path(kind.api_version)}{where}/{kind.plural}"


def find_in(document: dict[str, Any], api_version: str, kind: str) -> Kind | None:
    """The resource of ``kind`` in an ``APIResourceList``, subresources left out."""
    for entry in document.get("resources") or []:
        name = str(entry.get("name", ""))
        if entry.get("kind") == kind and name and "/" not in name:
            return Kind(api_version, kind, name, bool(entry.get("namespaced")))
    return None


class Kinds:
    """Resolves kinds to :class:`Kind`: the built-in table first, then cached discovery."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._found: dict[tuple[str, str], Kind] = {}

    async def resolve(self, api_version: str, kind: str) -> Kind:
        """The served resource; NotFoundError when the server does not serve the kind."""
        key = (api_version, kind)
        known = BUILTIN.get(key) or self._found.get(key)
        if known is not None:
            return known
        if not api_version or not kind:
            raise errors.InvalidError(
                f"expected an object with apiVersion and kind, found apiVersion={api_version!r} "
                f"kind={kind!r}",
                status=0,
            )
        document = await self._fetch(discovery_path(api_version))
        found = find_in(document, api_version, kind) if document is not None else None
        if found is None:
            raise errors.NotFoundError(
                f"the API server does not serve {kind} in {api_version} "
                "(is its CustomResourceDefinition installed?)"
            )
        self._found[key] = found
        return found

    def forget(self, api_version: str, kind: str) -> None:
        """Drop a discovered kind (its CRD was removed or changed scope)."""
        self._found.pop((api_version, kind), None)
