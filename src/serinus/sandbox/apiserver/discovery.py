"""Discovery documents: ``/version``, ``/api``, ``/apis``, ``/apis/<g>`` and ``/apis/<g>/<v>``.

All generated from the :class:`~serinus.sandbox.apiserver.resources.Registry` the router uses, so
kubectl can never be told about a resource the server does not serve (or the reverse). ``/api``
and ``/apis`` come in two forms: the legacy ``APIVersions``/``APIGroupList``, and the aggregated
``APIGroupDiscoveryList`` that kubectl asks for first; the aggregated answer must carry its own
Content-Type, since kubectl picks the parser by Content-Type and would find no resources at all
otherwise. The version is reported as v1.32.4 because ``/usr/bin/kubectl`` is a dispatcher that
runs the bundled kubectl matching the server's minor version.
"""

from __future__ import annotations

from serinus.sandbox.apiserver.objects import Obj, api_version
from serinus.sandbox.apiserver.resources import SUBRESOURCE_VERBS, Registry, ResourceType

VERSION_INFO: Obj = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4",
    "gitCommit": "59526cd4867447956156ae3a602fcbac5b7e3a7f",
    "gitTreeState": "clean",
    "buildDate": "2025-04-22T16:03:48Z",
    "goVersion": "go1.23.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def aggregated_content_type(version: str) -> str:
    return f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"


def core_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group(group: str, versions: list[str]) -> Obj:
    listed = [{"groupVersion": api_version(group, v), "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def group_list(registry: Registry) -> Obj:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(g, vs) for g, vs in registry.groups() if g],
    }


def group(registry: Registry, name: str) -> Obj | None:
    for found, versions in registry.groups():
        if found == name and name:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}
    return None


def resource_list(registry: Registry, group: str, version: str) -> Obj | None:
    resources = registry.resources(group, version)
    if not resources:
        return None
    listed: list[Obj] = []
    for resource in resources:
        listed.append(_legacy(resource))
        listed.extend(_legacy_subresources(resource))
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": api_version(group, version),
        "resources": listed,
    }


def _legacy(resource: ResourceType) -> Obj:
    entry: Obj = {
        "name": resource.plural,
        "singularName": resource.singular_name,
        "namespaced": resource.namespaced,
        "kind": resource.kind,
        "verbs": list(resource.verbs),
    }
    if resource.short_names:
        entry["shortNames"] = list(resource.short_names)
    if resource.categories:
        entry["categories"] = list(resource.categories)
    return entry


def _subresources(resource: ResourceType) -> list[tuple[str, Obj, list[str]]]:
    """(name, response kind, verbs) of each subresource."""
    own = {"group": resource.group, "version": resource.version, "kind": resource.kind}
    found = []
    if resource.status:
        found.append(("status", own, list(SUBRESOURCE_VERBS)))
    if resource.scale is not None:
        scale = {"group": "autoscaling", "version": "v1", "kind": "Scale"}
        found.append(("scale", scale, list(SUBRESOURCE_VERBS)))
    if resource.token:
        request = {"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"}
        found.append(("token", request, ["create"]))
    if resource.log:
        found.append(("log", own, ["get"]))
        options = {"group": "", "version": "v1", "kind": "PodExecOptions"}
        found.append(("exec", options, ["create", "get"]))
    return found


def _legacy_subresources(resource: ResourceType) -> list[Obj]:
    entries = []
    for name, kind, verbs in _subresources(resource):
        entry: Obj = {
            "name": f"{resource.plural}/{name}",
            "singularName": "",
            "namespaced": resource.namespaced,
            "kind": kind["kind"],
            "verbs": verbs,
        }
        if kind["group"] != resource.group or kind["version"] != resource.version:
            entry["group"], entry["version"] = kind["group"], kind["version"]
        entries.append(entry)
    return entries


def aggregated(registry: Registry, *, core: bool, version: str) -> Obj:
    """The ``APIGroupDiscoveryList`` of ``/api`` (core) or ``/apis``."""
    items = []
    for name, versions in registry.groups():
        if (name == "") != core:
            continue
        items.append(
            {
                "metadata": {"name": name} if name else {},
                "versions": [
                    {
                        "version": v,
                        "resources": [_aggregated(r) for r in registry.resources(name, v)],
                        "freshness": "Current",
                    }
                    for v in versions
                ],
            }
        )
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": f"apidiscovery.k8s.io/{version}",
        "metadata": {},
        "items": items,
    }


def _aggregated(resource: ResourceType) -> Obj:
    entry: Obj = {
        "resource": resource.plural,
        "responseKind": {
            "group": resource.group,
            "version": resource.version,
            "kind": resource.kind,
        },
        "scope": "Namespaced" if resource.namespaced else "Cluster",
        "singularResource": resource.singular_name,
        "verbs": list(resource.verbs),
    }
    if resource.short_names:
        entry["shortNames"] = list(resource.short_names)
    if resource.categories:
        entry["categories"] = list(resource.categories)
    subresources = [
        {"subresource": name, "responseKind": kind, "verbs": verbs}
        for name, kind, verbs in _subresources(resource)
    ]
    if subresources:
        entry["subresources"] = subresources
    return entry
