"""Every router of this release through the real ``serinus operator`` and the sandbox's API server
with each mesh's CRDs registered: contour, gloo, traefik, apisix, skipper, kuma, appmesh:v1beta2,
osm and knative.

Covers, for each provider (one namespace each, all run at once by one operator process):
* initialization creates the objects Flagger's router creates, with their names, each owned by
  the Canary (Kuma's cluster-scoped TrafficRoute names it in an annotation), routing 100/0;
* a new image: the moved object's weights step 75/25, 50/50 (stepWeight 25, maxWeight 50), then
  100/0 on promotion, and the run succeeds;
* the next image fails its metric once the canary has traffic: the run is rolled back, the
  weights return to 100/0 and the phase is Failed;
* where the router does A/B testing (contour, gloo, App Mesh): a second Canary with a header
  condition and two iterations writes the A/B route holding 0/100 and a route to the primary,
  and ends at 100/0.
The metric is a MetricTemplate on a real Prometheus (``vector(100)``, then ``vector(50)``), so the
verdicts are exact. The API server runs no controllers: the test plays the deployment controller
and Knative Serving (:mod:`tests.support.knative`). Intervals are 1 s; the releases run
concurrently from the module's start, and each test waits for its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from serinus.apis.crds import custom_resource_definitions
from serinus.kube import Kube, KubeSettings
from serinus.sandbox.apiserver import ApiServer
from serinus.sandbox.prometheus import Prometheus
from tests.operator.processes import Operator
from tests.operator.routers import CASES, Case, Manifest
from tests.operator.support import Kubelet, eventually
from tests.routers.support import crds
from tests.support import manifests
from tests.support.knative import KnativeServing, knative_service

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

CANARY = ("flagger.app/v1beta1", "Canary")
DEPLOYMENT = ("apps/v1", "Deployment")
TEMPLATE = ("flagger.app/v1beta1", "MetricTemplate")
KNATIVE = ("serving.knative.dev/v1", "Service")


@dataclasses.dataclass
class Outcome:
    """What one provider's releases did, as the tests assert it."""

    initialized: dict[tuple[str, str, str], Manifest] = dataclasses.field(default_factory=dict)
    canary_uid: str = ""
    promotion: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    promoted_phase: str | None = None
    rollback: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    failed_status: Manifest = dataclasses.field(default_factory=dict)
    ab: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    ab_conditions: list[Any] = dataclasses.field(default_factory=list)
    ab_phase: str | None = None


@dataclasses.dataclass
class Releases:
    kube: Kube
    operator: Operator
    tasks: dict[str, asyncio.Task[Outcome]]


async def phase(kube: Kube, namespace: str, name: str) -> str | None:
    found = await kube.get(*CANARY, name, namespace)
    return None if found is None else (found.get("status") or {}).get("phase")


async def wait_phase(kube: Kube, namespace: str, name: str, *phases: str) -> str | None:
    return await eventually(
        functools.partial(phase, kube, namespace, name),
        lambda found: found in phases,
        what=f"phase of Canary {namespace}/{name}",
    )


class Watched:
    """Every distinct value ``pick`` takes on one object, in order, seen through a watch."""

    def __init__(self, kube: Kube, case: Case, name: str, pick: Callable[[Manifest], Any]) -> None:
        self.values: list[Any] = []
        self.kube, self.case, self.name, self.pick = kube, case, name, pick
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        api_version, kind, _ = self.case.moved
        namespace = None if self.case.cluster_scoped else self.case.namespace
        async for event, obj in self.kube.watch(api_version, kind, namespace):
            if event == "DELETED" or obj["metadata"]["name"] != self.name:
                continue
            value = self.pick(obj)
            if not self.values or self.values[-1] != value:
                self.values.append(value)

    async def stop(self) -> list[Any]:
        await asyncio.sleep(0.3)  # the last write's watch event
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        return self.values


def canary(case: Case, name: str, **analysis: Any) -> Manifest:
    metric = {"name": "success", "templateRef": {"name": "success"}, "thresholdRange": {"min": 99}}
    spec: Manifest = {
        "provider": case.provider,
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
        "service": {"port": 9898},
        "analysis": {
            "interval": "1s",
            "threshold": 2,
            "metrics": [{**metric, "interval": "1m"}],
            **analysis,
        },
        **case.spec,
    }
    if case.knative:
        spec["targetRef"] = {"apiVersion": KNATIVE[0], "kind": "Service", "name": name}
        del spec["service"]
    meta = {"name": name, "namespace": case.namespace}
    return {"apiVersion": CANARY[0], "kind": "Canary", "metadata": meta, "spec": spec}


