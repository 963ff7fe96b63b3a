"""Authentication, RBAC and the review APIs, as a dashboard and kubectl use them.

Covers: ``kubectl auth can-i`` and ``kubectl auth whoami`` for the kubeconfig's admin (allowed
everything); ``kubectl create token`` issues a ServiceAccount token that TokenReview maps to the
ServiceAccount's user and groups, and that stops working when the account is deleted; a request
with that token is refused (403, the real wording) until a RoleBinding grants it, and then only
in that namespace; a ClusterRoleBinding grants everywhere; resourceNames and subresources in
rules; an aggregated ClusterRole; SubjectAccessReview and LocalSubjectAccessReview for another
user; SelfSubjectRulesReview lists the caller's rules; a bad token is a 401; kubectl sends its
``--token`` over the TLS port (the ``serinus-sandbox-tls`` context, a certificate from the
cluster CA), where ``auth whoami``, ``auth can-i`` and a refused ``get`` show the ServiceAccount.
"""

from __future__ import annotations

import pathlib
from typing import Any

import httpx

from serinus.sandbox.apiserver import ApiServer
from tests.sandbox.apiserver.support import Kubectl, namespace

AUTHZ = "/apis/authorization.k8s.io/v1"
AUTHN = "/apis/authentication.k8s.io/v1"


def role(name: str, ns: str, rules: list[dict[str, Any]], cluster: bool = False) -> dict[str, Any]:
    kind = "ClusterRole" if cluster else "Role"
    meta = {"name": name} if cluster else {"name": name, "namespace": ns}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
            "rules": rules}  # fmt: skip


def binding(name: str, ns: str, role_kind: str, role_name: str, cluster: bool = False) -> Any:
    kind = "ClusterRoleBinding" if cluster else "RoleBinding"
    meta = {"name": name} if cluster else {"name": name, "namespace": ns}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "team"}],
    }


async def robot_token(kubectl: Kubectl) -> str:
    await kubectl.apply(namespace("team"), namespace("other"))
    await kubectl.run("-n", "team", "create", "serviceaccount", "robot")
    return (await kubectl.run("-n", "team", "create", "token", "robot")).stdout.strip()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_admin_may_do_everything(kubectl: Kubectl) -> None:
    assert (await kubectl.run("auth", "can-i", "delete", "nodes")).stdout.strip() == "yes"
    who = (await kubectl.run("auth", "whoami", "-o", "json")).json()
    assert who["status"]["userInfo"]["username"] == "kubernetes-admin"
    assert "system:masters" in who["status"]["userInfo"]["groups"]


async def test_token_review_names_the_service_account(
    kubectl: Kubectl, http: httpx.AsyncClient
) -> None:
    token = await robot_token(kubectl)
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
              "spec": {"token": token}}  # fmt: skip
    answered = await http.post(f"{AUTHN}/tokenreviews", json=review)
    assert answered.status_code == 201
    status = answered.json()["status"]
    assert status["authenticated"] is True
    assert status["user"]["username"] == "system:serviceaccount:team:robot"
    assert set(status["user"]["groups"]) == {
        "system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated",
    }  # fmt: skip
    bad = await http.post(f"{AUTHN}/tokenreviews", json={**review, "spec": {"token": "x.y.z"}})
    assert bad.json()["status"]["authenticated"] is False
    await kubectl.run("-n", "team", "delete", "serviceaccount", "robot")
    gone = await http.post(f"{AUTHN}/tokenreviews", json=review)
    assert gone.json()["status"]["authenticated"] is False
    refused = await http.get("/api/v1/namespaces/team/pods", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["reason"] == "Unauthorized"


async def test_rbac_grants_only_what_bindings_say(
    kubectl: Kubectl, http: httpx.AsyncClient
) -> None:
    token = await robot_token(kubectl)
    headers = bearer(token)
    denied = await http.get("/api/v1/namespaces/team/configmaps", headers=headers)
    assert denied.status_code == 403
    assert denied.json()["message"] == (
        'configmaps is forbidden: User "system:serviceaccount:team:robot" cannot list resource '
        '"configmaps" in API group "" in the namespace "team"'
    )
    rules = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
             {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["patch"],
              "resourceNames": ["web"]}]  # fmt: skip
    await kubectl.apply(role("reader", "team", rules), binding("read", "team", "Role", "reader"))
    assert (await http.get("/api/v1/namespaces/team/configmaps", headers=headers)).is_success
    elsewhere = await http.get("/api/v1/namespaces/other/configmaps", headers=headers)
    assert elsewhere.status_code == 403
    writing = await http.post(
        "/api/v1/namespaces/team/configmaps", json={"metadata": {"name": "x"}}, headers=headers
    )
    assert writing.status_code == 403
    everywhere = role("pod-reader", "", [{"apiGroups": [""], "resources": ["pods"],
                                          "verbs": ["list"]}], cluster=True)  # fmt: skip
    await kubectl.apply(everywhere, binding("pods", "", "ClusterRole", "pod-reader", cluster=True))
    assert (await http.get("/api/v1/pods", headers=headers)).is_success

    async def may(verb: str, resource: str, **extra: str) -> bool:
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "spec": {"resourceAttributes": {"verb": verb, "resource": resource,
                                                  "namespace": "team", **extra}}}  # fmt: skip
        answer = await http.post(f"{AUTHZ}/selfsubjectaccessreviews", json=review, headers=headers)
        assert answer.status_code == 201
        allowed: bool = answer.json()["status"]["allowed"]
        return allowed

    scale = {"group": "apps", "subresource": "scale"}
    assert await may("patch", "deployments", name="web", **scale)
    assert not await may("patch", "deployments", name="api", **scale)
    assert not await may("patch", "deployments", name="web")
    who = await http.post(f"{AUTHN}/selfsubjectreviews", json={}, headers=headers)
    assert who.json()["status"]["userInfo"]["username"] == "system:serviceaccount:team:robot"
    listed = await http.post(
        f"{AUTHZ}/selfsubjectrulesreviews", json={"spec": {"namespace": "team"}}, headers=headers
    )
    resources = {r for rule in listed.json()["status"]["resourceRules"] for r in rule["resources"]}
    assert resources == {"configmaps", "deployments/scale", "pods"}


