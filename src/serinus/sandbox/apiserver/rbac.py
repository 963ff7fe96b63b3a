"""RBAC: whether a user may do something, from the stored Roles, ClusterRoles and their bindings.

The real authorizer's rules: ``system:masters`` may do everything; otherwise a request is allowed
when a rule of a role bound to the user (by name, by one of their groups, or as the ServiceAccount
``system:serviceaccount:<ns>:<name>``) matches it. ClusterRoleBindings grant their ClusterRole
everywhere; a RoleBinding grants its Role (or a ClusterRole) in its own namespace only. A rule
matches when its verbs, apiGroups and resources (``*``, ``pods``, ``pods/log``, ``*/scale``)
include the request's and its resourceNames, if any, include the object's name; ``nonResourceURLs``
(exact, or a prefix ending in ``*``) match requests for paths such as ``/healthz``. A ClusterRole
with an ``aggregationRule`` holds the rules of the ClusterRoles its selectors match. Discovery,
``/version``, ``/openapi`` and the health paths are open to every authenticated user, as the
bootstrap ``system:discovery`` and ``system:public-info-viewer`` roles make them on a real cluster,
and so are the self reviews (``system:basic-user``). Denials come with the real server's wording.
"""

from __future__ import annotations

from dataclasses import dataclass

from serinus.sandbox.apiserver.cluster import Cluster
from serinus.sandbox.apiserver.identity import User
from serinus.sandbox.apiserver.objects import Obj, as_map, name_of, namespace_of
from serinus.sandbox.apiserver.selectors import LabelSelector, Requirement
from serinus.sandbox.apiserver.status import ApiError, group_resource

_OPEN_PATHS = ("/api", "/apis", "/version", "/openapi", "/healthz", "/livez", "/readyz")
_SELF_REVIEWS = frozenset(
    {
        ("authorization.k8s.io", "selfsubjectaccessreviews"),
        ("authorization.k8s.io", "selfsubjectrulesreviews"),
        ("authentication.k8s.io", "selfsubjectreviews"),
    }
)
"""What the bootstrap ``system:basic-user`` role lets every authenticated user create."""


@dataclass(frozen=True)
class Attributes:
    """What a request does, as the authorizer sees it."""

    verb: str
    resource: str = ""
    group: str = ""
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    path: str = ""
    """For a non-resource request: the URL path."""

    @property
    def is_resource(self) -> bool:
        return bool(self.resource)


def _subjects_match(binding: Obj, user: User) -> bool:
    for subject in binding.get("subjects") or []:
        if not isinstance(subject, dict):
            continue
        kind, name = subject.get("kind"), str(subject.get("name", ""))
        if kind == "User" and name == user.name:
            return True
        if kind == "Group" and name in user.groups:
            return True
        if kind == "ServiceAccount":
            namespace = subject.get("namespace") or namespace_of(binding)
            if user.name == f"system:serviceaccount:{namespace}:{name}":
                return True
    return False


def _role_rules(cluster: Cluster, reference: Obj, namespace: str) -> list[Obj]:
    kind, name = reference.get("kind"), str(reference.get("name", ""))
    if kind == "ClusterRole":
        role = cluster.store.get("clusterroles.rbac.authorization.k8s.io", "", name)
        return _cluster_role_rules(cluster, role) if role else []
    role = cluster.store.get("roles.rbac.authorization.k8s.io", namespace, name)
    return [r for r in (role or {}).get("rules") or [] if isinstance(r, dict)]


def _cluster_role_rules(cluster: Cluster, role: Obj) -> list[Obj]:
    rules = [r for r in role.get("rules") or [] if isinstance(r, dict)]
    aggregation = as_map(role.get("aggregationRule"))
    selectors = [s for s in aggregation.get("clusterRoleSelectors") or [] if isinstance(s, dict)]
    if not selectors:
        return rules
    for other in cluster.store.items("clusterroles.rbac.authorization.k8s.io"):
        if name_of(other) != name_of(role) and any(_selects(s, other) for s in selectors):
            rules += [r for r in other.get("rules") or [] if isinstance(r, dict)]
    return rules


