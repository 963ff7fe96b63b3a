"""The sandbox's GitOps applier against a real API server and a real repository (covers
``serinus/sandbox/gitops/``).

Covers:
- a first commit of plain manifests is applied: each object labelled with the Kustomization,
  owned by field manager ``kustomize-controller`` (operation Apply); the Kustomization says
  ``Applied revision: main@sha1:<commit>`` (Ready True, ReconciliationSucceeded) with the
  inventory, the GitRepository the stored artifact; Events ``Progressing`` with the change set
  (``ConfigMap/prod/settings created``) and ``ReconciliationSucceeded`` ("Reconciliation finished
  in ..., next run in 1h0m0s");
- a commit that changes the image tag changes the Deployment (``configured``), one that removes a
  manifest prunes its object (``deleted``, in an Event of its own), unless it says ``prune:
  disabled`` (``skipped``); an object the repository never listed is left alone;
- a folder with its own kustomization.yaml is built with kustomize (an ``images:`` tag override);
- a commit with a file that is not Kubernetes YAML fails the build: Ready False, BuildFailed
  naming the file, a Warning Event, the last applied revision kept and nothing changed; the next
  good commit recovers;
- drift: a field the repository sets and someone else changed (``kubectl set image``'s manager)
  is set back on the next sync (asked with ``reconcile.fluxcd.io/requestedAt``, as ``flux
  reconcile`` does), while ``spec.replicas``, which the manifest leaves out, keeps the value
  another manager wrote (the operator's scale to zero survives);
- ``spec.suspend: true`` stops syncing until it is lifted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from serinus.kube import Kube
from serinus.sandbox.gitops import Applier
from tests.sandbox.gitops.conftest import Checkout

T = TypeVar("T")
KS = ("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "flux-system")
SOURCE = ("source.toolkit.fluxcd.io/v1", "GitRepository", "flux-system", "flux-system")


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, seconds: float = 20) -> T:
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}")


def podinfo(tag: str, **spec: Any) -> dict[str, Any]:
    """podinfo as the README's GitOps walk commits it: no replicas."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "podinfo", "namespace": "prod"},
        "spec": {
            "selector": {"matchLabels": {"app": "podinfo"}},
            "template": {
                "metadata": {"labels": {"app": "podinfo"}},
                "spec": {
                    "containers": [{"name": "podinfo", "image": f"stefanprodan/podinfo:{tag}"}]
                },
            },
            **spec,
        },
    }


def settings(**annotations: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "settings", "namespace": "prod"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"a": "1"}}


async def ready(kube: Kube) -> dict[str, Any]:
    found = await kube.get(*KS)
    assert found is not None
    return next(c for c in found["status"]["conditions"] if c["type"] == "Ready")


async def applied(kube: Kube, commit: str) -> dict[str, Any] | None:
    found = await kube.get(*KS)
    status = (found or {}).get("status") or {}
    return found if status.get("lastAppliedRevision") == f"main@sha1:{commit}" else None


async def events(kube: Kube) -> list[dict[str, Any]]:
    found = [
        e
        for e in await kube.list("v1", "Event", "flux-system")
        if e["involvedObject"]["kind"] == "Kustomization"
    ]
    return sorted(found, key=lambda e: e["metadata"]["name"])


def image(deployment: dict[str, Any] | None) -> str:
    return str((deployment or {})["spec"]["template"]["spec"]["containers"][0]["image"])


async def test_commits_are_applied_pruned_and_reported(
    kube: Kube, checkout: Checkout, applier: Applier
) -> None:
    checkout.write("podinfo.yaml", podinfo("2.1.0"))
    checkout.write("settings.yaml", settings())
    checkout.write("kept.yaml", settings(**{"kustomize.toolkit.fluxcd.io/prune": "disabled"}))
    (checkout.path / "kept.yaml").write_text(
        (checkout.path / "kept.yaml").read_text().replace("name: settings", "name: kept")
    )
    first = checkout.commit("prep podinfo")
    ks = await eventually(lambda: applied(kube, first), "the first commit applied")
    assert await ready(kube) | {"lastTransitionTime": ""} == {
        "type": "Ready",
        "status": "True",
        "reason": "ReconciliationSucceeded",
        "message": f"Applied revision: main@sha1:{first}",
        "lastTransitionTime": "",
    }
    assert {e["id"] for e in ks["status"]["inventory"]["entries"]} == {
        "prod_podinfo_apps_Deployment",
        "prod_settings__ConfigMap",
        "prod_kept__ConfigMap",
    }
    source = await kube.get(*SOURCE)
    assert source is not None
    assert source["status"]["artifact"]["revision"] == f"main@sha1:{first}"
    assert source["spec"]["url"] == checkout.path.as_uri()
    deployment = await kube.get("apps/v1", "Deployment", "podinfo", "prod")
    assert deployment is not None
    assert deployment["metadata"]["labels"] == {
        "kustomize.toolkit.fluxcd.io/name": "flux-system",
        "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
    }
    owners = {(m["manager"], m["operation"]) for m in deployment["metadata"]["managedFields"]}
    assert ("kustomize-controller", "Apply") in owners
    said = await eventually(lambda: _reasons(kube, 2), "two events")
    assert said[0]["reason"] == "Progressing"
    assert said[0]["message"].splitlines() == [
        "ConfigMap/prod/kept created",
        "ConfigMap/prod/settings created",
        "Deployment/prod/podinfo created",
    ]
    assert said[0]["source"]["component"] == "kustomize-controller"
    assert said[1]["reason"] == "ReconciliationSucceeded"
    assert said[1]["message"].startswith("Reconciliation finished in ")
    assert said[1]["message"].endswith(", next run in 1h0m0s")

    await kube.create(settings() | {"metadata": {"name": "other", "namespace": "prod"}})
    checkout.write("podinfo.yaml", podinfo("2.1.1"))
    checkout.remove("settings.yaml")
    checkout.remove("kept.yaml")
    second = checkout.commit("update podinfo")
    await eventually(lambda: applied(kube, second), "the second commit applied")
    assert image(await kube.get("apps/v1", "Deployment", "podinfo", "prod")).endswith(":2.1.1")
    assert await kube.get("v1", "ConfigMap", "settings", "prod") is None
    assert await kube.get("v1", "ConfigMap", "kept", "prod") is not None
    assert await kube.get("v1", "ConfigMap", "other", "prod") is not None
    changes = [e["message"] for e in await events(kube) if e["reason"] == "Progressing"]
    assert changes[-2:] == [
        "Deployment/prod/podinfo configured",
        "ConfigMap/prod/settings deleted\nConfigMap/prod/kept skipped",
    ]


