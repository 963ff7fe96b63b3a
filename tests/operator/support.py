"""What the operator tests share: a cluster on loopback, the kubelet played by hand, manifests.

:func:`cluster` starts the sandbox's API server in the test's event loop with the repository's
CRDs, Linkerd's TrafficSplit CRD and namespace ``prod``, and writes a kubeconfig for the operator
process. The API server runs no deployment controller, so :class:`Kubelet` plays it: it watches the
Deployments of ``prod`` and, whenever one's spec is newer than its status, reports a finished
rollout (latest generation observed, every replica updated, ready and available, conditions
Available and Progressing), as the deployment controller would a few seconds later.

The readers (:func:`phase`, :func:`split`, :func:`replicas`, :func:`image`) and :func:`eventually`
are what the tests assert with: ``eventually`` polls the API server until a condition holds and
fails with what it last saw, so no test sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import functools
import pathlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

import yaml

from serinus.apis.crds import custom_resource_definitions
from serinus.kube import Kube, KubeSettings
from serinus.sandbox.apiserver import ApiServer
from tests.support import manifests

NS = "prod"
ROOT = pathlib.Path(__file__).resolve().parents[2]
SEED_CANARY = ROOT / "examples" / "podinfo-canary.yaml"
TRAFFIC_SPLIT_CRD = ROOT / "tests" / "routers" / "crds" / "trafficsplits.yaml"
CANARY = ("flagger.app/v1beta1", "Canary")
SPLIT = ("split.smi-spec.io/v1alpha1", "TrafficSplit")
DEPLOYMENT = ("apps/v1", "Deployment")

T = TypeVar("T")
Manifest = dict[str, Any]


@dataclasses.dataclass
class Cluster:
    api: ApiServer
    kube: Kube
    kubeconfig: pathlib.Path


@contextlib.asynccontextmanager
async def cluster(
    directory: pathlib.Path, *, namespaces: tuple[str, ...] = (NS,), record: bool = False
) -> AsyncIterator[Cluster]:
    """An API server with the CRDs and namespaces, a client, and a kubeconfig for the operator;
    with ``record``, the server keeps its request log (``api.requests``)."""
    async with (
        ApiServer(port=0, record_requests=record) as api,
        Kube(KubeSettings.for_server(api.url, namespace=NS)) as kube,
    ):
        split = [crd for crd in yaml.safe_load_all(TRAFFIC_SPLIT_CRD.read_text()) if crd]
        crds = [*custom_resource_definitions().values(), *split]
        await manifests.create_all(kube, crds=crds, namespaces=namespaces)
        yield Cluster(api, kube, api.write_kubeconfig(directory / "kubeconfig"))


# --- the kubelet and deployment controller, played by hand -------------------------------------


def finished_rollout(deployment: Manifest) -> Manifest:
    """The status a deployment controller reports once the Deployment's spec is rolled out."""
    replicas = deployment["spec"].get("replicas", 1)
    return {
        "observedGeneration": deployment["metadata"]["generation"],
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [
            {
                "type": "Available",
                "status": "True",
                "reason": "MinimumReplicasAvailable",
                "message": "Deployment has minimum availability.",
            },
            {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable",
                "message": f'ReplicaSet "{deployment["metadata"]["name"]}" has successfully '
                "progressed.",
            },
        ],
    }


def _rolled_out(deployment: Manifest) -> bool:
    status = deployment.get("status") or {}
    wanted = finished_rollout(deployment)
    return all(status.get(key) == wanted[key] for key in ("observedGeneration", "replicas"))


class Kubelet:
    """Marks every Deployment of a namespace rolled out whenever its spec changes."""

    def __init__(self, kube: Kube, namespace: str = NS) -> None:
        self.kube = kube
        self.namespace = namespace
        self.rollouts = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Kubelet:
        self._task = asyncio.create_task(self._run(), name="kubelet")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        async for event, deployment in self.kube.watch(*DEPLOYMENT, self.namespace):
            if event == "DELETED" or _rolled_out(deployment):
                continue
            name = deployment["metadata"]["name"]
            status = {"status": finished_rollout(deployment)}
            await self.kube.patch_status(*DEPLOYMENT, name, self.namespace, status)
            self.rollouts += 1


# --- manifests ----------------------------------------------------------------------------------


def deployment(name: str = "podinfo", *, image: str = "stefanprodan/podinfo:2.1.0") -> Manifest:
    """podinfo as the seed's Helm release makes it: ``app: <name>``, port 9898, 2 replicas."""
    container = {
        "name": "podinfod",
        "image": image,
        "ports": [{"name": "http", "containerPort": 9898}],
    }
    return manifests.deployment(name, NS, [container])