def _selects(selector: Obj, obj: Obj) -> bool:
    labels = as_map(selector.get("matchLabels"))
    requirements = [Requirement(str(k), "=", (str(v),)) for k, v in labels.items()]
    for expression in selector.get("matchExpressions") or []:
        operator = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}.get(
            str(expression.get("operator")), ""
        )
        values = tuple(str(v) for v in expression.get("values") or [])
        requirements.append(Requirement(str(expression.get("key")), operator, values))
    return LabelSelector(tuple(requirements)).matches(obj)


def _has(values: object, wanted: str) -> bool:
    listed = values if isinstance(values, list) else []
    return "*" in listed or wanted in listed


def _rule_allows(rule: Obj, attributes: Attributes) -> bool:
    if not _has(rule.get("verbs"), attributes.verb):
        return False
    if not attributes.is_resource:
        urls = rule.get("nonResourceURLs") or []
        return any(
            url == attributes.path or (url.endswith("*") and attributes.path.startswith(url[:-1]))
            for url in urls
            if isinstance(url, str)
        )
    if not _has(rule.get("apiGroups"), attributes.group):
        return False
    resources = rule.get("resources") or []
    wanted = attributes.resource
    if attributes.subresource:
        wanted += "/" + attributes.subresource
    if not (
        "*" in resources
        or wanted in resources
        or (attributes.subresource and f"*/{attributes.subresource}" in resources)
    ):
        return False
    names = rule.get("resourceNames") or []
    return not names or attributes.name in names


def rules_for(cluster: Cluster, user: User, namespace: str) -> list[Obj]:
    """Every rule granted to ``user`` in ``namespace`` ("" for cluster-wide rules only)."""
    rules: list[Obj] = []
    for binding in cluster.store.items("clusterrolebindings.rbac.authorization.k8s.io"):
        if _subjects_match(binding, user):
            rules += _role_rules(cluster, as_map(binding.get("roleRef")), "")
    if namespace:
        for binding in cluster.store.items("rolebindings.rbac.authorization.k8s.io", namespace):
            if _subjects_match(binding, user):
                rules += _role_rules(cluster, as_map(binding.get("roleRef")), namespace)
    return rules


def allowed(cluster: Cluster, user: User, attributes: Attributes) -> bool:
    if user.superuser:
        return True
    open_path = any(
        attributes.path == p or attributes.path.startswith(p + "/") for p in _OPEN_PATHS
    )
    authenticated = "system:authenticated" in user.groups
    if open_path and attributes.verb == "get" and authenticated:
        return True
    own = (attributes.group, attributes.resource) in _SELF_REVIEWS
    if own and attributes.verb == "create" and authenticated:
        return True
    rules = rules_for(cluster, user, attributes.namespace)
    return any(_rule_allows(rule, attributes) for rule in rules)


def forbidden(user: User, attributes: Attributes) -> ApiError:
    """The real server's 403 for a denied request."""
    if not attributes.is_resource:
        message = f'forbidden: User "{user.name}" cannot {attributes.verb} path "{attributes.path}"'
        return ApiError(403, "Forbidden", message, details={})
    resource = attributes.resource + (
        f"/{attributes.subresource}" if attributes.subresource else ""
    )
    where = (
        f'in the namespace "{attributes.namespace}"'
        if attributes.namespace
        else "at the cluster scope"
    )
    subject = group_resource(attributes.group, attributes.resource)
    if attributes.name:
        subject += f' "{attributes.name}"'
    message = (
        f'{subject} is forbidden: User "{user.name}" cannot {attributes.verb} resource '
        f'"{resource}" in API group "{attributes.group}" {where}'
    )
    details: Obj = {}
    if attributes.name:
        details["name"] = attributes.name
    if attributes.group:
        details["group"] = attributes.group
    details["kind"] = attributes.resource
    return ApiError(403, "Forbidden", message, details=details)