def deployment(name: str, namespace: str) -> Manifest:
    container = {
        "name": "podinfod",
        "image": "stefanprodan/podinfo:6.0.0",
        "ports": [{"name": "http", "containerPort": 9898}],
    }
    return manifests.deployment(name, namespace, [container])


async def set_image(kube: Kube, case: Case, name: str, image: str) -> None:
    if case.knative:
        found = await kube.get(*KNATIVE, name, case.namespace)
        assert found is not None
        found["spec"]["template"]["spec"]["containers"][0]["image"] = image
        await kube.replace(found)
        return
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "podinfod", "image": image}]}}}}
    await kube.patch(*DEPLOYMENT, name, case.namespace, patch, patch_type="strategic")


async def set_success(kube: Kube, namespace: str, value: int) -> None:
    patch = {"spec": {"query": f"vector({value})"}}
    await kube.patch(*TEMPLATE, "success", namespace, patch)


async def release(kube: Kube, case: Case, prometheus: str) -> Outcome:
    """Initialize, promote, roll back (and A/B test) podinfo with ``case.provider``."""
    outcome = Outcome()
    ns = case.namespace
    template = {
        "apiVersion": TEMPLATE[0],
        "kind": "MetricTemplate",
        "metadata": {"name": "success", "namespace": ns},
        "spec": {"provider": {"type": "prometheus", "address": prometheus}, "query": "vector(100)"},
    }
    await kube.create(template)
    if case.knative:
        await kube.create(knative_service("podinfo", ns, "stefanprodan/podinfo:6.0.0"))
    else:
        await kube.create(deployment("podinfo", ns))
    for extra in case.extras(ns):
        await kube.create(extra)
    created = await kube.create(canary(case, "podinfo", stepWeight=25, maxWeight=50))
    outcome.canary_uid = created["metadata"]["uid"]
    await wait_phase(kube, ns, "podinfo", "Initialized")
    for ref in (*case.owned, case.moved):
        found = await kube.get(*ref, None if ref[1] == "TrafficRoute" else ns)
        assert found is not None, f"{ref} was not created"
        outcome.initialized[ref] = found

    # a new image: promoted step by step
    watched = Watched(kube, case, case.moved[2], case.weights)
    await set_image(kube, case, "podinfo", "stefanprodan/podinfo:6.0.1")
    await wait_phase(kube, ns, "podinfo", "Progressing")
    outcome.promoted_phase = await wait_phase(kube, ns, "podinfo", "Succeeded", "Failed")
    outcome.promotion = await watched.stop()

    # the next image fails its metric once the canary has traffic
    watched = Watched(kube, case, case.moved[2], case.weights)
    await set_image(kube, case, "podinfo", "stefanprodan/podinfo:6.0.2")
    await eventually(
        lambda: kube.get(*case.moved, None if case.cluster_scoped else ns),
        lambda obj: obj is not None and case.weights(obj)[1] > 0,
        what=f"{case.provider}: traffic on the canary",
    )
    await set_success(kube, ns, 50)
    await wait_phase(kube, ns, "podinfo", "Failed", "Succeeded")
    outcome.rollback = await watched.stop()
    found = await kube.get(*CANARY, "podinfo", ns)
    outcome.failed_status = (found or {}).get("status") or {}
    await set_success(kube, ns, 100)

    if case.ab is not None:
        await ab_release(kube, case, outcome)
    return outcome


