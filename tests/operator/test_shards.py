"""``--shards auto``: three replicas share twelve Canaries; one dies, another joins.

Covers, with every write read back from the API server's request log (each replica names itself in
its User-Agent): while releases run, every Canary is written by exactly one replica at a time (the
writers of one Canary's objects, in time order, never go back to an earlier one); SIGKILL of one
replica mid-release, and each of its Canaries is written by a surviving replica within 15 s; a
fourth replica started later takes Canaries over; no run restarts (each Canary's release keeps
its ``analysisStartTime`` and its canary weight never drops before the promotion) and all twelve
end Succeeded with the new image on the primary, each with its run history (one run, Succeeded)
kept across the hand-overs; each Canary's series in the /metrics of exactly one live replica (a
replica that let a Canary go no longer reports it).
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import re
import time

import httpx
import pytest

from serinus.kube import Kube
from serinus.kube.history import HistoryStore
from serinus.sandbox.apiserver.server import Recorded
from tests.operator.processes import Operator
from tests.operator.support import (
    NS,
    Cluster,
    Kubelet,
    canary,
    cluster,
    deployment,
    eventually,
    image,
    set_image,
)

pytestmark = pytest.mark.slow  # starts operator processes

NAMES = [f"app-{number:02d}" for number in range(12)]
AGENT = re.compile(r"\((replica-\w)\)$")
TAKEOVER = 15.0
STATUS_SERIES = re.compile(r'^flagger_canary_status\{name="([^"]+)"', re.MULTILINE)


def writes(requests: list[Recorded]) -> dict[str, list[tuple[float, str]]]:
    """Per Canary, (time, replica) of every write to its objects, in time order."""
    found: dict[str, list[tuple[float, str]]] = {name: [] for name in NAMES}
    for request in requests:
        agent = AGENT.search(request.user_agent)
        if request.method == "GET" or agent is None or "/leases" in request.path:
            continue
        parts = request.path.removesuffix("/status").rsplit("/", 1)
        for name in NAMES:
            if parts[-1] in (name, f"{name}-primary", f"{name}-canary"):
                found[name].append((request.time, agent.group(1)))
    return found


def turns(found: list[tuple[float, str]]) -> list[str]:
    """The writers of one Canary, consecutive repeats folded."""
    folded: list[str] = []
    for _, who in found:
        if not folded or folded[-1] != who:
            folded.append(who)
    return folded


class Runs:
    """Each Canary's analysisStartTime values and whether its weight ever fell mid-run."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.starts: dict[str, set[str]] = {name: set() for name in NAMES}
        self.weights: dict[str, int] = {}
        self.drops: list[str] = []
        self.phases: dict[str, str] = {}

    async def run(self) -> None:
        async for _, obj in self.kube.watch("flagger.app/v1beta1", "Canary", NS):
            name, status = obj["metadata"]["name"], obj.get("status") or {}
            self.phases[name] = str(status.get("phase") or "")
            if self.phases[name] != "Progressing":
                continue
            if status.get("analysisStartTime"):
                self.starts[name].add(status["analysisStartTime"])
            weight = int(status.get("canaryWeight") or 0)
            if weight < self.weights.get(name, 0):
                self.drops.append(f"{name}: {self.weights[name]} -> {weight}")
            self.weights[name] = weight


async def reported_canaries(operator: Operator) -> set[str]:
    """The Canaries whose ``flagger_canary_status`` a replica's /metrics reports."""
    port = await operator.metrics_port()
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    return set(STATUS_SERIES.findall(text))


def replica(k8s: Cluster, tmp_path: pathlib.Path, who: str) -> Operator:
    return Operator(
        k8s.kubeconfig,
        tmp_path / f"{who}.log",
        metrics_server="http://127.0.0.1:9",
        extra=("--shards", "auto", "--identity", who, "--leader-election-namespace", NS),
    )


async def test_replicas_share_the_canaries_and_take_over_a_dead_ones(
    tmp_path: pathlib.Path,
) -> None:
    async with cluster(tmp_path, record=True) as k8s, Kubelet(k8s.kube):
        runs = Runs(k8s.kube)
        watching = asyncio.create_task(runs.run())
        replicas = {who: replica(k8s, tmp_path, who) for who in ("replica-a", "replica-b")}
        replicas["replica-c"] = replica(k8s, tmp_path, "replica-c")
        for operator in replicas.values():
            operator.start()
        try:
            # the three agree first, so each Canary has one owner from its first tick
            for operator in replicas.values():
                await eventually(
                    lambda operator=operator: asyncio.sleep(0, operator.messages()),
                    lambda messages: any("one of 3 replicas" in m for m in messages),
                    what="three replicas agreed",
                )
            for name in NAMES:
                await k8s.kube.create(deployment(name))
                await k8s.kube.create(canary(name, step_weight=2, max_weight=50, metrics=[]))
            await eventually(
                lambda: asyncio.sleep(0, dict(runs.phases)),
                lambda phases: sum(p == "Initialized" for p in phases.values()) == len(NAMES),
                what="Canaries initialized",
            )
            for name in NAMES:
                await set_image(k8s.kube, name, "stefanprodan/podinfo:6.0.1")
            await eventually(
                lambda: asyncio.sleep(0, max(runs.weights.values(), default=0)),
                lambda weight: weight >= 6,
                what="runs under way",
            )
            assert k8s.api.requests is not None
            before = writes(k8s.api.requests)
            victims = [n for n in NAMES if before[n] and before[n][-1][1] == "replica-c"]
            assert victims, before
            replicas["replica-c"].kill()
            killed = time.time()
            await asyncio.sleep(TAKEOVER + 1)
            after = writes(k8s.api.requests)
            for name in victims:
                later = [(t, who) for t, who in after[name] if t > killed]
                assert later, f"{name}: no write since replica-c was killed"
                assert later[0][0] - killed < TAKEOVER, (name, later[0][0] - killed)
                assert {who for _, who in later} <= {"replica-a", "replica-b"}
            replicas["replica-d"] = replica(k8s, tmp_path, "replica-d")
            replicas["replica-d"].start()
            joined = time.time()
            await eventually(
                lambda: asyncio.sleep(0, dict(runs.phases)),
                lambda phases: set(phases.values()) == {"Succeeded"},
                what="every run Succeeded",
                within=120,
            )
            reported = {
                who: await reported_canaries(replicas[who])
                for who in ("replica-a", "replica-b", "replica-d")
            }
        finally:
            for operator in replicas.values():
                operator.kill()
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
        found = writes(k8s.api.requests)
        for name in NAMES:
            folded = turns(found[name])
            assert len(folded) == len(set(folded)), f"{name} went back to a writer: {folded}"
            assert len(runs.starts[name]) == 1, (name, runs.starts[name])
            assert await image(k8s.kube, f"{name}-primary") == "stefanprodan/podinfo:6.0.1"
            history = await HistoryStore(k8s.kube).read(NS, name)  # kept across hand-overs
            assert history is not None, name
            assert [run.outcome for run in history.runs] == ["Succeeded"], (name, history.runs)
        assert not runs.drops, runs.drops
        # each Canary's series on the one replica acting on it, none left where it was let go
        assert sorted(n for names in reported.values() for n in names) == NAMES, reported
        assert any(who == "replica-d" and t > joined for n in NAMES for t, who in found[n])
        acting = [m for m in replicas["replica-d"].messages() if m.startswith("acting on")]
        assert acting, replicas["replica-d"].tail()
        assert not acting[-1].startswith("acting on 0 "), acting
