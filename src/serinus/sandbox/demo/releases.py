"""One release of the demo's story, and what the mesh and the clients saw during it.

:class:`Release` is filled in by :mod:`story` as the release runs and read by :mod:`summary` at
the end. :func:`served` asks Prometheus how many requests the mesh proxy served to podinfo
(primary and canary) during a release, by Linkerd's ``classification`` (success or failure).
"""

from __future__ import annotations

import dataclasses
import time

import httpx

from serinus.loadtester.hey import HeyReport
from serinus.sandbox.demo.clients import Counts


@dataclasses.dataclass
class Release:
    """One canary release of the story, and what clients and the mesh saw during it."""

    version: str
    previous: str
    expected: str
    outcome: str = ""
    started: float = 0.0
    ended: float = 0.0
    probe: Counts = dataclasses.field(default_factory=Counts)
    load_test: Counts | None = None
    load_test_running: bool = False
    served: dict[str, int] = dataclasses.field(default_factory=dict)
    injections: list[tuple[str, HeyReport | None]] = dataclasses.field(default_factory=list)
    weights: list[int] = dataclasses.field(default_factory=list)

    @property
    def title(self) -> str:
        return f"podinfo {self.previous} -> {self.version}"

    @property
    def seconds(self) -> float:
        return max(0.0, (self.ended or time.monotonic()) - self.started) if self.started else 0.0


async def served(prometheus: str, seconds: float) -> dict[str, int]:
    """Requests the mesh served to podinfo in the last ``seconds``, by Linkerd classification."""
    if not prometheus:
        return {}
    window = f"{max(1, round(seconds))}s"
    selector = 'namespace="prod",direction="inbound",deployment=~"podinfo|podinfo-primary"'
    query = f"sum by (classification) (increase(response_total{{{selector}}}[{window}]))"
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        response = await client.get(f"{prometheus}/api/v1/query", params={"query": query})
    result = response.json().get("data", {}).get("result", [])
    return {
        str(item["metric"].get("classification", "")): round(float(item["value"][1]))
        for item in result
    }