async def test_subject_access_reviews_and_aggregation(
    kubectl: Kubectl, http: httpx.AsyncClient
) -> None:
    await kubectl.apply(namespace("team"))
    aggregate = role("view-canaries", "", [], cluster=True)
    aggregate["aggregationRule"] = {
        "clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate-to-view": "true"}}]
    }
    part = role("canaries", "", [{"apiGroups": ["flagger.app"], "resources": ["canaries"],
                                  "verbs": ["get"]}], cluster=True)  # fmt: skip
    part["metadata"]["labels"] = {"example.com/aggregate-to-view": "true"}
    bound = binding("viewers", "team", "ClusterRole", "view-canaries")
    bound["subjects"] = [
        {"kind": "Group", "name": "viewers", "apiGroup": "rbac.authorization.k8s.io"}
    ]
    await kubectl.apply(aggregate, part, bound)
    attributes = {"verb": "get", "group": "flagger.app", "resource": "canaries",
                  "namespace": "team"}  # fmt: skip
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"user": "jane", "groups": ["viewers"],
                       "resourceAttributes": attributes}}  # fmt: skip
    answer = await http.post(f"{AUTHZ}/subjectaccessreviews", json=review)
    assert answer.json()["status"]["allowed"] is True
    review["spec"]["groups"] = ["others"]
    assert (await http.post(f"{AUTHZ}/subjectaccessreviews", json=review)).json()["status"][
        "allowed"
    ] is False
    local = {**review, "kind": "LocalSubjectAccessReview"}
    local["spec"] = {**review["spec"], "groups": ["viewers"]}
    url = f"{AUTHZ}/namespaces/other/localsubjectaccessreviews"
    await kubectl.apply(namespace("other"))
    assert (await http.post(url, json=local)).json()["status"]["allowed"] is False


async def test_kubectl_with_a_token_over_the_tls_port(tmp_path: pathlib.Path) -> None:
    async with ApiServer(port=0, secure_port=0) as api:
        kubectl = Kubectl(api.write_kubeconfig(tmp_path / "kubeconfig"), tmp_path / "cache")
        token = await robot_token(kubectl)
        tls = ("--context", "serinus-sandbox-tls", "--token", token)
        who = (await kubectl.run(*tls, "auth", "whoami", "-o", "json")).json()
        assert who["status"]["userInfo"]["username"] == "system:serviceaccount:team:robot"
        assert (await kubectl.run(*tls, "auth", "can-i", "list", "pods", "-n", "team",
                                  check=False)).stdout.strip() == "no"  # fmt: skip
        denied = await kubectl.run(*tls, "-n", "team", "get", "pods", check=False)
        assert "Error from server (Forbidden): pods is forbidden" in denied.stderr
        await kubectl.apply(binding("admin", "team", "ClusterRole", "admin-all"),
                            role("admin-all", "", [{"apiGroups": ["*"], "resources": ["*"],
                                                    "verbs": ["*"]}], cluster=True))  # fmt: skip
        assert (await kubectl.run(*tls, "-n", "team", "get", "pods")).returncode == 0
