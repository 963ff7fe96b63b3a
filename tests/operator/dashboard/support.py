"""What the dashboard tests share: a cluster with RBAC, ServiceAccount tokens, a running dashboard.

:func:`grant` binds a ServiceAccount to a Role over ``canaries`` in one namespace (the verbs
given), as a platform team would; :func:`token` issues its token through the API server's
``serviceaccounts/<name>/token`` (what ``kubectl create token`` calls).
"""

from __future__ import annotations

import httpx

from serinus.kube import Kube


async def grant(kube: Kube, namespace: str, account: str, verbs: list[str]) -> None:
    await kube.apply(
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": account, "namespace": namespace}}
    )  # fmt: skip
    await kube.apply({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": f"{account}-canaries", "namespace": namespace},
        "rules": [{"apiGroups": ["flagger.app"], "resources": ["canaries"], "verbs": verbs}],
    })  # fmt: skip
    await kube.apply({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": f"{account}-canaries", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                    "name": f"{account}-canaries"},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
    })  # fmt: skip


async def token(api_url: str, namespace: str, account: str) -> str:
    async with httpx.AsyncClient(base_url=api_url) as http:
        answered = await http.post(
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
        )
    answered.raise_for_status()
    return str(answered.json()["status"]["token"])


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}
