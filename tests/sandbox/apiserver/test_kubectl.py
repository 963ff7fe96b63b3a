"""The machine's kubectl against the server, as a user drives a cluster.

Covers: client-side apply (created, unchanged, configured) and --server-side apply (with a field
manager and --force-conflicts) without --validate=false; get with short names, -o wide, -o yaml
and jsonpath; patch --type merge|json|strategic, set image, scale, label and annotate; the
repository's Canary CRD and the seed's v1alpha3 Canary, whose `get canary` shows the STATUS and
WEIGHT columns; strategic patch on a Canary fails with kubectl's hint; a strict-validation
error for a misspelt Canary field; `get -w` printing rows as objects change; `get all`; delete,
including kubectl waiting for a finalizer; wait --for=condition on a Canary; rollout status;
describe with events; logs through a log source; NotFound errors worded as on a real cluster;
hand-written mesh CRDs (SMI TrafficSplit in three versions, Gateway API HTTPRoute, Istio
VirtualService and DestinationRule) served under their short names.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import yaml

from serinus.sandbox.apiserver import ApiServer, LogRequest
from tests.sandbox.apiserver.support import (
    CANARY_CRD,
    Kubectl,
    deployment,
    load_yaml,
    namespace,
    simple_crd,
)

SEED_CANARY = """
apiVersion: flagger.app/v1alpha3
kind: Canary
metadata:
  name: podinfo
  namespace: prod
spec:
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  service:
    port: 9898
  canaryAnalysis:
    interval: 10s
    stepWeight: 5
    threshold: 5
    metrics:
    - name: request-success-rate
      threshold: 99
      interval: 1m
    - name: request-duration
      threshold: 500
      interval: 1m
    webhooks:
      - name: load-test
        url: http://load-tester.prod/
        metadata:
          cmd: "hey -z 2m -q 10 -c 2 http://podinfo:9898/"