def seed_canary() -> Manifest:
    """The seed's Canary exactly as ``examples/podinfo-canary.yaml`` holds it (v1alpha3)."""
    loaded: Manifest = yaml.safe_load(SEED_CANARY.read_text())
    return loaded


def metric_template(name: str, query: str, *, address: str) -> Manifest:
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "MetricTemplate",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"provider": {"type": "prometheus", "address": address}, "query": query},
    }


def canary(
    name: str,
    *,
    template: str = "success-rate",
    interval: str = "1s",
    step_weight: int = 25,
    max_weight: int = 50,
    threshold: int = 2,
    **analysis: Any,
) -> Manifest:
    """A v1beta1 Canary for Deployment ``name`` judged by one MetricTemplate (min 99)."""
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "provider": "linkerd",
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "service": {"port": 9898},
            "analysis": {
                "interval": interval,
                "threshold": threshold,
                "stepWeight": step_weight,
                "maxWeight": max_weight,
                "metrics": [
                    {
                        "name": "success",
                        "templateRef": {"name": template},
                        "thresholdRange": {"min": 99},
                        "interval": "1m",
                    }
                ],
                **analysis,
            },
        },
    }


def with_image(manifest: Manifest, image: str) -> Manifest:
    changed = copy.deepcopy(manifest)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return changed


async def set_image(kube: Kube, name: str, image: str) -> None:
    """What ``kubectl set image`` does: a new pod template, so a new revision."""
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "podinfod", "image": image}]}}}}
    await kube.patch(*DEPLOYMENT, name, NS, patch, patch_type="strategic")


# --- reading the cluster ------------------------------------------------------------------------


async def get(kube: Kube, api_version: str, kind: str, name: str) -> Manifest:
    found = await kube.get(api_version, kind, name, NS)
    assert found is not None, f"{kind} {NS}/{name} does not exist"
    return found


async def status(kube: Kube, name: str) -> Manifest:
    return (await get(kube, *CANARY, name)).get("status") or {}


async def phase(kube: Kube, name: str) -> str | None:
    found = await kube.get(*CANARY, name, NS)
    return None if found is None else (found.get("status") or {}).get("phase")


async def split(kube: Kube, name: str) -> tuple[int, int] | None:
    """(primary, canary) weights of the TrafficSplit, None while it does not exist."""
    found = await kube.get(*SPLIT, name, NS)
    return None if found is None else split_weights(found)


async def replicas(kube: Kube, name: str) -> int | None:
    found = await kube.get(*DEPLOYMENT, name, NS)
    return None if found is None else found["spec"].get("replicas")


async def image(kube: Kube, name: str) -> str:
    found = await get(kube, *DEPLOYMENT, name)
    value: str = found["spec"]["template"]["spec"]["containers"][0]["image"]
    return value


class History(Generic[T]):
    """Every distinct value ``pick`` takes on one object, in order, seen through a watch.

    A watch reports every write, so a short-lived state (one step of the traffic split) is
    never missed the way polling could miss it.
    """

    def __init__(
        self, kube: Kube, api_version: str, kind: str, name: str, pick: Callable[[Manifest], T]
    ) -> None:
        self.values: list[T] = []
        self._args = (kube, api_version, kind, name, pick)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> History[T]:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        kube, api_version, kind, name, pick = self._args
        async for event, obj in kube.watch(api_version, kind, NS):
            if event == "DELETED" or obj["metadata"]["name"] != name:
                continue
            value = pick(obj)
            if not self.values or self.values[-1] != value:
                self.values.append(value)


def split_weights(obj: Manifest) -> tuple[int, int]:
    """(primary, canary) weights of a TrafficSplit."""
    name = obj["spec"]["service"]
    weights = {b["service"]: int(b["weight"]) for b in obj["spec"]["backends"]}
    return weights[f"{name}-primary"], weights[f"{name}-canary"]


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    what: str,
    within: float = 60.0,
    every: float = 0.1,
) -> T:
    """Poll ``probe`` until ``accept`` holds; fail naming ``what`` and the last value seen."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {within:g}s")
        await asyncio.sleep(every)


async def wait_phase(kube: Kube, name: str, *phases: str, within: float = 60.0) -> str | None:
    """Wait until the Canary ``name`` is in one of ``phases``; the phase it is in."""
    return await eventually(
        functools.partial(phase, kube, name),
        lambda found: found in phases,
        what=f"phase of Canary {name}",
        within=within,
    )


async def wait_status(
    kube: Kube, name: str, accept: Callable[[Manifest], bool], *, what: str, within: float = 60.0
) -> Manifest:
    """Wait until the status of the Canary ``name`` is one ``accept`` takes."""
    return await eventually(
        functools.partial(status, kube, name), accept, what=f"{what} ({name})", within=within
    )
