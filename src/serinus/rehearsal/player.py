"""Plays a Canary against a timeline: the real state machine, in-memory ports, a virtual clock.

Ticks happen every analysis interval of virtual time (no sleeping), each one calling the same
:func:`serinus.controller.advance.advance` the operator calls; the in-memory router can do what
the Canary's provider can (the kubernetes provider runs blue/green, say). Before each tick, the
timeline's due changes are applied to the in-memory world. The log lines the controller writes are
captured with their virtual time, so the output is what the operator would have printed. After
each tick a :class:`Step` records where the release stands (phase, weights, routes, replicas), so a
release can be compared tick by tick. The play stops after the last tick, or as soon as a release
has ended and the timeline holds nothing more.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging

from serinus.apis.base import parse_duration
from serinus.apis.canary import Canary
from serinus.apis.status import ACTIVE_PHASES, CanaryPhase, CanaryStatus
from serinus.controller.advance import advance
from serinus.controller.memory import MemoryWorld, SideTraffic
from serinus.errors import UnknownProviderError
from serinus.ports import Routes
from serinus.rehearsal.timeline import Timeline, Traffic, WorldChange
from serinus.routers import registry as routers

_CONTROLLER_LOGGER = "serinus.controller"


@dataclasses.dataclass(frozen=True)
class LogLine:
    tick: int
    seconds: float
    level: str
    message: str


@dataclasses.dataclass(frozen=True)
class Step:
    """Where the release stood at the end of one tick."""

    tick: int
    seconds: float
    phase: CanaryPhase | None
    canary_weight: int
    failed_checks: int
    iterations: int
    routes: Routes
    canary_replicas: int


@dataclasses.dataclass
class Rehearsal:
    """What a rehearsal printed and where it ended."""

    canary: Canary
    lines: list[LogLine]
    status: CanaryStatus
    routes: Routes
    canary_replicas: int
    ticks: int
    seconds: float
    steps: list[Step] = dataclasses.field(default_factory=list)


class _Capture(logging.Handler):
    def __init__(self, world: MemoryWorld) -> None:
        super().__init__(logging.INFO)
        self.world = world
        self.tick = 0
        self.lines: list[LogLine] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(
            LogLine(
                self.tick, self.world.clock.elapsed, record.levelname.lower(), record.getMessage()
            )
        )


async def play(canary: Canary, timeline: Timeline) -> Rehearsal:
    """Run the Canary tick by tick against the timeline."""
    world = MemoryWorld.for_canary(canary)
    with contextlib.suppress(UnknownProviderError):  # an unknown provider's router can do it all
        world.router.can = routers.capabilities_for(world.provider)(canary)
    seconds = _interval(canary, timeline)
    traffic = _Traffic()
    if timeline.start is not None:
        _apply(world, timeline.start)
        traffic.update(timeline.start.traffic)
    pending = list(timeline.at)
    capture = _Capture(world)
    controller_logger = logging.getLogger(_CONTROLLER_LOGGER)
    saved = (controller_logger.level, controller_logger.propagate)
    controller_logger.addHandler(capture)
    controller_logger.setLevel(logging.INFO)
    controller_logger.propagate = False
    ran = False
    tick = 0
    steps: list[Step] = []
    try:
        for tick in range(1, timeline.max_ticks(seconds) + 1):
            capture.tick = tick
            if tick > 1:
                _serve(world, traffic, seconds)
            for moment in [m for m in pending if m.due(tick=tick, elapsed=world.clock.elapsed)]:
                _apply(world, moment)
                traffic.update(moment.traffic)
                pending.remove(moment)
            stored = await world.store.get(canary.namespace, canary.name)
            assert stored is not None  # the rehearsal's own store: nothing deletes it
            phase = (await advance(world.ports, stored)).phase
            steps.append(_step(world, canary, tick))
            ran = ran or phase in ACTIVE_PHASES
            ended = ran and phase in (CanaryPhase.SUCCEEDED, CanaryPhase.FAILED)
            if ended and not any(m.revision or m.configs for m in pending):
                break
            world.clock.advance(seconds)
    finally:
        controller_logger.removeHandler(capture)
        controller_logger.setLevel(saved[0])
        controller_logger.propagate = saved[1]
    return Rehearsal(
        canary=canary,
        lines=capture.lines,
        status=world.store.status(canary.namespace, canary.name),
        routes=world.router.routes,
        canary_replicas=world.target.canary_replicas,
        ticks=tick,
        seconds=world.clock.elapsed,
        steps=steps,
    )


def _step(world: MemoryWorld, canary: Canary, tick: int) -> Step:
    status = world.store.status(canary.namespace, canary.name)
    return Step(
        tick=tick,
        seconds=world.clock.elapsed,
        phase=status.phase,
        canary_weight=status.canary_weight,
        failed_checks=status.failed_checks,
        iterations=status.iterations,
        routes=dataclasses.replace(world.router.routes, source=None),
        canary_replicas=world.target.canary_replicas,
    )


@dataclasses.dataclass
class _Traffic:
    """The traffic the timeline describes now."""

    rps: float = 0.0
    canary_errors: float = 0.0
    primary_errors: float = 0.0
    canary_latency: float = 100.0
    primary_latency: float = 100.0

    def update(self, change: Traffic | None) -> None:
        if change is None:
            return
        if change.rps is not None:
            self.rps = change.rps
        for side in ("canary", "primary"):
            error = getattr(change.errors, side, None) if change.errors else None
            if error is not None:
                setattr(self, f"{side}_errors", error)
            latency = getattr(change.latency, side, None) if change.latency else None
            if latency is not None:
                setattr(self, f"{side}_latency", latency)


def _serve(world: MemoryWorld, traffic: _Traffic, seconds: float) -> None:
    """Record the requests of the interval that just ended, split by the routes of that interval."""
    if traffic.rps <= 0:
        return
    routes = world.router.routes
    total = traffic.rps * seconds
    canary_share = 1.0 if routes.mirrored else routes.canary / 100
    primary_share = routes.primary / 100
    canary = total * canary_share if world.target.canary_replicas > 0 else 0.0
    primary = total * primary_share
    world.metrics.record(
        SideTraffic(canary, canary * traffic.canary_errors, traffic.canary_latency),
        SideTraffic(primary, primary * traffic.primary_errors, traffic.primary_latency),
    )


def _interval(canary: Canary, timeline: Timeline) -> float:
    if timeline.interval is not None:
        return max(parse_duration(timeline.interval), 1.0)
    analysis = canary.spec.effective_analysis
    return analysis.interval_seconds if analysis is not None else 60.0


def _apply(world: MemoryWorld, change: WorldChange) -> None:
    """Apply one timeline change to the in-memory world."""
    if change.revision is not None:
        world.target.spec_hash = change.revision
    if change.configs is not None:
        world.target.configs = dict(change.configs)
    if change.metrics is not None:
        world.metrics.values.update(change.metrics)
    if change.metrics_online is not None:
        world.metrics.online = change.metrics_online
    for name, answer in (change.hooks or {}).items():
        world.webhooks.answers[name] = True if answer == "pass" else answer
    if change.ready is not None:
        if change.ready.canary is not None:
            world.target.canary_ready = change.ready.canary
        if change.ready.primary is not None:
            world.target.primary_ready = change.ready.primary
    if change.stuck is not None:
        world.target.canary_stuck = change.stuck
    if change.suspend is not None:
        for key, stored in world.store.canaries.items():
            spec = stored.spec.model_copy(update={"suspend": change.suspend})
            world.store.canaries[key] = stored.model_copy(update={"spec": spec})