async def _reasons(kube: Kube, count: int) -> list[dict[str, Any]] | None:
    found = await events(kube)
    return found if len(found) >= count else None


async def test_kustomize_folders_and_failed_builds(
    kube: Kube, checkout: Checkout, applier: Applier
) -> None:
    checkout.write("app/podinfo.yaml", podinfo("2.1.0"))
    checkout.write(
        "app/kustomization.yaml",
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": ["podinfo.yaml"],
            "images": [{"name": "stefanprodan/podinfo", "newTag": "2.1.2"}],
        },
    )
    first = checkout.commit("podinfo through kustomize")
    await eventually(lambda: applied(kube, first), "the kustomization applied")
    assert image(await kube.get("apps/v1", "Deployment", "podinfo", "prod")).endswith(":2.1.2")

    (checkout.path / "values.yaml").write_text("replicaCount: 2\n")
    broken = checkout.commit("a values file")

    async def build_failed() -> dict[str, Any] | None:
        condition = await ready(kube)
        return condition if condition["reason"] == "BuildFailed" else None

    condition = await eventually(build_failed, "BuildFailed")
    assert condition["status"] == "False"
    assert condition["message"] == (
        "failed to decode Kubernetes YAML from values.yaml: expected objects with apiVersion and "
        "kind"
    )
    ks = await kube.get(*KS)
    assert ks is not None
    assert ks["status"]["lastAppliedRevision"] == f"main@sha1:{first}"
    assert ks["status"]["lastAttemptedRevision"] == f"main@sha1:{broken}"
    warnings = [e for e in await events(kube) if e["type"] == "Warning"]
    assert [e["reason"] for e in warnings] == ["BuildFailed"]

    checkout.remove("values.yaml")
    fixed = checkout.commit("no values file")
    await eventually(lambda: applied(kube, fixed), "recovered")
    assert (await ready(kube))["status"] == "True"


async def test_drift_is_corrected_except_fields_the_repository_leaves_out(
    kube: Kube, checkout: Checkout, applier: Applier
) -> None:
    checkout.write("podinfo.yaml", podinfo("2.1.0"))
    first = checkout.commit("podinfo without replicas")
    await eventually(lambda: applied(kube, first), "applied")
    edit = {
        "spec": {
            "replicas": 0,
            "template": {
                "spec": {"containers": [{"name": "podinfo", "image": "stefanprodan/podinfo:9.9.9"}]}
            },
        }
    }
    await kube.patch("apps/v1", "Deployment", "podinfo", "prod", edit, patch_type="strategic")
    # `flux reconcile kustomization flux-system` sets this annotation; the applier syncs at once
    await kube.patch(*KS[:2], "flux-system", "flux-system", _requested("1"))

    async def handled() -> dict[str, Any] | None:
        found = await kube.get(*KS)
        return (
            found if (found or {}).get("status", {}).get("lastHandledReconcileAt") == "1" else None
        )

    await eventually(handled, "the reconcile request handled")
    deployment = await kube.get("apps/v1", "Deployment", "podinfo", "prod")
    assert image(deployment).endswith(":2.1.0")  # set back: the repository sets the image
    assert deployment is not None
    assert deployment["spec"]["replicas"] == 0  # kept: the repository leaves replicas out


async def test_a_suspended_kustomization_is_not_synced(
    kube: Kube, checkout: Checkout, applier: Applier
) -> None:
    checkout.write("podinfo.yaml", podinfo("2.1.0"))
    first = checkout.commit("first")
    await eventually(lambda: applied(kube, first), "applied")
    await kube.patch(*KS[:2], "flux-system", "flux-system", {"spec": {"suspend": True}})
    checkout.write("podinfo.yaml", podinfo("2.1.1"))
    second = checkout.commit("while suspended")
    await asyncio.sleep(1.0)  # ten looks at the branch
    assert await applied(kube, second) is None
    assert image(await kube.get("apps/v1", "Deployment", "podinfo", "prod")).endswith(":2.1.0")
    await kube.patch(*KS[:2], "flux-system", "flux-system", {"spec": {"suspend": False}})
    await eventually(lambda: applied(kube, second), "applied once resumed")


def _requested(value: str) -> dict[str, Any]:
    return {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": value}}}
