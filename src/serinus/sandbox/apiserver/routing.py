"""URL paths to what they address: a resource collection, one object, or one of its subresources.

The Kubernetes URL scheme is regular but not trivially routable: ``/api/v1`` is the core group,
namespaced resources sit under ``namespaces/<ns>/``, and ``/api/v1/namespaces/<name>/status`` is
a subresource of a Namespace rather than a resource called ``status``. Custom resources appear and
disappear at run time, so routing reads the live registry instead of a fixed route table.
"""

from __future__ import annotations

from dataclasses import dataclass

from serinus.sandbox.apiserver.resources import Registry, ResourceType
from serinus.sandbox.apiserver.status import no_such_path

_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class Target:
    """What a resource URL addresses."""

    resource: ResourceType
    namespace: str | None
    """The namespace in the URL; None for cluster-scoped resources and all-namespace lists."""
    name: str | None
    subresource: str = ""

    @property
    def scope_namespace(self) -> str:
        """The namespace objects live in ("" for cluster-scoped ones)."""
        return self.namespace or ""


def group_version(parts: list[str]) -> tuple[str, str, list[str]] | None:
    """(group, version, rest) of ``/api/v1/...`` or ``/apis/<g>/<v>/...``; None for shorter."""
    if parts[:1] == ["api"] and len(parts) >= 2:
        return "", parts[1], parts[2:]
    if parts[:1] == ["apis"] and len(parts) >= 3:
        return parts[1], parts[2], parts[3:]
    return None


def resolve(registry: Registry, group: str, version: str, rest: list[str]) -> Target:
    """The target of the path below a group-version; 404 when nothing is served there."""
    namespace: str | None = None
    if (
        len(rest) >= 3
        and rest[0] == "namespaces"
        and not (len(rest) == 3 and rest[2] in _NAMESPACE_SUBRESOURCES)
    ):
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise no_such_path()
    resource = registry.lookup(group, version, rest[0])
    if resource is None:
        raise no_such_path()
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else ""
    if namespace is not None and not resource.namespaced:
        raise no_such_path()
    if resource.namespaced and name is not None and namespace is None:
        raise no_such_path()
    allowed = {
        "status": resource.status,
        "scale": resource.scale is not None,
        "log": resource.log,
        "exec": resource.log,
        "token": resource.token,
    }
    if subresource and not allowed.get(subresource, False):
        raise no_such_path()
    return Target(resource, namespace, name, subresource)


_VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def verb(method: str, target: Target, *, watch: bool) -> str:
    """The authorization verb of a request (``list``/``watch`` on collections)."""
    if target.name is None and method == "GET":
        return "watch" if watch else "list"
    if target.name is None and method == "DELETE":
        return "deletecollection"
    if target.subresource == "exec":
        return "create"
    return _VERBS.get(method, method.lower())
