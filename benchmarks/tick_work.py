"""The operator's own CPU for parts of a progressing tick, without any HTTP: one figure per part.

Run: ``.venv/bin/python benchmarks/tick_work.py [--part history|log|...] [--rounds 3]``.
To compare with another checkout's code, put its ``src`` first:
``PYTHONPATH=other/src .venv/bin/python benchmarks/tick_work.py`` (only APIs both have are used).

Parts:

* ``history``: :class:`serinus.operator.history.HistoryRecorder` recording ``--canaries``
  Canaries round-robin through runs of ``--points`` ticks each (weight +1 a tick, two metrics),
  against an in-memory history store (the ConfigMap writes are not counted, their preparation
  is). The figure: microseconds per recorded tick, averaged over the whole runs.
* ``log``: one per-Canary log line (``CanaryLogger.info`` with a ``%s`` argument) through the
  JSON formatter to a file, as the operator logs each step.
* ``routes``, ``status``, ``deadline``, ``merge``: a TrafficSplit's routes read, a status
  bounded and dumped for its write, a stepWeight 1 run's deadline (self-metrics), a TrafficSplit
  merged with new routes: ``--lines`` times each.

Printed: CPU microseconds per operation (``time.process_time``), best of ``--rounds`` rounds.
Figures depend on the machine; compare runs made on the same one.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import logging
import tempfile
import time
from collections.abc import Callable

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.apis.history import History
from serinus.controller.memory import VirtualClock
from serinus.kube.history import HistoryStore
from serinus.operator.history import HistoryRecorder


class _MemoryStore(HistoryStore):
    """The ConfigMaps in a dict (parsed on read as the real store does)."""

    def __init__(self) -> None:
        self.texts: dict[tuple[str, str], str] = {}

    async def read(self, namespace: str, canary_name: str) -> History | None:
        found = self.texts.get((namespace, canary_name))
        return None if found is None else History.model_validate_json(found)

    async def write_text(
        self, namespace: str, canary_name: str, owners: list[Manifest], body: str
    ) -> None:
        self.texts[(namespace, canary_name)] = body


def _canary(index: int, tick: int) -> Canary:
    metrics = [
        {"name": "request-success-rate", "value": 99.5 + tick / 1000, "min": 99.0,
         "verdict": "pass", "lastUpdateTime": "2030-01-01T00:00:00Z"},
        {"name": "request-duration", "value": 120.25 + tick, "max": 500.0, "verdict": "pass",
         "lastUpdateTime": "2030-01-01T00:00:00Z"},
    ]  # fmt: skip
    return Canary.model_validate(
        {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "Canary",
            "metadata": {"name": f"podinfo-{index}", "namespace": "bench", "uid": f"u{index}"},
            "spec": {
                "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
                "service": {"port": 9898},
                "analysis": {"interval": "10s", "threshold": 5, "stepWeight": 1, "maxWeight": 99},
            },
            "status": {
                "phase": "Progressing",
                "canaryWeight": tick + 1,
                "lastAppliedSpec": "rev-1",
                "analysisStartTime": "2030-01-01T00:00:00Z",
                "metrics": metrics,
                "message": f"Advance podinfo-{index}.bench canary weight {tick + 1}",
            },
        }
    )


def history(args: argparse.Namespace) -> Callable[[], float]:
    canaries = [[_canary(i, t) for t in range(args.points)] for i in range(args.canaries)]

    def run() -> float:
        clock = VirtualClock(datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC))
        recorder = HistoryRecorder(_MemoryStore(), clock=clock)

        async def ticks() -> None:
            for tick in range(args.points):
                for runs in canaries:
                    await recorder.record(runs[tick], before=runs[tick].status.phase)
                clock.advance(10)

        started = time.process_time()
        asyncio.run(ticks())
        return (time.process_time() - started) / (args.points * args.canaries)

    return run


def log(args: argparse.Namespace) -> Callable[[], float]:
    from serinus.logs import CanaryLogger, configure

    def run() -> float:
        with tempfile.TemporaryFile("w") as sink:
            configure(level="info", fmt="json", stream=sink)
            logger = CanaryLogger(logging.getLogger("serinus.controller.tick"), canary="p.bench")
            started = time.process_time()
            for weight in range(args.lines):
                logger.info("Advance %s canary weight %s", "podinfo.bench", weight)
            spent = time.process_time() - started
            logging.getLogger().handlers.clear()
        return spent / args.lines

    return run


def _timed(operation: Callable[[], object], count: int) -> Callable[[], float]:
    def run() -> float:
        started = time.process_time()
        for _ in range(count):
            operation()
        return (time.process_time() - started) / count

    return run


def routes(args: argparse.Namespace) -> Callable[[], float]:
    """The routes a TrafficSplit holds (read at every tick's reconcile and get_routes)."""
    from serinus.routers.smi import TrafficSplitBlueprint

    canary, blueprint = _canary(1, 9), TrafficSplitBlueprint("v1alpha1", provider="linkerd")
    split = {"spec": {"backends": [{"service": "podinfo-canary", "weight": "10"},
                                   {"service": "podinfo-primary", "weight": "90"}]}}  # fmt: skip
    return _timed(lambda: blueprint.routes(canary, split), args.lines)


def status(args: argparse.Namespace) -> Callable[[], float]:
    """A status bounded and dumped, as every status write prepares it."""
    from serinus.apis.bounded import bounded

    found = _canary(1, 9).status
    assert found is not None
    return _timed(lambda: bounded(found).dump(), args.lines)


def deadline(args: argparse.Namespace) -> Callable[[], float]:
    """The deadline of a stepWeight 1 run (the self-metrics of every progressing tick)."""
    from serinus.operating import progress

    canary = _canary(1, 9)
    return _timed(lambda: progress.deadline(canary, provider="linkerd"), args.lines)


def merge(args: argparse.Namespace) -> Callable[[], float]:
    """A TrafficSplit merged with new routes (every step's write)."""
    from serinus.ports import Routes
    from serinus.routers.smi import TrafficSplitBlueprint

    canary, blueprint = _canary(1, 9), TrafficSplitBlueprint("v1alpha1", provider="linkerd")
    desired = asyncio.run(blueprint.build(canary, Routes(90, 10)))
    existing = {"apiVersion": "split.smi-spec.io/v1alpha1", "kind": "TrafficSplit",
                "metadata": {"name": "podinfo", "namespace": "bench"}, "spec": {}}  # fmt: skip
    return _timed(lambda: blueprint.merge(canary, existing, desired), args.lines)


PARTS: dict[str, Callable[[argparse.Namespace], Callable[[], float]]] = {
    "history": history,
    "log": log,
    "routes": routes,
    "status": status,
    "deadline": deadline,
    "merge": merge,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=sorted(PARTS), action="append")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--canaries", type=int, default=100, help="history: Canaries")
    parser.add_argument("--points", type=int, default=60, help="history: ticks per run")
    parser.add_argument("--lines", type=int, default=20_000, help="log: lines; others: repeats")
    args = parser.parse_args()
    for name in args.part or list(PARTS):
        run = PARTS[name](args)
        best = min(run() for _ in range(args.rounds))
        print(f"{name:10} {best * 1e6:8.1f} us per operation")


if __name__ == "__main__":
    main()
