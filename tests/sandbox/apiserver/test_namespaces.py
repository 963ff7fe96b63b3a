"""What every namespace holds, as on a real cluster: the ``default`` ServiceAccount and the
``kube-root-ca.crt`` ConfigMap.

Covers: a namespace created with kubectl gets both at once (owned by kube-controller-manager);
the initial namespaces have them; every namespace carries the same CA, a real certificate
openssl can read; a restart with a state file keeps that CA for namespaces created afterwards.
"""

from __future__ import annotations

import asyncio
import pathlib
import subprocess

import httpx

from serinus.sandbox.apiserver import ApiServer
from tests.sandbox.apiserver.support import ROOT_CA, Kubectl, namespace


async def test_a_new_namespace_gets_its_service_account_and_ca(kubectl: Kubectl) -> None:
    await kubectl.apply(namespace("team"))
    out = await kubectl.run("-n", "team", "get", "sa,cm", "-o", "name")
    assert out.stdout.split() == ["serviceaccount/default", f"configmap/{ROOT_CA}"]
    shown = ("-o", "json", "--show-managed-fields")
    ca = (await kubectl.run("-n", "team", "get", "cm", ROOT_CA, *shown)).json()
    assert ca["metadata"]["managedFields"][0]["manager"] == "kube-controller-manager"
    pem = ca["data"]["ca.crt"]
    subject = await asyncio.to_thread(
        subprocess.run,
        ["openssl", "x509", "-noout", "-subject"],
        input=pem,
        capture_output=True,
        text=True,
    )
    assert subject.returncode == 0, subject.stderr
    assert "serinus-sandbox-ca" in subject.stdout
    initial = (await kubectl.run("-n", "default", "get", "cm", ROOT_CA, "-o", "json")).json()
    assert initial["data"]["ca.crt"] == pem


async def test_the_ca_survives_a_restart(tmp_path: pathlib.Path) -> None:
    state = tmp_path / "state.json"
    async with (
        ApiServer(port=0, state=state, persist_delay=0) as api,
        httpx.AsyncClient(base_url=api.url) as http,
    ):
        first = (await http.get(f"/api/v1/namespaces/default/configmaps/{ROOT_CA}")).json()
    async with (
        ApiServer(port=0, state=state, persist_delay=0) as api,
        httpx.AsyncClient(base_url=api.url) as http,
    ):
        await http.post("/api/v1/namespaces", json=namespace("later"))
        later = (await http.get(f"/api/v1/namespaces/later/configmaps/{ROOT_CA}")).json()
    assert later["data"]["ca.crt"] == first["data"]["ca.crt"]
