"""What a request asks for: dryRun validation.

Covers: ``dryRun=All`` runs a write without committing it; any other dryRun value is refused
with the real server's 422 naming the options kind of the verb (CreateOptions, PatchOptions,
DeleteOptions) and the supported value.
"""

from __future__ import annotations

import httpx

from tests.sandbox.apiserver.support import Kubectl, configmap, namespace

CONFIGMAPS = "/api/v1/namespaces/prod/configmaps"


async def test_dry_run_all_commits_nothing(kubectl: Kubectl, http: httpx.AsyncClient) -> None:
    await kubectl.apply(namespace("prod"))
    out = await kubectl.apply(configmap("a"), extra=("--dry-run=server",))
    assert "(server dry run)" in out.stdout
    assert (await http.get(f"{CONFIGMAPS}/a")).status_code == 404


async def test_unknown_dry_run_values_are_refused(http: httpx.AsyncClient) -> None:
    await http.post("/api/v1/namespaces", json=namespace("prod"))
    created = await http.post(CONFIGMAPS, params={"dryRun": "Bogus"}, json=configmap("a"))
    assert created.status_code == 422
    assert created.json()["message"] == (
        'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: '
        '[]string{"Bogus"}: supported values: "All"'
    )
    assert created.json()["details"]["causes"] == [
        {
            "reason": "FieldValueNotSupported",
            "message": 'Unsupported value: []string{"Bogus"}: supported values: "All"',
            "field": "dryRun",
        }
    ]
    await http.post(CONFIGMAPS, json=configmap("a"))
    patched = await http.patch(
        f"{CONFIGMAPS}/a",
        params={"dryRun": "all"},
        content=b"{}",
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 422
    assert patched.json()["details"]["kind"] == "PatchOptions"
    deleted = await http.delete(f"{CONFIGMAPS}/a", params={"dryRun": "Bogus"})
    assert deleted.status_code == 422
    assert (await http.get(f"{CONFIGMAPS}/a")).status_code == 200
