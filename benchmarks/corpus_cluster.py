"""The sandbox half of ``flagger_corpus.py``: Flagger's Canaries initialized by the real operator.

:func:`initialize` starts the sandbox's API server (in this process) with serinus's CRDs, every
router's CRDs (``tests/routers/crds/``) and KEDA's ScaledObject, and the real ``serinus operator``
as a child process. Each Canary goes into a namespace of its own (``c000``, ``c001``, ...; its name
is kept) with ``spec.provider`` set to its source's provider when it has none (what the Flagger
installation of that tutorial or test script sets with ``-mesh-provider``), next to what it refers
to, made minimal: its target (a Deployment or DaemonSet of podinfo with the service's target port,
or a Knative Service), its ``autoscalerRef`` (an HPA, or a ScaledObject with the triggers that
``primaryScalerQueries`` names), its ``ingressRef`` (an Ingress to the apex Service), its
``routeRef`` (an ApisixRoute with one backend) and its ``upstreamRef`` (a Gloo Upstream). The
deployment controller and Knative Serving are played as in the operator tests.

Kuma's TrafficRoute is cluster-scoped, so two Kuma Canaries of the same name conflict (serinus
refuses the second). Each document of the corpus stands alone, so such Canaries run in rounds of
their own, each round on a fresh API server and operator.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
import pathlib
import sys
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the operator tests' players and the routers' CRDs

from tests.operator.processes import Operator  # noqa: E402
from tests.operator.support import finished_rollout  # noqa: E402
from tests.routers.support import crds as mesh_crds  # noqa: E402
from tests.support import manifests  # noqa: E402
from tests.support.knative import KnativeServing, knative_service  # noqa: E402
from tests.targets.support import scaled_object_crd  # noqa: E402

from serinus.apis.crds import custom_resource_definitions  # noqa: E402
from serinus.kube import Kube, KubeSettings  # noqa: E402
from serinus.sandbox.apiserver import ApiServer  # noqa: E402

Manifest = dict[str, Any]
CANARY = ("flagger.app/v1beta1", "Canary")
IMAGE = "ghcr.io/stefanprodan/podinfo:6.0.0"


def _port(canary: Manifest) -> tuple[str, int]:
    """The apex Service's name and port."""
    spec = canary["spec"]
    service = spec.get("service") or {}
    return service.get("name") or spec["targetRef"]["name"], int(service.get("port") or 9898)


def target(canary: Manifest, namespace: str) -> Manifest:
    ref = canary["spec"]["targetRef"]
    if ref.get("apiVersion", "").startswith("serving.knative.dev"):
        return knative_service(ref["name"], namespace, IMAGE)
    service = canary["spec"].get("service") or {}
    port = service.get("targetPort")
    port = port if isinstance(port, int) else int(service.get("port") or 9898)
    container = {
        "name": "podinfod",
        "image": IMAGE,
        "ports": [{"name": "http", "containerPort": port}],
    }
    workload = manifests.deployment(ref["name"], namespace, [container])
    if ref.get("kind") == "DaemonSet":
        workload["kind"] = "DaemonSet"
        del workload["spec"]["replicas"]
        workload["spec"]["updateStrategy"] = {"type": "RollingUpdate"}
    return workload


def _meta(ref: Manifest, namespace: str) -> Manifest:
    return {"name": ref["name"], "namespace": ref.get("namespace") or namespace}


def referred(canary: Manifest, namespace: str) -> list[Manifest]:
    """The autoscaler, Ingress, ApisixRoute and Upstream the Canary names."""
    spec, found = canary["spec"], []
    apex, port = _port(canary)
    workload = {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec["targetRef"]["name"]}
    if ref := spec.get("autoscalerRef"):
        if ref.get("kind") == "ScaledObject":
            names = list(ref.get("primaryScalerQueries") or {"prom-trigger": ""})
            query = f'sum(rate(http_requests_total{{app="{workload["name"]}"}}[30s]))'
            triggers = [
                {"type": "prometheus", "name": name, "metadata": {"query": query, "threshold": "5"}}
                for name in names
            ]
            body = {"scaleTargetRef": {"name": workload["name"]}, "triggers": triggers}
        else:
            body = {"scaleTargetRef": workload, "minReplicas": 2, "maxReplicas": 4}
        found.append(
            {
                "apiVersion": ref["apiVersion"],
                "kind": ref["kind"],
                "metadata": _meta(ref, namespace),
                "spec": body,
            }
        )
    if ref := spec.get("ingressRef"):
        backend = {"service": {"name": apex, "port": {"number": port}}}
        path = {"path": "/", "pathType": "Prefix", "backend": backend}
        rule = {"host": "app.example.com", "http": {"paths": [path]}}
        found.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": _meta(ref, namespace),
                "spec": {"rules": [rule]},
            }
        )
    if ref := spec.get("routeRef"):
        route = {
            "name": "http",
            "match": {"hosts": ["app.example.com"], "paths": ["/*"]},
            "backends": [{"serviceName": apex, "servicePort": port}],
        }
        found.append(
            {
                "apiVersion": ref["apiVersion"],
                "kind": ref["kind"],
                "metadata": _meta(ref, namespace),
                "spec": {"http": [route]},
            }
        )
    if ref := spec.get("upstreamRef"):
        kube = {"serviceName": apex, "serviceNamespace": namespace, "servicePort": port}
        found.append(
            {
                "apiVersion": ref["apiVersion"],
                "kind": ref["kind"],
                "metadata": _meta(ref, namespace),
                "spec": {"kube": kube},
            }
        )
    return found