async def ab_release(kube: Kube, case: Case, outcome: Outcome) -> None:
    """A/B testing: a header condition, two iterations, then promotion."""
    ns = case.namespace
    await kube.create(deployment("abtest", ns))
    match = [{"headers": {"x-canary": {"exact": "insider"}}}]
    await kube.create(canary(case, "abtest", iterations=2, match=match))
    await wait_phase(kube, ns, "abtest", "Initialized")
    assert case.ab is not None
    ab = case.ab
    conditions = Watched(kube, case, "abtest", lambda obj: (case.weights(obj), ab(obj)))
    await set_image(kube, case, "abtest", "stefanprodan/podinfo:6.0.1")
    outcome.ab_phase = await wait_phase(kube, ns, "abtest", "Succeeded", "Failed")
    seen = await conditions.stop()
    outcome.ab = [weights for weights, _ in seen]
    outcome.ab_conditions = [held for weights, held in seen if weights == (0, 100)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def releases(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Releases]:
    directory = tmp_path_factory.mktemp("routers")
    namespaces = [case.namespace for case in CASES]
    async with (
        ApiServer(port=0) as api,
        Kube(KubeSettings.for_server(api.url, namespace=namespaces[0])) as kube,
    ):
        ours = custom_resource_definitions()
        names = {crd["metadata"]["name"] for crd in ours.values()}
        meshes = [crd for crd in crds() if crd["metadata"]["name"] not in names]
        everything = [*ours.values(), *meshes]
        await manifests.create_all(kube, crds=everything, namespaces=namespaces)
        kubeconfig = api.write_kubeconfig(directory / "kubeconfig")
        with Prometheus(directory / "prometheus") as prometheus:
            async with contextlib.AsyncExitStack() as stack:
                for case in CASES:
                    player = (
                        KnativeServing(kube, case.namespace)
                        if case.knative
                        else Kubelet(kube, case.namespace)
                    )
                    await stack.enter_async_context(player)
                with Operator(
                    kubeconfig, directory / "operator.log", metrics_server=prometheus.url
                ) as operator:
                    tasks = {
                        case.provider: asyncio.create_task(release(kube, case, prometheus.url))
                        for case in CASES
                    }
                    yield Releases(kube, operator, tasks)
                    for task in tasks.values():
                        task.cancel()
                    await asyncio.gather(*tasks.values(), return_exceptions=True)


async def outcome_of(releases: Releases, case: Case) -> Outcome:
    try:
        return await asyncio.wait_for(asyncio.shield(releases.tasks[case.provider]), timeout=240)
    except BaseException as error:
        raise AssertionError(f"{case.provider}: {error!r}\n{releases.operator.tail(60)}") from error


@pytest.mark.parametrize("case", CASES, ids=[case.provider for case in CASES])
async def test_initialization_creates_flaggers_objects_owned_by_the_canary(
    releases: Releases, case: Case
) -> None:
    outcome = await outcome_of(releases, case)
    for ref, found in outcome.initialized.items():
        meta = found["metadata"]
        if ref[1] == "TrafficRoute":
            assert meta["annotations"]["serinus.io/canary"] == f"{case.namespace}/podinfo"
            assert "ownerReferences" not in meta
        elif ref in case.owned:
            owners = meta.get("ownerReferences") or []
            assert [(o["kind"], o["uid"], o.get("controller")) for o in owners] == [
                ("Canary", outcome.canary_uid, True)
            ], ref
    assert case.weights(outcome.initialized[case.moved]) == (100, 0)
    if case.knative:  # the latest revision named as the primary, with all the traffic
        annotations = outcome.initialized[case.moved]["metadata"]["annotations"]
        assert annotations["flagger.app/primary-revision"] == "podinfo-00001"
    else:
        apex = outcome.initialized[("v1", "Service", "podinfo")]
        assert apex["spec"]["selector"] == {"app": "podinfo-primary"}


@pytest.mark.parametrize("case", CASES, ids=[case.provider for case in CASES])
async def test_every_step_writes_its_weights_and_promotion_returns_them(
    releases: Releases, case: Case
) -> None:
    outcome = await outcome_of(releases, case)
    assert outcome.promoted_phase == "Succeeded", releases.operator.tail()
    assert outcome.promotion == [(100, 0), (75, 25), (50, 50), (100, 0)]


@pytest.mark.parametrize("case", CASES, ids=[case.provider for case in CASES])
async def test_a_failing_canary_is_rolled_back_to_100_0(releases: Releases, case: Case) -> None:
    outcome = await outcome_of(releases, case)
    assert outcome.failed_status.get("phase") == "Failed", releases.operator.tail()
    assert outcome.rollback[0] == (100, 0)
    assert any(canary > 0 for _, canary in outcome.rollback)
    assert outcome.rollback[-1] == (100, 0)


AB_CASES = [case for case in CASES if case.ab is not None]


@pytest.mark.parametrize("case", AB_CASES, ids=[case.provider for case in AB_CASES])
async def test_ab_testing_routes_matching_requests_to_the_canary(
    releases: Releases, case: Case
) -> None:
    outcome = await outcome_of(releases, case)
    assert outcome.ab_phase == "Succeeded", releases.operator.tail()
    assert outcome.ab == [(100, 0), (0, 100), (100, 0)]
    held = outcome.ab_conditions[-1]
    assert len(held) == 2  # the A/B route, then the route to the primary
    assert "x-canary" in str(held[0])
    assert "insider" in str(held[0])
    assert "x-canary" not in str(held[1])


async def test_the_module_covers_every_router_of_the_issue() -> None:
    assert {case.provider for case in CASES} == {
        "contour",
        "gloo",
        "traefik",
        "apisix",
        "skipper",
        "kuma",
        "appmesh:v1beta2",
        "osm",
        "knative",
    }
