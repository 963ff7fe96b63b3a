"""Impersonation (covers ``serinus/sandbox/apiserver/impersonation.py``), with kubectl's ``--as``.

Covers: ``kubectl auth can-i --as=system:serviceaccount:NS:NAME`` answers for that ServiceAccount
(no until a binding grants it, then yes), which is how a platform engineer checks a chart's RBAC;
``auth whoami --as`` shows the ServiceAccount's fixed groups, or the ``--as-group`` groups and
``system:authenticated`` for a user; a request impersonating someone is refused with that user's
403; a caller may impersonate only what RBAC grants it the verb ``impersonate`` on (the real 403
wording otherwise, for users, groups and ServiceAccounts in their namespace); groups without a
user are refused.
"""

from __future__ import annotations

import httpx

from tests.sandbox.apiserver.support import Kubectl, namespace
from tests.sandbox.apiserver.test_rbac import bearer, binding, robot_token, role

ROBOT = "system:serviceaccount:team:robot"


async def test_can_i_as_a_service_account_answers_for_it(kubectl: Kubectl) -> None:
    await robot_token(kubectl)
    asked = ("auth", "can-i", "create", "events", f"--as={ROBOT}", "-n")
    refused = await kubectl.run(*asked, "team", check=False)
    assert (refused.returncode, refused.stdout.strip()) == (1, "no")
    rules = [{"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}]
    await kubectl.apply(role("events", "team", rules), binding("events", "team", "Role", "events"))
    assert (await kubectl.run(*asked, "team")).stdout.strip() == "yes"
    elsewhere = await kubectl.run(*asked, "other", check=False)
    assert elsewhere.stdout.strip() == "no"

    who = (await kubectl.run("auth", "whoami", "-o", "json", f"--as={ROBOT}")).json()
    assert who["status"]["userInfo"]["username"] == ROBOT
    assert who["status"]["userInfo"]["groups"] == [
        "system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated",
    ]  # fmt: skip
    denied = await kubectl.run("get", "configmaps", "-n", "team", f"--as={ROBOT}", check=False)
    assert denied.returncode == 1
    assert f'configmaps is forbidden: User "{ROBOT}" cannot list resource' in denied.stderr


async def test_a_user_with_groups(kubectl: Kubectl) -> None:
    who = await kubectl.run("auth", "whoami", "-o", "json", "--as=alice", "--as-group=devs")
    info = who.json()["status"]["userInfo"]
    assert (info["username"], info["groups"]) == ("alice", ["devs", "system:authenticated"])
    await kubectl.apply(namespace("team"))
    readers = role("reader", "", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
                   cluster=True)  # fmt: skip
    grant = binding("devs-read", "", "ClusterRole", "reader", cluster=True)
    grant["subjects"] = [{"kind": "Group", "name": "devs", "apiGroup": "rbac.authorization.k8s.io"}]
    await kubectl.apply(readers, grant)
    assert (await kubectl.run("get", "pods", "-A", "--as=alice", "--as-group=devs")).returncode == 0
    alone = await kubectl.run("get", "pods", "-A", "--as=alice", check=False)
    assert 'User "alice" cannot list resource "pods"' in alone.stderr


async def test_only_a_caller_allowed_to_impersonate_may(
    kubectl: Kubectl, http: httpx.AsyncClient
) -> None:
    headers = bearer(await robot_token(kubectl))
    as_alice = {**headers, "Impersonate-User": "alice"}
    refused = await http.get("/api/v1/namespaces/team/pods", headers=as_alice)
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        f'users "alice" is forbidden: User "{ROBOT}" cannot impersonate resource "users" in API '
        'group "" at the cluster scope'
    )
    as_account = {**headers, "Impersonate-User": "system:serviceaccount:linkerd:serinus"}
    refused = await http.get("/api/v1/namespaces/team/pods", headers=as_account)
    assert refused.json()["message"] == (
        f'serviceaccounts "serinus" is forbidden: User "{ROBOT}" cannot impersonate resource '
        '"serviceaccounts" in API group "" in the namespace "linkerd"'
    )

    rules = [{"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"],
              "resourceNames": ["alice"]}]  # fmt: skip
    grant = binding("as-alice", "", "ClusterRole", "as-alice", cluster=True)
    await kubectl.apply(role("as-alice", "", rules, cluster=True), grant)
    as_alice_review = await http.post(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews", json={}, headers=as_alice
    )
    assert as_alice_review.json()["status"]["userInfo"]["username"] == "alice"
    with_group = await http.get(
        "/api/v1/namespaces/team/pods", headers={**as_alice, "Impersonate-Group": "admins"}
    )
    assert with_group.status_code == 403
    assert with_group.json()["message"].startswith(
        f'groups "admins" is forbidden: User "{ROBOT}" cannot impersonate resource "groups"'
    )
    as_bob = {**headers, "Impersonate-User": "bob"}
    assert (await http.get("/api/v1/namespaces/team/pods", headers=as_bob)).status_code == 403

    no_user = await http.get("/api/v1/pods", headers={"Impersonate-Group": "devs"})
    assert no_user.status_code == 500
    assert no_user.json()["message"] == (
        "Internal error occurred: requested groups without impersonating a user"
    )
