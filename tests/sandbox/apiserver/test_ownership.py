"""Field ownership of every write, as kubectl shows it (``--show-managed-fields``).

Covers: a client-side apply and a patch are recorded as ``Update`` managers under their field
manager, each owning the fields it set or changed; a status patch is recorded with
``subresource: status``; a server-side apply after ``kubectl patch --field-manager=editor`` of a
field the applier owns is a 409 naming "editor" (the GitOps applier's fight with a hand edit),
``--force-conflicts`` takes the field back; a patch that changes a field takes it over from the
applier without a conflict; a field removed by an update leaves every manager.
"""

from __future__ import annotations

from typing import Any

import yaml

from tests.sandbox.apiserver.support import Kubectl, deployment, namespace


async def managed(kubectl: Kubectl, name: str = "podinfo") -> dict[str, dict[str, Any]]:
    out = await kubectl.run(
        "-n", "prod", "get", "deploy", name, "-o", "json", "--show-managed-fields"
    )
    return {
        (entry["manager"] + ("/" + entry["subresource"] if "subresource" in entry else "")): entry
        for entry in out.json()["metadata"]["managedFields"]
    }


async def test_updates_are_recorded_per_manager(kubectl: Kubectl) -> None:
    await kubectl.apply(namespace("prod"), deployment())
    await kubectl.run(
        "-n", "prod", "patch", "deploy", "podinfo", "--type", "merge",
        "--field-manager=editor", "-p", '{"spec":{"replicas":5}}',
    )  # fmt: skip
    await kubectl.run(
        "-n", "prod", "patch", "deploy", "podinfo", "--subresource=status", "--type", "merge",
        "-p", '{"status":{"observedGeneration":2}}',
    )  # fmt: skip
    entries = await managed(kubectl)
    applier = entries["kubectl-client-side-apply"]
    assert applier["operation"] == "Update"
    assert applier["apiVersion"] == "apps/v1"
    assert "f:template" in applier["fieldsV1"]["f:spec"]
    assert "f:replicas" not in applier["fieldsV1"]["f:spec"]  # taken over by the patch
    assert entries["editor"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert entries["kubectl-patch/status"]["fieldsV1"] == {"f:status": {"f:observedGeneration": {}}}


async def test_apply_after_an_edit_conflicts_with_the_editor(kubectl: Kubectl) -> None:
    await kubectl.apply(namespace("prod"))
    flux = ("--server-side", "--field-manager=flux")
    await kubectl.apply(deployment(), extra=flux)
    await kubectl.run(
        "-n", "prod", "patch", "deploy", "podinfo", "--type", "merge",
        "--field-manager=editor", "-p", '{"spec":{"replicas":5}}',
    )  # fmt: skip
    refused = await kubectl.run(
        "apply", *flux, "-f", "-", stdin=yaml.safe_dump(deployment()), check=False
    )
    assert refused.returncode == 1
    assert 'conflict with "editor" using apps/v1: .spec.replicas' in refused.stderr
    got = await kubectl.run("-n", "prod", "get", "deploy", "podinfo", "-o", "json")
    assert got.json()["spec"]["replicas"] == 5
    await kubectl.apply(deployment(), extra=(*flux, "--force-conflicts"))
    entries = await managed(kubectl)
    assert "editor" not in entries  # it owned nothing else
    assert entries["flux"]["operation"] == "Apply"
    assert "f:replicas" in entries["flux"]["fieldsV1"]["f:spec"]
    got = await kubectl.run("-n", "prod", "get", "deploy", "podinfo", "-o", "json")
    assert got.json()["spec"]["replicas"] == 2


async def test_an_update_removing_a_field_takes_it_from_every_manager(kubectl: Kubectl) -> None:
    await kubectl.apply(namespace("prod"))
    labelled = deployment()
    labelled["metadata"]["labels"]["team"] = "web"
    await kubectl.apply(labelled, extra=("--server-side", "--field-manager=flux"))
    await kubectl.run("-n", "prod", "label", "deploy", "podinfo", "team-")
    entries = await managed(kubectl)
    assert "f:team" not in entries["flux"]["fieldsV1"]["f:metadata"]["f:labels"]
    assert "kubectl-label" not in entries  # removing a field owns nothing
