"""Impersonation: ``kubectl --as``, ``--as-group`` and ``--as-uid`` act as another user.

A request carrying ``Impersonate-User`` (and optionally ``Impersonate-Group``, ``Impersonate-Uid``
and ``Impersonate-Extra-<key>``) runs as the user it names once RBAC allows the caller the verb
``impersonate`` on each thing it asks for, as the real server's impersonation filter does:
``serviceaccounts`` (in the account's namespace) for a ``system:serviceaccount:<ns>:<name>``
user, ``users`` otherwise, ``groups`` per group, ``uids`` and ``userextras/<key>`` in
``authentication.k8s.io``. A refusal is that check's 403, in the real wording. Without
``Impersonate-Group`` a ServiceAccount gets its fixed groups; every impersonated user but
``system:anonymous`` is in ``system:authenticated`` unless ``system:unauthenticated`` was asked
for. Groups, extras or a uid without a user are refused (500, as on a real server).

Without this, ``kubectl auth can-i --as=system:serviceaccount:linkerd:serinus`` would answer for
the kubeconfig's admin, "yes" to everything, which is exactly the check a platform engineer runs
on a chart's RBAC.
"""

from __future__ import annotations

import urllib.parse

from multidict import MultiMapping

from serinus.sandbox.apiserver import rbac
from serinus.sandbox.apiserver.cluster import Cluster
from serinus.sandbox.apiserver.identity import User, service_account_user
from serinus.sandbox.apiserver.status import internal

USER = "Impersonate-User"
GROUP = "Impersonate-Group"
UID = "Impersonate-Uid"
EXTRA = "Impersonate-Extra-"
_ACCOUNT = "system:serviceaccount:"
_ANONYMOUS = "system:anonymous"
_AUTHENTICATED = "system:authenticated"
_UNAUTHENTICATED = "system:unauthenticated"
_AUTHENTICATION = "authentication.k8s.io"


def _extras(headers: MultiMapping[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name in set(headers.keys()):
        if name.lower().startswith(EXTRA.lower()):
            key = urllib.parse.unquote(name[len(EXTRA) :]).lower()
            found[key] = list(headers.getall(name, []))
    return found


def _account(username: str) -> tuple[str, str] | None:
    """(namespace, name) of a ServiceAccount's username, else None."""
    if not username.startswith(_ACCOUNT):
        return None
    namespace, _, name = username[len(_ACCOUNT) :].partition(":")
    return (namespace, name) if namespace and name and ":" not in name else None


def _asked(
    username: str, groups: list[str], uid: str, extras: dict[str, list[str]]
) -> list[rbac.Attributes]:
    """What the caller must be allowed to impersonate, one authorization check each."""
    account = _account(username)
    if account is not None:
        asked = [rbac.Attributes("impersonate", "serviceaccounts", "", *account)]
    else:
        asked = [rbac.Attributes("impersonate", "users", name=username)]
    asked += [rbac.Attributes("impersonate", "groups", name=group) for group in groups]
    if uid:
        asked.append(rbac.Attributes("impersonate", "uids", _AUTHENTICATION, name=uid))
    asked += [
        rbac.Attributes("impersonate", "userextras", _AUTHENTICATION, name=value, subresource=key)
        for key, values in extras.items()
        for value in values
    ]
    return asked


def impersonate(cluster: Cluster, caller: User, headers: MultiMapping[str]) -> User:
    """The user a request acts as: ``caller``, or whom its headers impersonate when allowed."""
    username = headers.get(USER) or ""
    groups = list(headers.getall(GROUP, []))
    uid = headers.get(UID) or ""
    extras = _extras(headers)
    if not (username or groups or uid or extras):
        return caller
    if not username:
        asked = [kind for kind, wanted in (("groups", groups), ("extras", extras), ("a uid", uid))
                 if wanted]  # fmt: skip
        raise internal(f"requested {', '.join(asked)} without impersonating a user")
    for attributes in _asked(username, groups, uid, extras):
        if not rbac.allowed(cluster, caller, attributes):
            raise rbac.forbidden(caller, attributes)
    account = _account(username)
    if account is not None and not groups:
        groups = list(service_account_user(*account).groups[:2])
    if username == _ANONYMOUS:
        if _UNAUTHENTICATED not in groups:
            groups.append(_UNAUTHENTICATED)
    elif _AUTHENTICATED not in groups and _UNAUTHENTICATED not in groups:
        groups.append(_AUTHENTICATED)
    return User(username, tuple(groups), uid, extras)
