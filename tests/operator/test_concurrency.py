"""``--max-concurrent-runs``: one shared ConfigMap change starts fifty releases (Flagger #1069).

Covers: fifty Deployments read one ConfigMap through ``envFrom``; changing it is a new revision of
all fifty at once. With ``--max-concurrent-runs 5``, the operator never has more than five runs in
progress (counted from every Canary status the watch reports), the others wait in phase Waiting
with "Waiting: N runs in progress, position P" on their Promoted condition (never while a slot
was free for their place), runs start in the
order they began waiting (``status.queued``), and all fifty end Succeeded with the new ConfigMap
tracked.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import pathlib
import re
import time
from typing import Any

import pytest

from serinus.kube import Kube
from tests.operator.processes import Operator
from tests.operator.support import NS, Kubelet, canary, cluster, deployment, eventually

pytestmark = pytest.mark.slow  # starts the operator process

COUNT, LIMIT = 50, 5
IN_PROGRESS = {"Progressing", "WaitingPromotion", "Promoting", "Finalising"}
SAME_MOMENT = 1.0
"""Seconds within which runs admitted together may show Progressing in either order."""
WAITING = re.compile(r"^Waiting: (\d+) runs in progress, position (\d+)$")


class Observer:
    """Every Canary status the watch reports: the most runs at once, who waited, who started."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.phases: dict[str, str] = {}
        self.most = 0
        self.queued: dict[str, str] = {}
        self.started: list[str] = []
        self.started_at: dict[str, float] = {}
        self.messages: set[str] = set()
        self.armed = False

    async def run(self) -> None:
        async for _, obj in self.kube.watch("flagger.app/v1beta1", "Canary", NS):
            name, status = obj["metadata"]["name"], obj.get("status") or {}
            phase = str(status.get("phase") or "")
            self.phases[name] = phase
            self.most = max(self.most, sum(p in IN_PROGRESS for p in self.phases.values()))
            if not self.armed:
                continue
            if status.get("queued"):
                self.queued.setdefault(name, status["queued"])
            for condition in status.get("conditions") or []:
                if condition["type"] == "Promoted" and condition["reason"] == "Waiting":
                    self.messages.add(condition["message"])
            if phase == "Progressing" and name not in self.started:
                self.started.append(name)
                self.started_at[name] = time.monotonic()


def sharing(name: str) -> dict[str, Any]:
    manifest = deployment(name)
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    container["envFrom"] = [{"configMapRef": {"name": "shared"}}]
    return manifest


async def test_fifty_releases_from_one_configmap_run_five_at_a_time_in_order(
    tmp_path: pathlib.Path,
) -> None:
    names = [f"app-{number:02d}" for number in range(COUNT)]
    async with cluster(tmp_path) as k8s, Kubelet(k8s.kube):
        shared = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}}
        await k8s.kube.create({**shared, "data": {"level": "1"}})
        for name in names:
            await k8s.kube.create(sharing(name))
            await k8s.kube.create(canary(name, step_weight=50, max_weight=50, metrics=[]))
        observer = Observer(k8s.kube)
        watching = asyncio.create_task(observer.run())
        operator = Operator(
            k8s.kubeconfig,
            tmp_path / "operator.log",
            metrics_server="http://127.0.0.1:9",
            extra=("--max-concurrent-runs", str(LIMIT)),
        )
        try:
            with operator:
                await operator.metrics_port()
                await eventually(
                    lambda: asyncio.sleep(0, observer.phases),
                    lambda phases: sum(p == "Initialized" for p in phases.values()) == COUNT,
                    what="Canaries initialized",
                )
                observer.armed = True
                await k8s.kube.patch("v1", "ConfigMap", "shared", NS, {"data": {"level": "2"}})
                await eventually(
                    lambda: asyncio.sleep(0, observer.phases),
                    lambda phases: set(phases.values()) == {"Succeeded"},
                    what="every run Succeeded",
                    within=240,
                )
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
    assert observer.most == LIMIT, operator.tail()
    assert sorted(observer.started) == names
    waited = sorted(observer.queued, key=lambda name: (observer.queued[name], name))
    assert len(waited) >= COUNT - LIMIT
    # those that never waited started first; the others in the order they began waiting. Two
    # slots freed by one tick admit two runs at once, whose Progressing writes may land in either
    # order: no run starts more than SAME_MOMENT seconds before one queued ahead of it.
    assert set(observer.started[: COUNT - len(waited)]).isdisjoint(waited)
    for ahead, behind in itertools.combinations(waited, 2):
        early = observer.started_at[ahead] - observer.started_at[behind]
        assert early <= SAME_MOMENT, (ahead, behind, early, observer.started, waited)
    shown = [WAITING.match(message) for message in observer.messages]
    assert len(shown) >= COUNT - LIMIT, sorted(observer.messages)
    for match in shown:  # each one says why it waits: no free slot for its place in the queue
        assert match is not None
        running, position = int(match.group(1)), int(match.group(2))
        assert running + position > LIMIT, match.group(0)
