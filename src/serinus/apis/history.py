"""The history of a Canary's runs: one timeline per run, kept beside the Canary, bounded in size.

The Canary's status holds only the present (a status write must stay small, issue 10), so the
past lives in a ConfigMap of its own (:mod:`serinus.kube.history`), written by the operator after
each tick that changed something: for every run, when it started and ended, how it ended, and a
timeline of points (phase, canary weight, failed checks, each metric's value against its bounds
and its verdict, the judge's verdict and bound), plus what was asked by hand. The dashboard and
``serinus report`` draw from it, and it survives operator restarts because it is an API object.

Bounds, so the ConfigMap stays far below the API's 1 MiB: at most :data:`MAX_RUNS` runs, at most
:data:`MAX_POINTS` points a run (when full, every other point that repeats its predecessor's
phase and weight is dropped, so the shape and every transition stay), at most
:data:`MAX_METRICS` metrics a point and :data:`MAX_BYTES` in all (older runs are thinned, then
dropped). The data is written by the operator but readable and writable by whoever may edit
ConfigMaps in the namespace, so readers validate it and show it as text, never as markup.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from serinus.apis.base import ApiModel

MAX_RUNS = 20
MAX_POINTS = 400
MAX_METRICS = 20
MAX_BYTES = 400_000
MAX_REQUESTS = 50

Short = Annotated[str, Field(max_length=300)]


class MetricPoint(ApiModel):
    """One metric at one tick."""

    name: Short
    value: float | None = None
    min: float | None = None
    max: float | None = None
    verdict: Short = ""
    """pass, fail, nodata or error."""
    judge: Short | None = None
    """The sequential judge's outcome (regression, no-regression, not-yet), when it judges."""
    ratio: float | None = None
    """Canary over primary, as the judge estimates it."""
    bound: float | None = None
    """The judge's upper confidence bound on that ratio."""


class Point(ApiModel):
    """The Canary at one tick."""

    at: Short
    """RFC 3339, UTC."""
    phase: Short
    weight: int = 0
    iterations: int = 0
    failed_checks: int = 0
    metrics: Annotated[list[MetricPoint], Field(max_length=MAX_METRICS)] = []
    message: Short | None = None
    paused: bool = False

    def same_state(self, other: Point) -> bool:
        """Same phase, weight and iteration: the traffic did not move between the two."""
        return (self.phase, self.weight, self.iterations, self.paused) == (
            other.phase,
            other.weight,
            other.iterations,
            other.paused,
        )


class Request(ApiModel):
    """A request made by hand during a run, and whether it was accepted."""

    at: Short
    action: Short
    by: Short = ""
    accepted: bool = True
    message: Short | None = None


class Run(ApiModel):
    """One run of one revision: from the new revision to Succeeded or Failed."""

    revision: Short
    """The target's pod template hash (``lastAppliedSpec``)."""
    started: Short
    ended: Short | None = None
    outcome: Short | None = None
    """Succeeded or Failed once it ended."""
    interval_seconds: float | None = None
    threshold: int | None = None
    """Failed checks that roll the run back."""
    max_weight: int | None = None
    points: Annotated[list[Point], Field(max_length=MAX_POINTS * 2)] = []
    requests: Annotated[list[Request], Field(max_length=MAX_REQUESTS * 2)] = []


class History(ApiModel):
    """Every run kept for one Canary, oldest first."""

    canary: Short = ""
    """``name.namespace``."""
    runs: Annotated[list[Run], Field(max_length=MAX_RUNS * 2)] = []

    @property
    def current(self) -> Run | None:
        return self.runs[-1] if self.runs else None
