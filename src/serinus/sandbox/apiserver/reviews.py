"""The authentication and authorization APIs: reviews answered at once, and ServiceAccount tokens.

* ``SelfSubjectAccessReview`` (``kubectl auth can-i``), ``SubjectAccessReview`` and
  ``LocalSubjectAccessReview``: may this user do this? (``rbac``), for the caller or for the user
  and groups in the spec; ``SelfSubjectRulesReview`` (``can-i --list``): the caller's rules in a
  namespace;
* ``SelfSubjectReview`` (``kubectl auth whoami``): who the caller is;
* ``TokenReview``: who a bearer token belongs to (a dashboard authenticating its callers);
* ``serviceaccounts/<name>/token`` (``kubectl create token``): a token for a ServiceAccount.

Reviews are created and answered, never stored, as on a real server (201 with the status filled).
"""

from __future__ import annotations

from time import gmtime, strftime

from serinus.sandbox.apiserver import rbac
from serinus.sandbox.apiserver.cluster import Cluster
from serinus.sandbox.apiserver.identity import DEFAULT_AUDIENCE, Tokens, User
from serinus.sandbox.apiserver.objects import Obj, as_map, deep_copy, metadata
from serinus.sandbox.apiserver.resources import ResourceType
from serinus.sandbox.apiserver.status import ApiError, Cause, bad_request, invalid, not_found

_AUTHZ = "authorization.k8s.io"
_AUTHN = "authentication.k8s.io"
_DEFAULT_SECONDS = 3600
_MIN_SECONDS = 600


def _attributes(spec: Obj, namespace: str) -> rbac.Attributes:
    resource = as_map(spec.get("resourceAttributes"))
    if resource:
        return rbac.Attributes(
            verb=str(resource.get("verb", "")),
            resource=str(resource.get("resource", "")),
            group=str(resource.get("group", "")),
            namespace=namespace or str(resource.get("namespace", "")),
            name=str(resource.get("name", "")),
            subresource=str(resource.get("subresource", "")),
        )
    other = as_map(spec.get("nonResourceAttributes"))
    if other:
        return rbac.Attributes(verb=str(other.get("verb", "")), path=str(other.get("path", "")))
    raise invalid(
        _AUTHZ,
        "SubjectAccessReview",
        "",
        [
            Cause(
                "spec.resourceAttributes",
                "FieldValueInvalid",
                'Invalid value: "null": exactly one of nonResourceAttributes or '
                "resourceAttributes must be specified",
            )
        ],
    )


def _access(cluster: Cluster, user: User, spec: Obj, namespace: str) -> Obj:
    attributes = _attributes(spec, namespace)
    if rbac.allowed(cluster, user, attributes):
        reason = "" if user.superuser else "allowed by RBAC"
        return {"allowed": True, **({"reason": reason} if reason else {})}
    return {"allowed": False}


def answer(
    cluster: Cluster,
    tokens: Tokens,
    caller: User,
    resource: ResourceType,
    namespace: str,
    body: Obj,
) -> Obj:
    """The review ``body`` with its status filled in for ``caller``."""
    review = deep_copy(body)
    review["apiVersion"], review["kind"] = resource.api_version, resource.kind
    metadata(review).pop("resourceVersion", None)
    spec = as_map(review.get("spec"))
    kind = resource.kind
    if kind == "SelfSubjectAccessReview":
        review["status"] = _access(cluster, caller, spec, "")
    elif kind in ("SubjectAccessReview", "LocalSubjectAccessReview"):
        groups = tuple(str(g) for g in spec.get("groups") or [])
        subject = User(str(spec.get("user", "")), groups, str(spec.get("uid", "")))
        if not subject.name and not groups:
            raise bad_request("at least one of user or group must be specified")
        scoped = namespace if kind == "LocalSubjectAccessReview" else ""
        review["status"] = _access(cluster, subject, spec, scoped)
    elif kind == "SelfSubjectRulesReview":
        review["status"] = _rules(cluster, caller, str(spec.get("namespace", "")))
    elif kind == "SelfSubjectReview":
        review["status"] = {"userInfo": caller.info()}
    elif kind == "TokenReview":
        review["status"] = _token_review(tokens, spec)
    else:
        raise bad_request(f"{kind} cannot be created")
    return review


def _rules(cluster: Cluster, user: User, namespace: str) -> Obj:
    if user.superuser:
        everything = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
        open_paths = {"verbs": ["*"], "nonResourceURLs": ["*"]}
        return {
            "resourceRules": [everything],
            "nonResourceRules": [open_paths],
            "incomplete": False,
        }
    rules = rbac.rules_for(cluster, user, namespace)
    resource_rules, other_rules = [], []
    for rule in rules:
        if rule.get("nonResourceURLs"):
            other_rules.append(
                {"verbs": rule.get("verbs"), "nonResourceURLs": rule["nonResourceURLs"]}
            )
        else:
            kept = {k: rule.get(k) for k in ("verbs", "apiGroups", "resources", "resourceNames")}
            resource_rules.append({k: v for k, v in kept.items() if v})
    return {"resourceRules": resource_rules, "nonResourceRules": other_rules, "incomplete": False}


def _token_review(tokens: Tokens, spec: Obj) -> Obj:
    audiences = [str(a) for a in spec.get("audiences") or []]
    try:
        user, granted = tokens.review(str(spec.get("token", "")), audiences or None)
    except ApiError:
        return {"authenticated": False, "error": "invalid bearer token", "user": {}}
    return {
        "authenticated": True,
        "user": user.info(),
        "audiences": audiences or granted,
    }


def token_request(cluster: Cluster, tokens: Tokens, namespace: str, name: str, body: Obj) -> Obj:
    """``POST serviceaccounts/<name>/token``: a TokenRequest with its token."""
    account = cluster.store.get("serviceaccounts", namespace, name)
    if account is None:
        raise not_found("", "serviceaccounts", name)
    spec = as_map(body.get("spec"))
    audiences = [str(a) for a in spec.get("audiences") or []] or [DEFAULT_AUDIENCE]
    seconds = int(spec.get("expirationSeconds") or _DEFAULT_SECONDS)
    if seconds < _MIN_SECONDS:
        raise invalid(
            _AUTHN,
            "TokenRequest",
            name,
            [
                Cause(
                    "spec.expirationSeconds",
                    "FieldValueInvalid",
                    f"Invalid value: {seconds}: may not specify a duration less than 10 minutes",
                )
            ],
        )
    token, expires = tokens.issue(account, audiences=audiences, seconds=seconds)
    return {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": None},
        "status": {
            "token": token,
            "expirationTimestamp": strftime("%Y-%m-%dT%H:%M:%SZ", gmtime(expires)),
        },
    }
