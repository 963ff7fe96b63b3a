"""What the cluster must say before a Canary may act (issue 10, rows 3 and 6), against the real
API server.

Covers: a Canary on its own target, with a signing Secret labelled for signing, has nothing
refused; one whose target is another Canary's primary is refused naming it; one whose hooks name
a Secret without the ``serinus.io/signing`` label is refused once per such hook, naming the hook,
the Secret and the label, while a Secret that does not exist is left to the hook to report.
"""

from __future__ import annotations

import base64

from serinus.kube import KubeResources, KubeStatusStore
from serinus.operator import admission
from tests.operator.support import NS, Cluster, canary, deployment


def _secret(name: str, labels: dict[str, str] | None = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
        "data": {"key": base64.b64encode(b"value").decode()},
    }


def _signed(name: str, target: str, *secrets: str) -> dict:
    manifest = canary(name)
    manifest["spec"]["targetRef"]["name"] = target
    manifest["spec"]["analysis"]["webhooks"] = [
        {"name": f"h{i}", "type": "event", "url": "http://x/", "signingSecretRef": {"name": s}}
        for i, s in enumerate(secrets)
    ]
    return manifest


async def _refusals(k8s: Cluster, name: str) -> list[str]:
    found = await KubeStatusStore(k8s.kube).get(NS, name)
    assert found is not None
    return await admission.refusals(k8s.kube, KubeResources(k8s.kube), found)


async def test_what_a_canary_may_and_may_not_reach(k8s: Cluster) -> None:
    kube = k8s.kube
    await kube.create(deployment("app1"))
    await kube.create(_secret("hook-key", {"serinus.io/signing": "true"}))
    await kube.create(_secret("db-creds"))
    await kube.create(_signed("app1", "app1", "hook-key", "absent"))
    assert await _refusals(k8s, "app1") == []

    await kube.create(_signed("oracle", "app1-primary", "db-creds", "hook-key", "db-creds"))
    primary = deployment("app1-primary")
    app1 = await kube.get("flagger.app/v1beta1", "Canary", "app1", NS)
    assert app1 is not None
    primary["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "Canary",
            "name": "app1",
            "uid": app1["metadata"]["uid"],
            "controller": True,
        }
    ]
    await kube.create(primary)
    not_labelled = (
        "signingSecretRef: Secret prod/db-creds is not labelled serinus.io/signing=true; serinus "
        "signs only with Secrets made for it (label the Secret if its value is a signing key)"
    )
    assert await _refusals(k8s, "oracle") == [
        "spec.targetRef: Deployment prod/app1-primary is the primary copy that Canary prod/app1 "
        "keeps; a Canary releases the workload people deploy, so point spec.targetRef at that "
        "Canary's own target, or leave this workload to it",
        f"webhook h0: {not_labelled}",
        f"webhook h2: {not_labelled}",
    ]
