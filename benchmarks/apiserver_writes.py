"""The sandbox API server's CPU per request under an operator's write mix, with watchers connected.

Run: ``.venv/bin/python benchmarks/apiserver_writes.py [--objects 1000] [--ticks 1500]
[--watchers 3] [--concurrency 16] [--baseline OTHER/src]``.

The API server runs as its own process (``serinus sandbox apiserver``, as in
``operator_scale.py``); this script creates ``--objects`` Deployments, Canaries (with a Flagger
status), SMI TrafficSplits and history ConfigMaps in namespace ``bench``, opens ``--watchers``
watches on each of the four kinds (as that many operator replicas would), then plays ``--ticks``
progressing ticks in five phases, one request kind each, so every kind gets its own figure: GET
of a Canary, PUT of a Canary's status (weight and timestamps changed), PUT of a TrafficSplit
(weights changed), POST of an Event and PUT of a ConfigMap (its data changed). Requests run
``--concurrency`` at a time over keep-alive connections.

Printed per phase: requests per second and the API server's CPU milliseconds per request (user +
system from ``/proc/PID/stat`` over the phase, so the client's own work is not in it), then the
same over all phases. With ``--baseline`` (the ``src`` directory of another checkout, e.g. of
the main branch) the same run is made first with the API server from there, and each phase's
CPU per request is printed for both with their ratio. The figures depend on the machine;
compare runs made on the same one.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import pathlib
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import yaml
from scale_cluster import NS, TRAFFIC_SPLIT_CRD, canary, deployment, proc_cpu, start_apiserver

from serinus.apis.crds import custom_resource_definitions

CANARIES = f"/apis/flagger.app/v1beta1/namespaces/{NS}/canaries"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
SPLITS = f"/apis/split.smi-spec.io/v1alpha2/namespaces/{NS}/trafficsplits"
EVENTS = f"/api/v1/namespaces/{NS}/events"
CONFIGMAPS = f"/api/v1/namespaces/{NS}/configmaps"


def stamp() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canary_status(weight: int) -> dict[str, Any]:
    """A progressing Canary's status as Flagger writes it."""
    moment = stamp()
    return {
        "phase": "Progressing",
        "canaryWeight": weight,
        "failedChecks": 0,
        "iterations": weight,
        "lastAppliedSpec": "5d8f7c9b6",
        "lastPromotedSpec": "7b9c8d6f5",
        "lastTransitionTime": moment,
        "trackedConfigs": {"configmap/app-config": "6c7d8e9f0a1b2c3d"},
        "conditions": [
            {
                "type": "Promoted",
                "status": "Unknown",
                "reason": "Progressing",
                "message": "New revision detected, progressing canary analysis.",
                "lastUpdateTime": moment,
                "lastTransitionTime": moment,
            }
        ],
    }


def traffic_split(name: str, weight: int) -> dict[str, Any]:
    return {
        "apiVersion": "split.smi-spec.io/v1alpha2",
        "kind": "TrafficSplit",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "service": name,
            "backends": [
                {"service": f"{name}-primary", "weight": 100 - weight},
                {"service": f"{name}-canary", "weight": weight},
            ],
        },
    }


def event(name: str, tick: int) -> dict[str, Any]:
    moment = stamp()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.{tick:x}", "namespace": NS},
        "involvedObject": {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "Canary",
            "name": name,
            "namespace": NS,
        },
        "reason": "Synced",
        "message": f"Advance {name}.{NS} canary weight {tick % 100}",
        "type": "Normal",
        "source": {"component": "flagger"},
        "firstTimestamp": moment,
        "lastTimestamp": moment,
        "count": 1,
    }


def history(name: str, tick: int) -> dict[str, Any]:
    """A Canary's history ConfigMap, as the operator keeps it (a JSON document in one key)."""
    points = [{"at": stamp(), "weight": w, "phase": "Progressing"} for w in range(tick % 20)]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{name}-history", "namespace": NS},
        "data": {"runs": json.dumps([{"revision": "5d8f7c9b6", "points": points}])},
    }


