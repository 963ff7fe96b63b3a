"""Helm against the API server alone: what Helm sends (protobuf release Secrets, its list, watch,
get and patch calls) goes through.

Covers: the README's ``helm upgrade --install`` of the operator chart installs it (release
Secret ``sh.helm.release.v1.serinus.v1`` of type ``helm.sh/release.v1``), a second run upgrades
it, one with another value changes the Deployment's args, ``helm rollback`` goes back,
``helm history`` lists the four revisions, ``helm uninstall`` removes the chart's objects and
its release Secrets.
"""

from __future__ import annotations

import asyncio
import os
import shutil

from tests.sandbox.apiserver.support import REPO, Kubectl, namespace

CHART = ("deploy/charts/serinus", "--namespace", "linkerd", "--set", "meshProvider=linkerd")


async def helm(kubectl: Kubectl, *args: str) -> str:
    binary = shutil.which("helm")
    assert binary is not None, "helm is not installed (scripts/system-packages.sh installs it)"
    process = await asyncio.create_subprocess_exec(
        binary, *args, cwd=REPO,
        env={**os.environ, "KUBECONFIG": str(kubectl.kubeconfig), "HELM_CACHE_HOME": str(
            kubectl.cache / "helm"), "HELM_CONFIG_HOME": str(kubectl.cache / "helm-config")},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, f"helm {' '.join(args)}: {out.decode()}"
    return out.decode()


async def args_of(kubectl: Kubectl) -> list[str]:
    deployment = await kubectl.run("-n", "linkerd", "get", "deploy", "serinus", "-o", "json")
    found: list[str] = deployment.json()["spec"]["template"]["spec"]["containers"][0]["args"]
    return found


async def test_helm_installs_upgrades_rolls_back_and_uninstalls(kubectl: Kubectl) -> None:
    await kubectl.apply(namespace("linkerd"))
    await helm(kubectl, "upgrade", "--install", "serinus", *CHART)
    secret = await kubectl.run("-n", "linkerd", "get", "secret", "sh.helm.release.v1.serinus.v1",
                               "-o", "json")  # fmt: skip
    assert secret.json()["type"] == "helm.sh/release.v1"
    await helm(kubectl, "upgrade", "--install", "serinus", *CHART)
    await helm(kubectl, "upgrade", "--install", "serinus", *CHART, "--set", "logLevel=debug")
    assert "--log-level=debug" in await args_of(kubectl)
    await helm(kubectl, "rollback", "serinus", "1", "-n", "linkerd")
    assert "--log-level=info" in await args_of(kubectl)
    history = await helm(kubectl, "history", "serinus", "-n", "linkerd")
    assert [line.split()[0] for line in history.splitlines()[1:]] == ["1", "2", "3", "4"]
    await helm(kubectl, "uninstall", "serinus", "-n", "linkerd")
    left = await kubectl.run("-n", "linkerd", "get", "deploy,svc,sa,secret", "-o", "name")
    assert left.stdout.split() == ["serviceaccount/default"]
    roles = await kubectl.run("get", "clusterrole,clusterrolebinding", "-o", "name")
    assert "serinus" not in roles.stdout
