"""Restart safety: the operator killed with SIGKILL in the middle of canary runs, then restarted.

Covers 20 canary runs (4 rounds of 5 Canaries released at once, each run healthy or failing at
random) during which the real operator process is killed with SIGKILL at random moments (the
first kill of a round while every run of the round is under way, a second one while the restarted
process makes its first ticks, a third at a random later moment) and started again after a
random pause. Each run must end as if nothing had happened:
* the right phase: Succeeded for a healthy release, Failed for a failing one;
* routes and scales consistent: TrafficSplit 100/0, the canary Deployment at 0 replicas, the
  primary at its 2 replicas, running the new image when Succeeded and the last promoted one when
  Failed;
* nothing lost: the status keeps lastAppliedSpec (the new revision), lastPromotedSpec (equal to it
  when Succeeded), canaryWeight 0, failedChecks (0 after a rollback, as Flagger; an Event says
  the threshold was reached), iterations, lastTransitionTime and the Promoted condition (True
  when Succeeded, False when Failed); the apex, -canary and -primary Services, the primary
  Deployment and the TrafficSplit all exist.

Health comes from each Canary's own MetricTemplate, queried from a real Prometheus:
``vector(99.9)`` passes (min 99), ``vector(50)`` fails; a round re-applies the templates.
The random choices come from a seeded RNG; the seed is printed (``-s`` shows it) and
``RESTART_SEED=<n>`` replays a sequence.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import pathlib
import random

import pytest

from serinus.kube import Kube
from serinus.sandbox.prometheus import Prometheus
from tests.operator.processes import Operator
from tests.operator.support import (
    CANARY,
    NS,
    SPLIT,
    Cluster,
    Kubelet,
    canary,
    deployment,
    eventually,
    get,
    image,
    metric_template,
    phase,
    replicas,
    set_image,
    split,
    status,
    wait_phase,
    wait_status,
)

pytestmark = pytest.mark.slow  # each test starts the operator process

ROUNDS = 4
CANARIES = 5
FINAL = ("Succeeded", "Failed")
ACTIVE = ("Progressing", "WaitingPromotion", "Promoting", "Finalising")
STATUS_FIELDS = (
    "phase",
    "canaryWeight",
    "failedChecks",
    "iterations",
    "lastAppliedSpec",
    "lastPromotedSpec",
    "lastTransitionTime",
    "conditions",
)


@dataclasses.dataclass
class Run:
    canary: str
    image: str
    healthy: bool
    applied_before: str
    promoted_image: str
    rollbacks_before: int = 0
    interrupted: int = 0


def names() -> list[str]:
    return [f"app{i}" for i in range(CANARIES)]


def outcomes(rng: random.Random) -> list[bool]:
    """Healthy or failing for each Canary of a round: at least one of each, the rest at random."""
    health = [True, False] + [rng.random() < 0.6 for _ in range(CANARIES - 2)]
    rng.shuffle(health)
    return health


async def set_health(kube: Kube, prometheus: Prometheus, name: str, *, healthy: bool) -> None:
    query = "vector(99.9)" if healthy else "vector(50)"
    await kube.apply(metric_template(f"{name}-rate", query, address=prometheus.url))


async def rollbacks(kube: Kube, name: str) -> int:
    """How many times the operator said it rolled ``name`` back for failed checks (Events)."""
    said = f"Rolling back {name}.{NS} failed checks threshold reached"
    events = await kube.list("v1", "Event", NS)
    return sum(
        int(e.get("count") or 1)
        for e in events
        if e["involvedObject"]["name"] == name and str(e.get("message", "")).startswith(said)
    )


async def applied(kube: Kube, name: str) -> str:
    return str((await status(kube, name)).get("lastAppliedSpec") or "")


def in_phase(run: Run, phases: tuple[str, ...], found: dict[str, object]) -> bool:
    """The Canary is in one of ``phases`` with this run's revision."""
    return found.get("phase") in phases and found.get("lastAppliedSpec") != run.applied_before


async def kill_at_random(
    operator: Operator, kube: Kube, runs: list[Run], rng: random.Random, delay: float
) -> None:
    """Wait ``delay`` s, note the runs under way, SIGKILL, pause at random, start again."""
    await asyncio.sleep(delay)
    for run in runs:
        if await phase(kube, run.canary) in ACTIVE:
            run.interrupted += 1
    operator.kill()
    await asyncio.sleep(rng.uniform(0.0, 1.5))
    operator.start()


