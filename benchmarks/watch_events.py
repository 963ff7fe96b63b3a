"""An operator replica's CPU per watch event: its informers fed a real API server's watch streams.

Run: ``.venv/bin/python benchmarks/watch_events.py [--changes 6000] [--canaries 200]
[--rounds 3]``.

With ``--shards auto`` every replica receives every change in the cluster (each Canary status
PUT, TrafficSplit PUT and run-history ConfigMap PUT of every replica's ticks), so what one watch
event costs is paid by every replica. This script starts the sandbox API server as its own
process, creates ``--canaries`` Canaries (with a status), as many SMI TrafficSplits and
run-history ConfigMaps in namespace ``bench``, then makes ``--changes`` changes (a Canary status
PUT and a TrafficSplit PUT per step, a ConfigMap PUT every fifth step, as progressing ticks make
them, each one a new resourceVersion). Then, in each of ``--rounds`` rounds, two consumer
processes in turn watch the three kinds from the version before the first change, as the
operator's informers do (on uvloop's event loop; the Canaries' events also told to a listener
that reads them as :class:`serinus.operator.canaries.Canaries` does), until they have every
change:

* **current**: :class:`serinus.kube.cache.Informer` over ``Kube``'s informer watch; the listener
  reads :class:`~serinus.operator.followed.Followed` from the event's bytes;
* **former**: the event path as it was before (``former_watch.py``: every event decoded whole
  into dicts, its object encoded again to be held; the listener reads the document).

The API server sends what its window holds as fast as the consumer reads, so events come many
to a read, as they do to a busy operator. Printed: each consumer's CPU microseconds per event
(user and system of its process, from its first event to its last; best round), and their
ratio. The figures depend on the machine; compare runs made on the same one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import pathlib
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import former_watch
import uvloop
import yaml
from kube_request import progressing
from scale_cluster import NS, TRAFFIC_SPLIT_CRD, canary, start_apiserver

from serinus.apis.crds import custom_resource_definitions
from serinus.kube import Kube, KubeSettings, watch
from serinus.kube import cache as current
from serinus.operator.followed import Followed

SCRIPT = str(pathlib.Path(__file__).resolve())
KINDS = (
    ("flagger.app/v1beta1", "Canary"),
    ("split.smi-spec.io/v1alpha2", "TrafficSplit"),
    ("v1", "ConfigMap"),
)
HISTORY = json.dumps(
    {
        "canary": ["bench", "app"],
        "runs": [
            {"revision": f"r{i}", "phase": "Succeeded", "weights": list(range(0, 50, 5))}
            for i in range(12)
        ],
    },
    separators=(",", ":"),
)


def traffic_split(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "split.smi-spec.io/v1alpha2",
        "kind": "TrafficSplit",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "service": name,
            "backends": [
                {"service": f"{name}-primary", "weight": 100},
                {"service": f"{name}-canary", "weight": 0},
            ],
        },
    }


def history(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"{name}-serinus-history",
            "namespace": NS,
            "labels": {"serinus.io/history": "true", "app.kubernetes.io/managed-by": "serinus"},
        },
        "data": {"history.json": HISTORY},
    }


# the consumers


def _cpu() -> tuple[float, float]:
    """User and system CPU seconds of this process (to the microsecond)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


class Counter:
    """Events received; ``reached`` is set once ``target`` of them have come."""

    def __init__(self) -> None:
        self.n = 0
        self.target: int | None = None
        self.reached = asyncio.Event()
        self.start = _cpu()

    def wait_for(self, target: int) -> None:
        self.target = target
        if self.n >= target:
            self.reached.set()


async def _counted(events: AsyncIterator[Any], counter: Counter) -> AsyncIterator[Any]:
    async for event in events:
        if counter.n == 0:  # connections open, kinds known: the clock starts
            counter.start = _cpu()
        counter.n += 1
        if counter.target is not None and counter.n >= counter.target:
            counter.reached.set()
        yield event


async def _listener(queue: asyncio.Queue[tuple[str, Any]]) -> None:
    while True:  # what Canaries.on_event reads of each event (the former read the document)
        _, obj = await queue.get()
        Followed.of(obj)


async def consume(mode: str, url: str, since: str, wanted: int) -> None:
    """Follow the three kinds from version ``since``; report the CPU until ``wanted`` events."""
    counter = Counter()
    counter.wait_for(wanted)
    async with Kube(KubeSettings.for_server(url, namespace=NS)) as kube, asyncio.TaskGroup() as g:
        for api_version, kind in KINDS:
            queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
            if mode == "former":
                former = former_watch.FormerInformer(api_version, kind)
                events = former_watch.follow(kube, api_version, kind, since)
                g.create_task(former.run(_counted(events, counter)))
                former.listeners.append(queue)
            else:
                informer = current.Informer(api_version, kind, None)
                g.create_task(informer.run(_since(kube, since, counter)))
                queue = informer.listen()
            if kind == "Canary":
                g.create_task(_listener(queue))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(counter.reached.wait(), 300)
        start, end = counter.start, _cpu()
        user, system = end[0] - start[0], end[1] - start[1]
        print(json.dumps({"events": counter.n, "user": user, "system": system}), flush=True)
        raise SystemExit(0)