def _daemonset_status(daemonset: Manifest) -> Manifest:
    nodes = (
        0
        if "flagger.app/scale-to-zero"
        in (daemonset["spec"]["template"]["spec"].get("nodeSelector") or {})
        else 2
    )
    counts = (
        "desiredNumberScheduled",
        "currentNumberScheduled",
        "updatedNumberScheduled",
        "numberAvailable",
        "numberReady",
    )
    return {
        "observedGeneration": daemonset["metadata"]["generation"],
        "numberUnavailable": 0,
        **{count: nodes for count in counts},
    }


async def _roll_out(kube: Kube, kind: str) -> None:
    """The deployment (or DaemonSet) controller, every namespace: each new spec rolled out."""
    status_of = finished_rollout if kind == "Deployment" else _daemonset_status
    async for event, workload in kube.watch("apps/v1", kind, None):
        meta = workload["metadata"]
        if (
            event == "DELETED"
            or (workload.get("status") or {}).get("observedGeneration") == meta["generation"]
        ):
            continue
        status = {"status": status_of(workload)}
        await kube.patch_status("apps/v1", kind, meta["name"], meta["namespace"], status)


def _outcome(found: Manifest | None) -> str:
    status = (found or {}).get("status") or {}
    phase = status.get("phase") or "no phase"
    if phase == "Initialized":
        return phase
    messages = [c.get("message", "") for c in status.get("conditions") or []]
    return f"{phase}: {'; '.join(m for m in messages if m) or 'no condition'}"


async def _round(
    canaries: list[tuple[int, Manifest]], directory: pathlib.Path, within: float
) -> dict[int, str]:
    namespaces = [f"c{number:03d}" for number, _ in canaries]
    extra = {
        ref.get("namespace")
        for _, c in canaries
        for ref in c["spec"].values()
        if isinstance(ref, dict) and ref.get("namespace")
    }
    async with (
        ApiServer(port=0) as api,
        Kube(KubeSettings.for_server(api.url, namespace=namespaces[0])) as kube,
    ):
        ours = custom_resource_definitions()
        names = {crd["metadata"]["name"] for crd in ours.values()}
        theirs = [crd for crd in mesh_crds() if crd["metadata"]["name"] not in names]
        await manifests.create_all(
            kube,
            crds=[*ours.values(), *theirs, scaled_object_crd()],
            namespaces=[*namespaces, *sorted(n for n in extra if n not in namespaces)],
        )
        async with contextlib.AsyncExitStack() as stack:
            players = [
                asyncio.create_task(_roll_out(kube, kind)) for kind in ("Deployment", "DaemonSet")
            ]
            for (_, canary), namespace in zip(canaries, namespaces, strict=True):
                workload = target(canary, namespace)
                for obj in (workload, *referred(canary, namespace)):
                    await kube.create(obj)
                if workload["apiVersion"].startswith("serving.knative.dev"):
                    await stack.enter_async_context(KnativeServing(kube, namespace))
                await kube.create(
                    canary | {"metadata": canary["metadata"] | {"namespace": namespace}}
                )
            operator = Operator(
                api.write_kubeconfig(directory / "kubeconfig"),
                directory / f"operator-{namespaces[0]}.log",
                metrics_server="http://127.0.0.1:9",
            )
            with operator:
                deadline = time.monotonic() + within
                while True:
                    found = [
                        await kube.get(*CANARY, c["metadata"]["name"], ns)
                        for (_, c), ns in zip(canaries, namespaces, strict=True)
                    ]
                    settled = all(_outcome(f) == "Initialized" for f in found)
                    if settled or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(1)
            for player in players:
                player.cancel()
            await asyncio.gather(*players, return_exceptions=True)
    return {number: _outcome(f) for (number, _), f in zip(canaries, found, strict=True)}


def _rounds(canaries: list[Manifest], providers: list[str]) -> list[list[tuple[int, Manifest]]]:
    """Every Canary in round 0, except a second Kuma Canary of a name (round 1, 2, ...)."""
    rounds: list[list[tuple[int, Manifest]]] = []
    seen: collections.Counter[str] = collections.Counter()
    for number, (canary, provider) in enumerate(zip(canaries, providers, strict=True)):
        manifest = copy.deepcopy(canary)
        manifest["spec"].setdefault("provider", provider)
        key = manifest["metadata"]["name"] if provider == "kuma" else f"#{number}"
        index = seen[key]
        seen[key] += 1
        while len(rounds) <= index:
            rounds.append([])
        rounds[index].append((number, manifest))
    return rounds


async def initialize(
    canaries: list[Manifest], providers: list[str], directory: pathlib.Path, *, within: float
) -> list[str]:
    """Each Canary's outcome: ``Initialized``, else its phase and status message."""
    outcomes: dict[int, str] = {}
    for members in _rounds(canaries, providers):
        outcomes |= await _round(members, directory, within)
    return [outcomes[number] for number in range(len(canaries))]