"""


def service(name: str = "podinfo") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "prod"},
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 9898}]},
    }


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()]


async def patch_status(kubectl: Kubectl, resource: str, status: dict[str, Any]) -> None:
    """``kubectl -n prod patch RESOURCE podinfo --subresource=status``: a merge of ``status``."""
    patch = json.dumps({"status": status})
    await kubectl.run(
        "-n", "prod", "patch", resource, "podinfo", "--subresource=status", "--type=merge",
        "-p", patch,
    )  # fmt: skip


async def with_canary(kubectl: Kubectl) -> None:
    await kubectl.apply(namespace("prod"), deployment())
    crds = await kubectl.run("apply", "-f", str(CANARY_CRD.parent))
    assert sorted(crds.stdout.splitlines()) == [
        f"customresourcedefinition.apiextensions.k8s.io/{name}.flagger.app created"
        for name in ("alertproviders", "canaries", "metrictemplates")
    ]
    await kubectl.run("apply", "-f", "-", stdin=SEED_CANARY)


async def test_client_side_apply_lifecycle(kubectl: Kubectl) -> None:
    first = await kubectl.apply(namespace("prod"), deployment(), service())
    assert first.stdout.splitlines() == [
        "namespace/prod created",
        "deployment.apps/podinfo created",
        "service/podinfo created",
    ]
    again = await kubectl.apply(namespace("prod"), deployment(), service())
    assert "deployment.apps/podinfo unchanged" in again.stdout
    changed = await kubectl.apply(deployment(image="podinfo:2.0"))
    assert changed.stdout.strip() == "deployment.apps/podinfo configured"
    image = await kubectl.run(
        "-n",
        "prod",
        "get",
        "deploy",
        "podinfo",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    )
    assert image.stdout == "podinfo:2.0"


async def test_server_side_apply(kubectl: Kubectl) -> None:
    await kubectl.apply(namespace("prod"))
    applied = await kubectl.apply(deployment(), extra=("--server-side",))
    assert applied.stdout.strip() == "deployment.apps/podinfo serverside-applied"
    scaled = deployment()
    scaled["spec"]["replicas"] = 5
    conflict = await kubectl.run(
        "apply",
        "--server-side",
        "--field-manager=flagger",
        "-f",
        "-",
        stdin=yaml.safe_dump(scaled),
        check=False,
    )
    assert conflict.returncode == 1
    assert 'conflict with "kubectl"' in conflict.stderr
    assert ".spec.replicas" in conflict.stderr
    forced = await kubectl.run(
        "apply",
        "--server-side",
        "--field-manager=flagger",
        "--force-conflicts",
        "-f",
        "-",
        stdin=yaml.safe_dump(scaled),
    )
    assert forced.stdout.strip() == "deployment.apps/podinfo serverside-applied"
    replicas = await kubectl.run(
        "-n", "prod", "get", "deploy", "podinfo", "-o", "jsonpath={.spec.replicas}"
    )
    assert replicas.stdout == "5"


async def test_get_outputs_and_short_names(kubectl: Kubectl) -> None:
    await kubectl.apply(namespace("prod"), deployment(), service())
    wide = rows((await kubectl.run("-n", "prod", "get", "deploy", "-o", "wide")).stdout)
    assert wide[0] == [
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ]
    assert wide[1][:4] == ["podinfo", "0/2", "0", "0"]
    assert wide[1][5:] == ["app", "podinfo:1.0", "app=podinfo"]
    services = rows((await kubectl.run("-n", "prod", "get", "svc")).stdout)
    assert services[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert services[1][1] == "ClusterIP"
    assert services[1][3:5] == ["<none>", "9898/TCP"]
    as_yaml = yaml.safe_load(
        (await kubectl.run("-n", "prod", "get", "deployment", "podinfo", "-o", "yaml")).stdout
    )
    assert as_yaml["kind"] == "Deployment"
    assert as_yaml["metadata"]["generation"] == 1
    namespaces = [row[0] for row in rows((await kubectl.run("get", "ns")).stdout)[1:]]
    assert namespaces == ["default", "kube-node-lease", "kube-public", "kube-system", "prod"]
    missing = await kubectl.run("-n", "prod", "get", "deploy", "nothere", check=False)
    assert missing.returncode == 1
    assert (
        missing.stderr.strip()
        == 'Error from server (NotFound): deployments.apps "nothere" not found'
    )


async def test_patch_types_and_imperative_commands(kubectl: Kubectl) -> None:
    await kubectl.apply(namespace("prod"), deployment())
    ns = ("-n", "prod")
    await kubectl.run(
        *ns, "patch", "deploy", "podinfo", "--type", "merge", "-p", '{"spec":{"replicas":3}}'
    )
    await kubectl.run(
        *ns,
        "patch",
        "deploy",
        "podinfo",
        "--type",
        "json",
        "-p",
        '[{"op":"add","path":"/metadata/labels/tier","value":"web"}]',
    )
    await kubectl.run(
        *ns,
        "patch",
        "deploy",
        "podinfo",
        "--type",
        "strategic",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"A","value":"1"}]}]}}}}',
    )
    await kubectl.run(*ns, "set", "image", "deploy/podinfo", "app=podinfo:2.1.1")
    await kubectl.run(*ns, "scale", "deploy", "podinfo", "--replicas=4")
    await kubectl.run(*ns, "label", "deploy", "podinfo", "team=delivery")
    await kubectl.run(*ns, "annotate", "deploy", "podinfo", "note=canary")
    got = (await kubectl.run(*ns, "get", "deploy", "podinfo", "-o", "json")).json()
    container = got["spec"]["template"]["spec"]["containers"][0]
    assert got["spec"]["replicas"] == 4
    assert got["metadata"]["labels"] == {"app": "podinfo", "tier": "web", "team": "delivery"}
    assert got["metadata"]["annotations"]["note"] == "canary"
    assert container["image"] == "podinfo:2.1.1"
    assert container["env"] == [{"name": "A", "value": "1"}]
    assert container["ports"] == [{"containerPort": 9898, "protocol": "TCP"}]


async def test_seed_canary_shows_status_and_weight(kubectl: Kubectl) -> None:
    await with_canary(kubectl)
    fresh = rows((await kubectl.run("-n", "prod", "get", "canary")).stdout)
    assert fresh[0][:3] == ["NAME", "STATUS", "WEIGHT"]
    await patch_status(
        kubectl, "canary", {"phase": "Progressing", "canaryWeight": 10, "failedChecks": 1}
    )
    table = rows((await kubectl.run("-n", "prod", "get", "canary")).stdout)
    assert table[0] == ["NAME", "STATUS", "WEIGHT", "FAILEDCHECKS", "LASTTRANSITIONTIME"]
    assert table[1] == ["podinfo", "Progressing", "10", "1"]
    wide = rows(
        (
            await kubectl.run("-n", "prod", "get", "canaries.v1alpha3.flagger.app", "-o", "wide")
        ).stdout
    )
    assert "STEPWEIGHT" in wide[0]
    everything = (await kubectl.run("-n", "prod", "get", "all")).stdout
    assert "deployment.apps/podinfo" in everything
    assert "canary.flagger.app/podinfo" in everything
    strategic = await kubectl.run(
        "-n",
        "prod",
        "patch",
        "canary",
        "podinfo",
        "-p",
        '{"spec":{"service":{"port":80}}}',
        check=False,
    )
    assert strategic.returncode == 1
    assert (
        "application/strategic-merge-patch+json is not supported by "
        "flagger.app/v1beta1, Kind=Canary" in strategic.stderr
    )


async def test_strict_validation_rejects_a_misspelt_field(kubectl: Kubectl) -> None:
    await with_canary(kubectl)
    typo = SEED_CANARY.replace("stepWeight: 5", "stepWeigth: 5")
    result = await kubectl.run("apply", "-f", "-", stdin=typo, check=False)
    assert result.returncode == 1
    assert 'unknown field "spec.canaryAnalysis.stepWeigth"' in result.stderr


async def test_get_watch_prints_rows_as_objects_change(kubectl: Kubectl) -> None:
    await with_canary(kubectl)
    watcher = await kubectl.start("-n", "prod", "get", "canary", "-w")
    assert watcher.stdout is not None
    try:
        header = await asyncio.wait_for(watcher.stdout.readline(), timeout=10)
        assert header.split()[:3] == [b"NAME", b"STATUS", b"WEIGHT"]
        first = await asyncio.wait_for(watcher.stdout.readline(), timeout=10)
        assert first.split() == [b"podinfo"]
        for weight in (5, 10):
            await patch_status(kubectl, "canary", {"phase": "Progressing", "canaryWeight": weight})
            line = await asyncio.wait_for(watcher.stdout.readline(), timeout=10)
            assert line.split()[:3] == [b"podinfo", b"Progressing", str(weight).encode()]
    finally:
        watcher.terminate()
        await watcher.wait()


async def test_delete_waits_for_finalizers(kubectl: Kubectl) -> None:
    held = deployment()
    held["metadata"]["finalizers"] = ["serinus.io/hold"]
    await kubectl.apply(namespace("prod"), held)
    deleting = await kubectl.start("-n", "prod", "delete", "deploy", "podinfo")
    shown = await kubectl.run(
        "-n", "prod", "get", "deploy", "podinfo", "-o", "jsonpath={.metadata.deletionTimestamp}"
    )
    for _ in range(50):
        if shown.stdout:
            break
        await asyncio.sleep(0.1)
        shown = await kubectl.run(
            "-n", "prod", "get", "deploy", "podinfo", "-o", "jsonpath={.metadata.deletionTimestamp}"
        )
    assert shown.stdout
    assert deleting.returncode is None
    await kubectl.run(
        "-n",
        "prod",
        "patch",
        "deploy",
        "podinfo",
        "--type=json",
        "-p",
        '[{"op":"remove","path":"/metadata/finalizers"}]',
    )
    out, _ = await asyncio.wait_for(deleting.communicate(), timeout=15)
    assert deleting.returncode == 0
    assert out.decode().strip() == 'deployment.apps "podinfo" deleted'
    gone = await kubectl.run("-n", "prod", "get", "deploy", "podinfo", check=False)
    assert "NotFound" in gone.stderr


async def test_wait_and_rollout_status(kubectl: Kubectl) -> None:
    await with_canary(kubectl)
    waiting = await kubectl.start(
        "-n", "prod", "wait", "--for=condition=promoted", "canary/podinfo", "--timeout=20s"
    )
    promoted = {"type": "Promoted", "status": "True", "reason": "Succeeded", "message": "done"}
    await patch_status(kubectl, "canary", {"phase": "Succeeded", "conditions": [promoted]})
    out, err = await asyncio.wait_for(waiting.communicate(), timeout=25)
    assert waiting.returncode == 0, err
    assert out.decode().strip() == "canary.flagger.app/podinfo condition met"
    ready = {
        "observedGeneration": 1,
        "replicas": 2,
        "updatedReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
    }
    await patch_status(kubectl, "deploy", ready)
    rollout = await kubectl.run(
        "-n", "prod", "rollout", "status", "deploy/podinfo", "--timeout=10s"
    )
    assert "successfully rolled out" in rollout.stdout


async def test_describe_shows_events(kubectl: Kubectl) -> None:
    await kubectl.apply(namespace("prod"), deployment())
    uid = (
        await kubectl.run(
            "-n", "prod", "get", "deploy", "podinfo", "-o", "jsonpath={.metadata.uid}"
        )
    ).stdout
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "podinfo.1", "namespace": "prod"},
        "involvedObject": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "podinfo",
            "namespace": "prod",
            "uid": uid,
        },
        "reason": "Synced",
        "message": "Advance podinfo.prod canary weight 5",
        "type": "Normal",
        "source": {"component": "serinus"},
        "count": 1,
        "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:00:00Z",
    }
    other = json.loads(json.dumps(event))
    other["metadata"]["name"] = "other.1"
    other["involvedObject"]["name"] = "other"
    other["message"] = "not about podinfo"
    await kubectl.apply(event, other)
    described = (await kubectl.run("-n", "prod", "describe", "deploy", "podinfo")).stdout
    assert "Advance podinfo.prod canary weight 5" in described
    assert "not about podinfo" not in described
    events = rows((await kubectl.run("-n", "prod", "get", "events")).stdout)
    assert events[0] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]


async def test_logs_through_a_log_source(api: ApiServer, kubectl: Kubectl) -> None:
    async def lines(request: LogRequest) -> AsyncIterator[bytes]:
        yield f"hello from {request.pod}/{request.container}\n".encode()

    api.logs.add(lambda request: lines(request))
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "img"}]},
    }
    await kubectl.apply(pod)
    logs = await kubectl.run("logs", "web-1")
    assert logs.stdout == "hello from web-1/app\n"


async def test_create_from_file_and_duplicate(kubectl: Kubectl) -> None:
    manifest = yaml.safe_dump(namespace("team"))
    created = await kubectl.run("create", "-f", "-", stdin=manifest)
    assert created.stdout.strip() == "namespace/team created"
    duplicate = await kubectl.run("create", "-f", "-", stdin=manifest, check=False)
    assert duplicate.stderr.strip().endswith('namespaces "team" already exists')
    crd = load_yaml(CANARY_CRD)
    assert crd["kind"] == "CustomResourceDefinition"


async def test_mesh_crds_serve_their_resources(kubectl: Kubectl) -> None:
    await kubectl.apply(
        namespace("prod"),
        simple_crd(
            "split.smi-spec.io",
            "TrafficSplit",
            "trafficsplits",
            ("v1alpha3", "v1alpha2", "v1alpha1"),
            status=False,
            short_names=("ts",),
        ),
        simple_crd("gateway.networking.k8s.io", "HTTPRoute", "httproutes"),
        simple_crd(
            "networking.istio.io",
            "VirtualService",
            "virtualservices",
            ("v1beta1",),
            short_names=("vs",),
        ),
        simple_crd(
            "networking.istio.io",
            "DestinationRule",
            "destinationrules",
            ("v1beta1",),
            short_names=("dr",),
        ),
    )
    split = {
        "apiVersion": "split.smi-spec.io/v1alpha2",
        "kind": "TrafficSplit",
        "metadata": {"name": "podinfo", "namespace": "prod"},
        "spec": {
            "service": "podinfo",
            "backends": [
                {"service": "podinfo-primary", "weight": 90},
                {"service": "podinfo-canary", "weight": 10},
            ],
        },
    }
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "podinfo", "namespace": "prod"},
        "spec": {"parentRefs": [{"name": "gw"}]},
    }
    virtual = {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": {"name": "podinfo", "namespace": "prod"},
        "spec": {"hosts": ["podinfo"]},
    }
    rule = {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "DestinationRule",
        "metadata": {"name": "podinfo-canary", "namespace": "prod"},
        "spec": {"host": "podinfo-canary"},
    }
    await kubectl.apply(split, route, virtual, rule)
    for short, expected in (
        ("ts", "podinfo"),
        ("httproute", "podinfo"),
        ("vs", "podinfo"),
        ("dr", "podinfo-canary"),
    ):
        listed = rows((await kubectl.run("-n", "prod", "get", short)).stdout)
        assert listed[0] == ["NAME", "AGE"]
        assert listed[1][0] == expected
    weights = await kubectl.run(
        "-n",
        "prod",
        "get",
        "trafficsplits.v1alpha1.split.smi-spec.io",
        "podinfo",
        "-o",
        "jsonpath={.apiVersion} {.spec.backends[*].weight}",
    )
    assert weights.stdout == "split.smi-spec.io/v1alpha1 90 10"
