"""What the demo watches while a release runs: the Canary, its traffic object, the operator's log.

:class:`Observer` keeps three background tasks, all reading the sandbox the way a user would:

* a watch on the Canary ``prod/podinfo``: its latest status (phase, weight, failed checks, each
  metric's last value and bounds), and the times its phase changed;
* a watch on the traffic object ``prod/podinfo`` of the operator's mesh provider (Linkerd's
  TrafficSplit, Contour's HTTPProxy): every canary weight it was set to, in order;
* the operator's log, as ``kubectl logs -f deployment/serinus -n serinus-system`` shows it,
  read from the pod's log file in the sandbox directory, one JSON line at a time.

Waiting for something (:meth:`Observer.wait_until`) polls the kept state; every change also calls
``on_change`` so the live view redraws.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import pathlib
import time
from collections.abc import Callable
from typing import Any

from serinus.apis.base import Manifest
from serinus.errors import SerinusError
from serinus.kube import Kube
from serinus.sandbox.workloads import SandboxDir

CANARY = ("flagger.app/v1beta1", "Canary")
SPLIT = ("split.smi-spec.io/v1alpha1", "TrafficSplit")
PROXY = ("projectcontour.io/v1", "HTTPProxy")
OPERATOR = ("serinus-system", "app.kubernetes.io/name=serinus", "operator")


@dataclasses.dataclass(frozen=True)
class LogLine:
    at: str
    level: str
    msg: str


class DemoTimeout(SerinusError):
    """The story did not reach a step in time."""

    retriable = False


class Observer:
    """The Canary, its traffic object and the operator's log, kept current."""

    def __init__(
        self,
        kube: Kube,
        directory: pathlib.Path,
        *,
        namespace: str = "prod",
        name: str = "podinfo",
        mesh_provider: str = "linkerd",
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.kube = kube
        self.mesh_provider = mesh_provider
        self.layout = SandboxDir(directory)
        self.namespace = namespace
        self.name = name
        self.on_change = on_change
        self.canary: Manifest | None = None
        self.phases: list[tuple[float, str]] = []
        self.weights: list[int] = []
        self.log: list[LogLine] = []
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def status(self) -> dict[str, Any]:
        return dict((self.canary or {}).get("status") or {})

    @property
    def phase(self) -> str:
        return str(self.status.get("phase") or "")

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._watch_canary(), name="demo: canary"),
            asyncio.create_task(self._watch_split(), name="demo: split"),
            asyncio.create_task(self._follow_log(), name="demo: operator log"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_until(
        self, what: str, check: Callable[[], bool], *, within: float, poll: float = 0.05
    ) -> None:
        """Return once ``check()`` holds; DemoTimeout naming ``what`` after ``within`` seconds."""
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline:
                last = "; ".join(line.msg[:160] for line in self.log[-5:]) or "no operator log"
                raise DemoTimeout(
                    f"{what}: not reached within {within:.0f}s (phase {self.phase or 'none'}, "
                    f"weight {self.status.get('canaryWeight', 0)}, failed checks "
                    f"{self.status.get('failedChecks', 0)}; last operator lines: {last})"
                )
            await asyncio.sleep(poll)

    async def _watch_canary(self) -> None:
        async for event, obj in self.kube.watch(*CANARY, namespace=self.namespace):
            if (obj.get("metadata") or {}).get("name") != self.name:
                continue
            self.canary = None if event == "DELETED" else obj
            phase = self.phase
            if phase and (not self.phases or self.phases[-1][1] != phase):
                self.phases.append((time.monotonic(), phase))
            self.on_change()

    async def _watch_split(self) -> None:
        contour = self.mesh_provider == "contour"
        kind, read = (PROXY, proxy_weight) if contour else (SPLIT, canary_weight)
        async for event, obj in self.kube.watch(*kind, namespace=self.namespace):
            if event == "DELETED" or (obj.get("metadata") or {}).get("name") != self.name:
                continue
            weight = read(obj, f"{self.name}-canary")
            if weight is not None and (not self.weights or self.weights[-1] != weight):
                self.weights.append(weight)
                self.on_change()

    async def _follow_log(self) -> None:
        namespace, selector, container = OPERATOR
        key, _, value = selector.partition("=")
        path: pathlib.Path | None = None
        offset = 0
        while True:
            size = await asyncio.to_thread(_size, path)
            if size is None:
                path = await self._operator_log(namespace, {key: value}, container)
                found = await asyncio.to_thread(_size, path)
                offset = found if found is not None else 0
            elif path is not None and size > offset:
                data = await asyncio.to_thread(_read_from, path, offset)
                complete = data[: data.rfind(b"\n") + 1]
                offset += len(complete)
                for raw in complete.splitlines():
                    self._add_log(raw)
            await asyncio.sleep(0.1)

    async def _operator_log(
        self, namespace: str, labels: dict[str, str], container: str
    ) -> pathlib.Path | None:
        with contextlib.suppress(SerinusError):
            for pod in await self.kube.list("v1", "Pod", namespace, labels):
                name = str((pod.get("metadata") or {}).get("name"))
                runs = self.layout.runs(namespace, name, container)
                if runs:
                    return self.layout.log(namespace, name, container, runs[-1])
        return None

    def _add_log(self, raw: bytes) -> None:
        try:
            line = json.loads(raw)
        except ValueError:
            return
        if not isinstance(line, dict) or "msg" not in line:
            return
        self.log.append(LogLine(str(line.get("ts", "")), str(line.get("level", "")), line["msg"]))
        self.on_change()


def _size(path: pathlib.Path | None) -> int | None:
    try:
        return path.stat().st_size if path is not None else None
    except OSError:
        return None


def _read_from(path: pathlib.Path, offset: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read()


def canary_weight(split: Manifest, backend: str) -> int | None:
    """The weight a TrafficSplit gives ``backend``, as a percentage of all its weights."""
    backends = (split.get("spec") or {}).get("backends") or []
    weights = {str(b.get("service")): _quantity(b.get("weight")) for b in backends}
    total = sum(weights.values())
    if backend not in weights or total <= 0:
        return None
    return round(100 * weights[backend] / total)


def proxy_weight(proxy: Manifest, service: str) -> int | None:
    """The weight an HTTPProxy's first route gives ``service``, as a percentage (a service
    without a weight has 0 beside one with a weight)."""
    routes = (proxy.get("spec") or {}).get("routes") or []
    services = (routes[0].get("services") or []) if routes else []
    weights = {str(s.get("name")): float(s.get("weight") or 0) for s in services}
    total = sum(weights.values())
    if service not in weights or total <= 0:
        return None
    return round(100 * weights[service] / total)


def _quantity(value: object) -> float:
    """A TrafficSplit v1alpha1 weight: a Kubernetes quantity (``5``, ``500m``) or a number."""
    text = str(value if value is not None else 0).strip()
    if text.endswith("m"):
        return float(text[:-1]) / 1000
    return float(text or 0)