class Driver:
    def __init__(self, session: aiohttp.ClientSession, url: str, objects: int) -> None:
        self.session = session
        self.url = url
        self.names = [f"app{i:04d}" for i in range(objects)]
        self.canaries: dict[str, dict[str, Any]] = {}
        self.splits: dict[str, dict[str, Any]] = {}
        self.histories: dict[str, dict[str, Any]] = {}

    async def call(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        async with self.session.request(method, self.url + path, json=body) as response:
            answer: dict[str, Any] = await response.json()
            if response.status >= 300:
                raise SystemExit(f"{method} {path}: {response.status} {answer}")
            return answer

    async def populate(self) -> None:
        for crd in custom_resource_definitions().values():
            await self.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        for crd in yaml.safe_load_all(TRAFFIC_SPLIT_CRD.read_text()):
            if crd:
                await self.call(
                    "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd
                )
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
        await self.call("POST", "/api/v1/namespaces", namespace)

        async def one(name: str) -> None:
            await self.call("POST", DEPLOYMENTS, deployment(name, "app:1.0.0"))
            created = await self.call("POST", CANARIES, canary(name))
            created["status"] = canary_status(0)
            self.canaries[name] = await self.call("PUT", f"{CANARIES}/{name}/status", created)
            self.splits[name] = await self.call("POST", SPLITS, traffic_split(name, 0))
            self.histories[name] = await self.call("POST", CONFIGMAPS, history(name, 0))

        await self.bounded(one(name) for name in self.names)

    async def bounded(self, calls: Any) -> None:
        limit = asyncio.Semaphore(self.concurrency)

        async def one(call: Awaitable[None]) -> None:
            async with limit:
                await call

        await asyncio.gather(*(one(call) for call in calls))

    concurrency = 16

    async def get_canary(self, tick: int) -> None:
        name = self.names[tick % len(self.names)]
        self.canaries[name] = await self.call("GET", f"{CANARIES}/{name}")

    def weight(self, tick: int) -> tuple[str, int]:
        """The object a tick writes and a weight other than the one it holds (every write is a
        change, so every write makes a watch event)."""
        index, rounds = tick % len(self.names), tick // len(self.names)
        return self.names[index], index % 50 + rounds + 1

    async def put_status(self, tick: int) -> None:
        name, weight = self.weight(tick)
        obj = self.canaries[name]
        obj["status"] = canary_status(weight)
        self.canaries[name] = await self.call("PUT", f"{CANARIES}/{name}/status", obj)

    async def put_split(self, tick: int) -> None:
        name, weight = self.weight(tick)
        obj = self.splits[name]
        obj["spec"]["backends"][0]["weight"] = 100 - weight
        obj["spec"]["backends"][1]["weight"] = weight
        self.splits[name] = await self.call("PUT", f"{SPLITS}/{name}", obj)

    async def post_event(self, tick: int) -> None:
        name = self.names[tick % len(self.names)]
        await self.call("POST", EVENTS, event(name, tick))

    async def put_history(self, tick: int) -> None:
        name, weight = self.weight(tick)
        obj = self.histories[name]
        obj["data"] = history(name, weight)["data"]
        self.histories[name] = await self.call("PUT", f"{CONFIGMAPS}/{name}-history", obj)


async def drain(session: aiohttp.ClientSession, url: str, path: str, seen: list[int]) -> None:
    """One watcher: read events as an operator's informer would (decoded, then dropped)."""
    async with session.get(url + path, params={"watch": "true"}, timeout=None) as response:
        async for _line in response.content:
            seen[0] += 1


async def run(args: argparse.Namespace) -> None:
    baseline = None
    if args.baseline is not None:
        print(f"API server from {args.baseline}:")
        baseline = await run_one(args, args.baseline)
        print("\nAPI server from this checkout:")
    figures = await run_one(args, None)
    if baseline is not None:
        print(f"\n{'phase':<20}{'baseline ms/req':>16}{'this ms/req':>14}{'ratio':>8}")
        for label, cpu in figures.items():
            print(f"{label:<20}{baseline[label]:>16.2f}{cpu:>14.2f}{cpu / baseline[label]:>8.2f}")


async def run_one(args: argparse.Namespace, source: pathlib.Path | None) -> dict[str, float]:
    """One measurement with a fresh API server (from ``source``, else this checkout)."""
    saved = os.environ.get("PYTHONPATH")
    if source is not None:
        os.environ["PYTHONPATH"] = str(source)
    with tempfile.TemporaryDirectory(prefix="apiserver-writes-") as tmp:
        try:
            process, url = start_apiserver(pathlib.Path(tmp))
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved
        try:
            return await measure(args, process.pid, url)
        finally:
            process.terminate()
            process.wait(timeout=30)


async def measure(args: argparse.Namespace, pid: int, url: str) -> dict[str, float]:
    kinds = (CANARIES, DEPLOYMENTS, SPLITS, CONFIGMAPS)
    connector = aiohttp.TCPConnector(limit=args.concurrency + len(kinds) * args.watchers + 4)
    async with aiohttp.ClientSession(connector=connector) as session:
        driver = Driver(session, url, args.objects)
        driver.concurrency = args.concurrency
        began = time.monotonic()
        await driver.populate()
        print(
            f"populated {args.objects} Deployments, Canaries, TrafficSplits and ConfigMaps "
            f"in {time.monotonic() - began:.1f} s"
        )
        seen = [0]
        watchers = [
            asyncio.create_task(drain(session, url, path, seen))
            for path in kinds
            for _ in range(args.watchers)
        ]
        await asyncio.sleep(1.0)  # the watchers' initial lists
        phases: list[tuple[str, Callable[[int], Awaitable[None]]]] = [
            ("GET canary", driver.get_canary),
            ("PUT canary status", driver.put_status),
            ("PUT trafficsplit", driver.put_split),
            ("POST event", driver.post_event),
            ("PUT configmap", driver.put_history),
        ]
        print(f"{'phase':<20}{'requests':>10}{'req/s':>10}{'server CPU ms/req':>20}")
        total_cpu = total_time = 0.0
        total_requests = 0
        figures: dict[str, float] = {}
        for label, step in phases:
            cpu, start = proc_cpu(pid), time.monotonic()
            await driver.bounded(step(tick) for tick in range(args.ticks))
            await asyncio.sleep(0.2)  # the watch events of the last writes go out
            used, elapsed = proc_cpu(pid) - cpu, time.monotonic() - start
            total_cpu, total_time = total_cpu + used, total_time + elapsed
            total_requests += args.ticks
            figures[label] = used * 1000 / args.ticks
            print(
                f"{label:<20}{args.ticks:>10}{args.ticks / elapsed:>10.0f}{figures[label]:>20.2f}"
            )
        figures["all"] = total_cpu * 1000 / total_requests
        print(
            f"{'all':<20}{total_requests:>10}{total_requests / total_time:>10.0f}"
            f"{figures['all']:>20.2f}"
        )
        expected = args.watchers * (4 * args.objects + 3 * args.ticks)
        print(f"watch events received: {seen[0]} of {expected} ({args.watchers} per kind)")
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=1500, help="requests per phase")
    parser.add_argument("--watchers", type=int, default=3, help="watches per kind")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--baseline",
        type=pathlib.Path,
        help="the src directory of another checkout: measure its API server first",
    )
    args = parser.parse_args()
    if args.baseline is not None:
        args.baseline = args.baseline.resolve()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