async def release_round(
    operator: Operator, kube: Kube, prometheus: Prometheus, runs: list[Run], rng: random.Random
) -> None:
    for run in runs:
        await set_health(kube, prometheus, run.canary, healthy=run.healthy)
    for run in runs:
        await set_image(kube, run.canary, run.image)
    # every run of the round has started: the first kill lands in the middle of all of them
    for run in runs:
        await wait_status(kube, run.canary, functools.partial(in_phase, run, ACTIVE), what="run")
    await kill_at_random(operator, kube, runs, rng, rng.uniform(0.0, 1.5))
    # the restarted process starts ticking every Canary at once: kill it in that burst
    await kill_at_random(operator, kube, runs, rng, rng.uniform(0.5, 1.5))
    await kill_at_random(operator, kube, runs, rng, rng.uniform(0.0, 4.0))
    for run in runs:
        await wait_status(
            kube, run.canary, functools.partial(in_phase, run, FINAL), what="end", within=90
        )


async def check(kube: Kube, run: Run) -> None:
    name = run.canary
    found = await status(kube, name)
    assert found["phase"] == ("Succeeded" if run.healthy else "Failed"), (run, found)
    assert all(field in found for field in STATUS_FIELDS), (run, found)
    assert found["canaryWeight"] == 0
    assert found["lastAppliedSpec"] != run.applied_before
    condition = next(c for c in found["conditions"] if c["type"] == "Promoted")
    assert condition["reason"] == found["phase"]
    if run.healthy:
        assert condition["status"] == "True"
        assert found["lastPromotedSpec"] == found["lastAppliedSpec"]
        assert await image(kube, f"{name}-primary") == run.image
    else:
        assert condition["status"] == "False"
        # as Flagger, the failed run's status has failedChecks 0; the Event says why it failed
        assert found["failedChecks"] == 0
        # the Event is written in the background, around the status write that says Failed
        await eventually(
            lambda: rollbacks(kube, name),
            lambda count: count > run.rollbacks_before,
            what=f"an Event saying {name} was rolled back ({run})",
        )
        assert found["lastPromotedSpec"] != found["lastAppliedSpec"]
        assert await image(kube, f"{name}-primary") == run.promoted_image
    assert await split(kube, name) == (100, 0), run
    assert await replicas(kube, name) == 0, run
    assert await replicas(kube, f"{name}-primary") == 2, run
    for service in (name, f"{name}-canary", f"{name}-primary"):
        await get(kube, "v1", "Service", service)
    await get(kube, *SPLIT, name)
    await get(kube, *CANARY, name)


async def test_runs_survive_sigkill_at_random_moments(
    k8s: Cluster, kubelet: Kubelet, prometheus: Prometheus, tmp_path: pathlib.Path
) -> None:
    seed = int(os.environ.get("RESTART_SEED") or random.randrange(2**32))
    print(f"RESTART_SEED={seed}")
    rng = random.Random(seed)
    kube = k8s.kube
    promoted = {}
    for name in names():
        await set_health(kube, prometheus, name, healthy=True)
        await kube.create(deployment(name, image="podinfo:1.0.0"))
        await kube.create(canary(name, template=f"{name}-rate"))
        promoted[name] = "podinfo:1.0.0"
    operator = Operator(k8s.kubeconfig, tmp_path / "operator.log", metrics_server=prometheus.url)
    done: list[Run] = []
    with operator:
        for name in names():
            await wait_phase(kube, name, "Initialized")
        for number in range(1, ROUNDS + 1):
            health = outcomes(rng)
            runs = [
                Run(
                    canary=name,
                    image=f"podinfo:{number + 1}.0.0",
                    healthy=health[index],
                    applied_before=await applied(kube, name),
                    promoted_image=promoted[name],
                    rollbacks_before=await rollbacks(kube, name),
                )
                for index, name in enumerate(names())
            ]
            try:
                await release_round(operator, kube, prometheus, runs, rng)
                for run in runs:
                    await check(kube, run)
            except AssertionError as failure:
                raise AssertionError(f"seed {seed}, round {number}: {failure}") from failure
            for run in runs:
                if run.healthy:
                    promoted[run.canary] = run.image
            done += runs
    assert operator.starts == 1 + 3 * ROUNDS
    assert len(done) == ROUNDS * CANARIES
    assert all(run.interrupted for run in done), [r for r in done if not r.interrupted]