def _since(kube: Kube, version: str, counter: Counter) -> current.Watcher:
    """``Kube``'s informer watch, from ``version`` rather than from a list."""

    def watcher(
        api_version: str, kind: str, scope: str | None, synced: Callable[[], None]
    ) -> AsyncIterator[Any]:
        events = watch.follow(
            lambda: kube.list_at(api_version, kind, scope),
            lambda at: kube._stream(api_version, kind, scope, at, None, raw=True),
            resource_version=version,
            policy=kube.settings.retry,
            keep=watch.metadata_only,
        )
        return _counted(events, counter)

    return watcher


# the cluster and the changes


async def populate(kube: Kube, n: int) -> dict[str, dict[str, Any]]:
    for crd in custom_resource_definitions().values():
        await kube.create(crd)
    for crd in yaml.safe_load_all(TRAFFIC_SPLIT_CRD.read_text()):
        if crd:
            await kube.create(crd)
    await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    await asyncio.sleep(0.5)  # the CRDs are served
    objects: dict[str, dict[str, Any]] = {}
    for i in range(n):
        name = f"app{i:04d}"
        created = await kube.create(canary(name))
        objects[f"c{i}"] = await kube.replace_status(progressing(created, 1))
        objects[f"t{i}"] = await kube.create(traffic_split(name))
        objects[f"h{i}"] = await kube.create(history(name))
    return objects


async def change(kube: Kube, objects: dict[str, dict[str, Any]], n: int, count: int) -> int:
    """``count`` changes, 16 at a time (one object's one after another); the number made."""
    steps: list[str] = []
    step = 0
    while len(steps) < count:
        i = step % n
        steps += [f"c{i}", f"t{i}"] + ([f"h{i}"] if step % 5 == 0 else [])
        step += 1
    steps = steps[:count]
    shares: list[list[tuple[int, str]]] = [[] for _ in range(16)]
    for k, key in enumerate(steps):
        shares[int(key[1:]) % 16].append((k, key))

    async def worker(share: list[tuple[int, str]]) -> None:
        for k, key in share:
            obj = objects[key]
            if key[0] == "c":
                body = progressing(obj, k % 100 + 1)
                body["status"]["iterations"] = k  # a change every time
                written = await kube.replace_status(body)
            elif key[0] == "t":
                obj["spec"]["backends"][1]["weight"] = k % 100
                obj["metadata"].setdefault("annotations", {})["bench/step"] = str(k)
                written = await kube.replace(obj)
            else:
                obj["data"]["history.json"] = HISTORY[:-1] + f',"step":{k}}}'
                written = await kube.replace(obj)
            objects[key] = written

    await asyncio.gather(*(worker(share) for share in shares))
    return len(steps)


async def prepare(url: str, changes: int, n: int) -> tuple[int, float, str]:
    """The objects, then the changes: (changes made, seconds taken, the version before)."""
    async with Kube(KubeSettings.for_server(url, namespace=NS)) as kube:
        objects = await populate(kube, n)
        _, since = await kube.list_at("v1", "Namespace")
        started = time.monotonic()
        made = await change(kube, objects, n, changes)
        return made, time.monotonic() - started, since


def main(changes: int, n: int, rounds: int) -> None:
    figures: dict[str, list[tuple[float, float, float]]] = {"former": [], "current": []}
    with tempfile.TemporaryDirectory() as directory:
        api, url = start_apiserver(pathlib.Path(directory))
        try:
            made, seconds, since = asyncio.run(prepare(url, changes, n))
            for _ in range(rounds):
                for mode, found in figures.items():
                    command = [sys.executable, SCRIPT, "--consume", mode, "--server", url]
                    command += ["--since", since, "--changes", str(made)]
                    answer = subprocess.run(command, capture_output=True, text=True)
                    if answer.returncode != 0:
                        raise SystemExit(f"the {mode} consumer failed: {answer.stderr[-2000:]}")
                    result = json.loads(answer.stdout)
                    if result["events"] != made:
                        raise SystemExit(f"{mode}: {result['events']} events of {made}")
                    after = made - 1  # the clock starts at the first event
                    user, system = result["user"] / after * 1e6, result["system"] / after * 1e6
                    found.append((user + system, user, system))
        finally:
            api.terminate()
            api.wait()
    print(
        f"{made} changes over {n} Canaries ({made / seconds:.0f}/s), then watched from before"
        f" the first by each consumer, {rounds} rounds (CPU per event, best round):"
    )
    best = {mode: min(found) for mode, found in figures.items()}
    for mode, (total, user, system) in best.items():
        print(f"  {mode:<8} {total:7.1f} µs ({user:.1f} user, {system:.1f} system)")
    print(f"  ratio (former / current) {best['former'][0] / best['current'][0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=6000)
    parser.add_argument("--canaries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--consume", choices=("former", "current"), help=argparse.SUPPRESS)
    parser.add_argument("--server", help=argparse.SUPPRESS)
    parser.add_argument("--since", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.consume:
        # on uvloop's event loop, as the operator runs
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(
                consume(arguments.consume, arguments.server, arguments.since, arguments.changes)
            )
    else:
        main(arguments.changes, arguments.canaries, arguments.rounds)
