"""In-memory implementations of every port, for the controller's tests and ``serinus rehearse``.

They hold the world as plain attributes that a test or a timeline sets between ticks (metric
values, webhook answers, readiness, the target's revision) and record what the controller did
(routes set, scales, Events, alerts, webhook calls), so scenarios assert on them tick by tick.
Nothing here sleeps or does I/O; time is a :class:`VirtualClock`.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import math
from collections.abc import Callable

from serinus.apis.analysis import CanaryMetric, CanaryWebhook, Severity
from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase, CanaryStatus
from serinus.capabilities import Capabilities, Matching
from serinus.errors import (
    NoValuesFoundError,
    ProviderUnavailableError,
    TargetNotFoundError,
    WebhookRejectedError,
)
from serinus.ports import (
    Buckets,
    CountComparison,
    Counts,
    EventType,
    History,
    LatencyComparison,
    Readiness,
    Revision,
    Routes,
    World,
)

EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


class VirtualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime.datetime = EPOCH) -> None:
        self.current = start

    def now(self) -> datetime.datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += datetime.timedelta(seconds=seconds)

    @property
    def elapsed(self) -> float:
        return (self.current - EPOCH).total_seconds()


class MemoryStore:
    """Canaries by namespace/name; status writes replace the stored status."""

    def __init__(self, *canaries: Canary) -> None:
        self.canaries: dict[tuple[str, str], Canary] = {}
        self.writes = 0
        for canary in canaries:
            self.put(canary)

    def put(self, canary: Canary) -> None:
        self.canaries[(canary.namespace, canary.name)] = canary.model_copy(deep=True)

    async def get(self, namespace: str, name: str) -> Canary | None:
        canary = self.canaries.get((namespace, name))
        return canary.model_copy(deep=True) if canary else None

    async def write_status(self, canary: Canary, status: CanaryStatus) -> Canary:
        stored = self.canaries.get((canary.namespace, canary.name), canary)
        updated = stored.model_copy(update={"status": status.model_copy(deep=True)}, deep=True)
        self.canaries[(canary.namespace, canary.name)] = updated
        self.writes += 1
        return updated.model_copy(deep=True)

    def status(self, namespace: str, name: str) -> CanaryStatus:
        return self.canaries[(namespace, name)].status or CanaryStatus()

    def stored(self, namespace: str, name: str) -> Canary:
        """The Canary as stored now (a copy), as a caller of ``advance`` reads it."""
        return self.canaries[(namespace, name)].model_copy(deep=True)


@dataclasses.dataclass
class MemoryTarget:
    """The target workload and its primary copy, as replicas, readiness and template hashes."""

    spec_hash: str = "rev-1"
    configs: dict[str, str] = dataclasses.field(default_factory=dict)
    replicas: int = 1
    canary_replicas: int = 1
    primary_replicas: int = 0
    primary_hash: str | None = None
    primary_exists: bool = False
    canary_ready: bool = True
    primary_ready: bool = True
    canary_stuck: bool = False
    """The canary's rollout exceeded its deadline (Kubernetes' ProgressDeadlineExceeded)."""
    promotions: int = 0
    stops_primary: bool = False
    """Promotion takes the primary down (a StatefulSet promoted from zero)."""
    exists: bool = True
    """False once the target workload is deleted: every call then raises TargetNotFoundError."""

    def _require(self, canary: Canary) -> None:
        if not self.exists:
            ref = canary.spec.target_ref
            raise TargetNotFoundError(f"{ref.kind} {canary.namespace}/{ref.name} not found")

    async def initialize(self, canary: Canary) -> None:
        self._require(canary)
        if not self.primary_exists:
            self.primary_exists = True
            self.primary_hash = self.spec_hash
            self.primary_replicas = self.replicas

    async def revision(self, canary: Canary) -> Revision:
        self._require(canary)
        return Revision(self.spec_hash, dict(self.configs))

    async def is_primary_ready(self, canary: Canary) -> Readiness:
        if self.primary_ready:
            return Readiness(True)
        name = f"{canary.spec.target_ref.name}-primary.{canary.namespace}"
        return Readiness(False, f"{name} not ready: waiting for rollout to finish")

    async def is_canary_ready(self, canary: Canary) -> Readiness:
        self._require(canary)
        if self.canary_ready and not self.canary_stuck:
            return Readiness(True)
        name = f"{canary.spec.target_ref.name}.{canary.namespace}"
        kind = canary.spec.target_ref.kind.lower()
        if self.canary_stuck:
            stuck = f'{kind} "{canary.spec.target_ref.name}" exceeded its progress deadline'
            return Readiness(False, f"canary {kind} {name} not ready: {stuck}", False)
        return Readiness(False, f"canary {kind} {name} not ready: waiting for rollout to finish")

    async def promote(self, canary: Canary) -> None:
        self._require(canary)
        self.primary_hash = self.spec_hash
        self.promotions += 1

    async def promotion_stops_primary(self, canary: Canary) -> bool:
        return self.stops_primary

    async def scale_to_zero(self, canary: Canary) -> None:
        self._require(canary)
        self.canary_replicas = 0

    async def scale_from_zero(self, canary: Canary) -> None:
        self._require(canary)
        self.canary_replicas = self.replicas

    async def finalize(self, canary: Canary) -> None:
        self._require(canary)
        self.canary_replicas = self.replicas


EVERYTHING = Capabilities(
    matching=Matching("the in-memory router"), mirroring=True, session_affinity=True
)
"""What the in-memory router can do unless a test or rehearsal says otherwise: all of it."""


@dataclasses.dataclass
class MemoryRouter:
    """The traffic split, and every change made to it."""

    routes: Routes = dataclasses.field(default_factory=lambda: Routes(100, 0))
    can: Capabilities = EVERYTHING
    """What it answers to :meth:`capabilities` (a provider's own, to play that provider)."""
    initialized: bool = False
    reconciled: bool = False
    history: list[Routes] = dataclasses.field(default_factory=list)
    on_change: Callable[[Routes], None] | None = None

    def capabilities(self, canary: Canary) -> Capabilities:
        return self.can

    async def initialize(self, canary: Canary) -> None:
        self.initialized = True

    async def reconcile(self, canary: Canary) -> None:
        self.reconciled = True

    async def set_routes(
        self, canary: Canary, routes: Routes, *, current: Routes | None = None
    ) -> None:
        if routes != self.routes:
            self.history.append(routes)
        self.routes = routes
        if self.on_change is not None:
            self.on_change(routes)

    async def get_routes(self, canary: Canary) -> Routes:
        return self.routes

    async def finalize(self, canary: Canary) -> None:
        self.routes = Routes(100, 0)


LATENCY_BUCKETS_MS = (
    1,
    2,
    3,
    4,
    5,
    10,
    20,
    30,
    40,
    50,
    100,
    200,
    300,
    400,
    500,
    1000,
    2000,
    3000,
    4000,
    5000,
    10000,
    20000,
    30000,
    40000,
    50000,
)
"""The Linkerd proxy's latency bucket bounds, in milliseconds."""


@dataclasses.dataclass(frozen=True)
class SideTraffic:
    """Requests one side served in one interval, how many failed, and how long they took."""

    requests: float
    errors: float
    latency_ms: float


@dataclasses.dataclass(frozen=True)
class TrafficRecord:
    at: datetime.datetime
    canary: SideTraffic
    primary: SideTraffic


@dataclasses.dataclass
class MemoryMetrics:
    """Metric values by name (None means the query finds no data), and recorded traffic."""

    values: dict[str, float | None] = dataclasses.field(default_factory=dict)
    online: bool = True
    measured: list[str] = dataclasses.field(default_factory=list)
    traffic: list[TrafficRecord] = dataclasses.field(default_factory=list)
    clock: VirtualClock = dataclasses.field(default_factory=VirtualClock)
    scrape_delay: float | None = None
    """Seconds between the last traffic recorded and the newest sample of every series (the
    judge's watermark); None: no series report sample times, so the judge waits its fixed lag."""

    def record(self, canary: SideTraffic, primary: SideTraffic) -> None:
        """Traffic served in the interval that ends now."""
        self.traffic.append(TrafficRecord(self.clock.now(), canary, primary))

    def _window(self, since: datetime.datetime, until: datetime.datetime) -> list[TrafficRecord]:
        return [r for r in self.traffic if since < r.at <= until]

    async def compare_counts(
        self,
        canary: Canary,
        metric: CanaryMetric,
        *,
        since: datetime.datetime,
        until: datetime.datetime,
    ) -> CountComparison:
        records = self._window(since, until)
        return CountComparison(
            canary=Counts(
                sum(r.canary.requests for r in records), sum(r.canary.errors for r in records)
            ),
            primary=Counts(
                sum(r.primary.requests for r in records), sum(r.primary.errors for r in records)
            ),
        )

    async def compare_latency(
        self,
        canary: Canary,
        metric: CanaryMetric,
        *,
        since: datetime.datetime,
        until: datetime.datetime,
    ) -> LatencyComparison:
        records = self._window(since, until)
        return LatencyComparison(
            canary=_histogram([r.canary for r in records]),
            primary=_histogram([r.primary for r in records]),
        )

    async def primary_history(
        self,
        canary: Canary,
        metric: CanaryMetric,
        *,
        until: datetime.datetime,
        seconds: float,
        step: float,
    ) -> History:
        edges = [
            until - datetime.timedelta(seconds=step * k)
            for k in range(int(seconds // step), -1, -1)
        ]
        windows = [self._window(a, b) for a, b in itertools.pairwise(edges)]
        if metric.name == "request-duration":
            return History(counts=[], latency=[_histogram([r.primary for r in w]) for w in windows])
        counts = [
            Counts(sum(r.primary.requests for r in w), sum(r.primary.errors for r in w))
            for w in windows
        ]
        return History(counts=counts, latency=[])

    async def watermark(self, canary: Canary, metric: CanaryMetric) -> datetime.datetime | None:
        if self.scrape_delay is None or not self.traffic:
            return None
        return self.traffic[-1].at - datetime.timedelta(seconds=self.scrape_delay)

    async def check_online(self, canary: Canary) -> None:
        if not self.online:
            raise ProviderUnavailableError("prometheus is not reachable")

    async def measure(self, canary: Canary, metric: CanaryMetric) -> float:
        self.measured.append(metric.name)
        value = self.values.get(metric.name, _DEFAULTS.get(metric.name))
        if value is None:
            target = f"{canary.spec.target_ref.name}.{canary.namespace}"
            raise NoValuesFoundError(
                f"no values found for metric {metric.name} probably {target} is not receiving "
                "traffic"
            )
        return value


_DEFAULTS: dict[str, float | None] = {"request-success-rate": 100.0, "request-duration": 100.0}


_LATENCY_SIGMA = 0.5
_Z99 = 2.3263478740408408  # the standard normal's 99th percentile


def _histogram(sides: list[SideTraffic]) -> Buckets:
    """Cumulative buckets: each interval's requests log-normal with its ``latency_ms`` as p99."""
    bounds = [*map(float, LATENCY_BUCKETS_MS), math.inf]
    return [
        (bound, sum(s.requests * _below(bound, s.latency_ms) for s in sides)) for bound in bounds
    ]


def _below(bound: float, p99_ms: float) -> float:
    """Share of requests at most ``bound`` ms when latency is log-normal with that p99."""
    if math.isinf(bound):
        return 1.0
    median = p99_ms / math.exp(_Z99 * _LATENCY_SIGMA)
    z = math.log(bound / median) / _LATENCY_SIGMA
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


@dataclasses.dataclass(frozen=True)
class HookCall:
    name: str
    phase: str
    event: str | None = None


@dataclasses.dataclass
class MemoryWebhooks:
    """Webhook answers by hook name (True passes, False or a text fails); calls are recorded."""

    answers: dict[str, bool | str] = dataclasses.field(default_factory=dict)
    calls: list[HookCall] = dataclasses.field(default_factory=list)

    async def call(self, canary: Canary, hook: CanaryWebhook, phase: CanaryPhase) -> None:
        self.calls.append(HookCall(hook.name, phase.value))
        answer = self.answers.get(hook.name, _default_answer(hook))
        if answer is not True:
            text = answer if isinstance(answer, str) else "rejected"
            raise WebhookRejectedError(hook.url, f"{text}", status=403)

    async def event(
        self, canary: Canary, hook: CanaryWebhook, *, message: str, event_type: EventType
    ) -> None:
        self.calls.append(HookCall(hook.name, "event", message))


def _default_answer(hook: CanaryWebhook) -> bool:
    # a rollback hook that answers 2xx asks for a rollback, so by default it says no
    return hook.effective_type.value != "rollback"


@dataclasses.dataclass(frozen=True)
class Alert:
    message: str
    severity: Severity


@dataclasses.dataclass
class MemoryNotifier:
    alerts: list[Alert] = dataclasses.field(default_factory=list)

    async def alert(
        self, canary: Canary, message: str, *, severity: Severity, details: bool = False
    ) -> None:
        self.alerts.append(Alert(message, severity))


@dataclasses.dataclass(frozen=True)
class Event:
    event_type: EventType
    message: str


@dataclasses.dataclass
class MemoryEvents:
    events: list[Event] = dataclasses.field(default_factory=list)

    async def record(self, canary: Canary, *, event_type: EventType, message: str) -> None:
        self.events.append(Event(event_type, message))


@dataclasses.dataclass
class MemoryWorld:
    """Every in-memory port, and the :class:`serinus.ports.World` that bundles them."""

    store: MemoryStore
    target: MemoryTarget = dataclasses.field(default_factory=MemoryTarget)
    router: MemoryRouter = dataclasses.field(default_factory=MemoryRouter)
    metrics: MemoryMetrics = dataclasses.field(default_factory=MemoryMetrics)
    webhooks: MemoryWebhooks = dataclasses.field(default_factory=MemoryWebhooks)
    notifier: MemoryNotifier = dataclasses.field(default_factory=MemoryNotifier)
    events: MemoryEvents = dataclasses.field(default_factory=MemoryEvents)
    clock: VirtualClock = dataclasses.field(default_factory=VirtualClock)
    provider: str = "linkerd"

    def __post_init__(self) -> None:
        self.metrics.clock = self.clock

    @classmethod
    def for_canary(cls, canary: Canary, **fields: object) -> MemoryWorld:
        world = cls(store=MemoryStore(canary), **fields)  # type: ignore[arg-type]
        if canary.spec.provider:
            world.provider = canary.spec.provider
        return world

    @property
    def ports(self) -> World:
        return World(
            target=self.target,
            router=self.router,
            metrics=self.metrics,
            webhooks=self.webhooks,
            notifier=self.notifier,
            events=self.events,
            store=self.store,
            clock=self.clock,
            provider=self.provider,
        )
