"""The timeline format of ``serinus rehearse``: what the world looks like, tick by tick.

A timeline is small YAML (documented in ``docs/rehearse.md``)::

    ticks: 14                        # how many ticks to play at most (or: until: 3m)
    start:                           # the world before the first tick
      metrics: {request-success-rate: 99.9, request-duration: 240}
    at:
      - tick: 2                      # or: time: 20s (ticks happen every analysis interval)
        revision: podinfo:2.1.2      # the target's pod template changes: a new release
      - tick: 6
        metrics: {request-success-rate: 69.17}

Every entry changes the world from then on (values hold until changed). ``metrics`` maps a metric
name to its value (``null`` = the query finds no data); ``hooks`` maps a webhook name to ``pass``,
``fail`` or a failure text; ``traffic`` sets the requests per second and each side's error rate
and latency, from which the counts the sequential judge compares are made; ``ready`` sets the
canary's or the primary's readiness; ``stuck`` makes the canary's rollout exceed its deadline;
``suspend`` sets ``spec.suspend``; ``configs`` changes tracked ConfigMap/Secret checksums.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic_core import PydanticCustomError

from serinus.apis.base import ApiModel, CheckedModel, Duration, parse_duration, problem


class Sides(ApiModel):
    canary: float | None = None
    primary: float | None = None


class Traffic(ApiModel):
    """Requests reaching the service, split by the routes the controller set (for the judge)."""

    rps: Annotated[float, Field(ge=0)] | None = None
    """Requests per second to the service, both sides together."""
    errors: Sides | None = None
    """Share of failing requests on each side, e.g. {canary: 0.3, primary: 0.005}."""
    latency: Sides | None = None
    """Each side's p99 response time in milliseconds (requests spread log-normally)."""


class Readiness(ApiModel):
    canary: bool | None = None
    primary: bool | None = None


class WorldChange(ApiModel):
    """What changes in the world at one moment; unset fields keep their value."""

    revision: str | None = None
    """A new pod template for the target (any name: an image tag reads well)."""
    configs: dict[str, str] | None = None
    """Tracked config checksums, as configmap/<name> or secret/<name> -> checksum."""
    metrics: dict[str, float | None] | None = None
    traffic: Traffic | None = None
    hooks: dict[str, Literal["pass", "fail"] | str] | None = None
    ready: Readiness | None = None
    stuck: bool | None = None
    suspend: bool | None = None
    metrics_online: bool | None = None


class Moment(WorldChange, CheckedModel):
    """A change at a tick number (1 is the first tick) or at a time since the start."""

    tick: int | None = Field(default=None, ge=1)
    time: Duration | None = None

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Iterator[PydanticCustomError]:
        if ("tick" in raw) == ("time" in raw):
            yield problem(
                "tick",
                "either tick (a number from 1) or time (such as 40s)",
                None,
                found_text="both or neither",
            )

    def due(self, *, tick: int, elapsed: float) -> bool:
        if self.tick is not None:
            return tick >= self.tick
        return self.time is not None and elapsed >= parse_duration(self.time)


class Timeline(ApiModel):
    """A scripted world for one Canary."""

    ticks: int | None = Field(default=None, ge=1)
    until: Duration | None = None
    interval: Duration | None = None
    """Time between ticks; the Canary's analysis interval when unset."""
    start: WorldChange | None = None
    at: list[Moment] = Field(default_factory=list)

    def max_ticks(self, interval: float) -> int:
        if self.ticks is not None:
            return self.ticks
        if self.until is not None:
            return int(parse_duration(self.until) // interval) + 1
        return 200
