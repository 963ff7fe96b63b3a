"""The ports through which the state machine reaches the world, and the values they carry.

Each port is a small ``typing.Protocol``; the operator plugs in the Kubernetes-backed
implementations (``serinus.targets``, ``serinus.routers``, ``serinus.metrics``,
``serinus.webhooks``, ``serinus.notifiers``, ``serinus.kube``), the tests and ``serinus rehearse``
plug in :mod:`serinus.controller.memory`. The module sits below every layer (it imports only
``serinus.apis`` and :mod:`serinus.capabilities`), so implementations import their value types
from here without depending on the controller. Every method may be called on every tick, so every
method is idempotent; failures are raised as :mod:`serinus.errors` classes, whose ``retriable``
flag tells the controller whether to wait for the next tick or to give up.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Literal, Protocol

from serinus.apis.alert_provider import AlertProvider
from serinus.apis.analysis import CanaryMetric, CanaryWebhook, Severity
from serinus.apis.canary import Canary
from serinus.apis.metric_template import MetricTemplate
from serinus.apis.status import CanaryPhase, CanaryStatus
from serinus.capabilities import Capabilities

EventType = Literal["Normal", "Warning"]


@dataclasses.dataclass(frozen=True)
class Readiness:
    """Whether a workload serves; when not, whether waiting can help and why."""

    ready: bool
    message: str = ""
    retriable: bool = True


@dataclasses.dataclass(frozen=True)
class Revision:
    """What identifies a release of the target: its pod template hash and its configs' checksums."""

    spec_hash: str
    configs: dict[str, str] = dataclasses.field(default_factory=dict)
    """configmap/<name> or secret/<name> -> checksum of the data the target uses."""


@dataclasses.dataclass(frozen=True)
class Routes:
    """Traffic weights of the primary and the canary, and whether the canary gets a mirror."""

    primary: int
    canary: int
    mirrored: bool = False
    source: object = dataclasses.field(default=None, compare=False, repr=False)
    """What a router read these routes from (opaque to everyone else), so that routes set right
    after they were read are written without reading the object again; None for routes made up."""


@dataclasses.dataclass(frozen=True)
class Counts:
    """Requests and failed requests of one side over a window."""

    requests: float
    errors: float


@dataclasses.dataclass(frozen=True)
class CountComparison:
    canary: Counts
    primary: Counts


Buckets = list[tuple[float, float]]
"""A latency histogram: (upper bound in milliseconds, cumulative count), ending with +Inf."""


@dataclasses.dataclass(frozen=True)
class LatencyComparison:
    canary: Buckets
    primary: Buckets


@dataclasses.dataclass(frozen=True)
class History:
    """The primary's requests and errors, and its latency histogram, per window (oldest first).

    ``latency`` is empty where the metric has no histogram to read.
    """

    counts: list[Counts]
    latency: list[Buckets]


class Target(Protocol):
    """The workload being released (Deployment, DaemonSet) and its ``-primary`` copy."""

    async def initialize(self, canary: Canary) -> None:
        """Create ``<target>-primary`` (and its configs, autoscaler) if absent. Idempotent."""

    async def revision(self, canary: Canary) -> Revision:
        """The target's current pod template hash and tracked config checksums."""

    async def is_primary_ready(self, canary: Canary) -> Readiness:
        """Whether the primary's rollout finished and enough replicas are available."""

    async def is_canary_ready(self, canary: Canary) -> Readiness:
        """Whether the target's rollout finished and enough replicas are available."""

    async def promote(self, canary: Canary) -> None:
        """Copy the target's pod template (and configs) to the primary. Idempotent."""

    async def promotion_stops_primary(self, canary: Canary) -> bool:
        """Whether promoting takes every pod of the primary down at once (a StatefulSet promoted
        from zero), so that the controller must route all traffic to the canary first."""

    async def scale_to_zero(self, canary: Canary) -> None:
        """Scale the target to zero replicas (and pause its autoscaler). Idempotent."""

    async def scale_from_zero(self, canary: Canary) -> None:
        """Give the target its replicas back (and resume its autoscaler). Idempotent."""

    async def finalize(self, canary: Canary) -> None:
        """Undo what serinus changed on the target (revertOnDeletion). Idempotent.
        TargetNotFoundError when the target is gone (there is nothing to give back)."""


class Router(Protocol):
    """The Services and the mesh or ingress object that split traffic."""

    def capabilities(self, canary: Canary) -> Capabilities:
        """What the router can do with the Canary's traffic (pure: no I/O, same answer every
        tick for the same Canary)."""

    async def initialize(self, canary: Canary) -> None:
        """Create or update the ``-canary`` and ``-primary`` Services. Idempotent."""

    async def reconcile(self, canary: Canary) -> None:
        """Create or update the apex Service and the traffic object, keeping current weights."""

    async def set_routes(
        self, canary: Canary, routes: Routes, *, current: Routes | None = None
    ) -> None:
        """Route traffic as given (A/B match conditions come from the Canary).

        ``current``: the routes this tick read with :meth:`get_routes`, when it did; the router
        then writes over what it read instead of reading it again.
        """

    async def get_routes(self, canary: Canary) -> Routes:
        """The weights the traffic object holds now."""

    async def finalize(self, canary: Canary) -> None:
        """Give the apex Service and the traffic object back to the target (revertOnDeletion)."""


class Metrics(Protocol):
    """Measures the metrics of an analysis."""

    async def check_online(self, canary: Canary) -> None:
        """Raise ProviderUnavailableError when a metrics backend of the Canary cannot be reached."""

    async def measure(self, canary: Canary, metric: CanaryMetric) -> float:
        """The metric's current value (milliseconds for request-duration).

        Raises NoValuesFoundError (with a message that names the query and the likely cause),
        another MetricsError, or UnknownProviderError.
        """

    async def compare_counts(
        self,
        canary: Canary,
        metric: CanaryMetric,
        *,
        since: datetime.datetime,
        until: datetime.datetime,
    ) -> CountComparison:
        """Requests and errors of the canary and the primary in ``(since, until]``.

        Both sides are read for that same explicit window, whenever the call is made.
        """

    async def compare_latency(
        self,
        canary: Canary,
        metric: CanaryMetric,
        *,
        since: datetime.datetime,
        until: datetime.datetime,
    ) -> LatencyComparison:
        """Latency histograms of the canary and the primary in ``(since, until]``."""

    async def primary_history(
        self,
        canary: Canary,
        metric: CanaryMetric,
        *,
        until: datetime.datetime,
        seconds: float,
        step: float,
    ) -> History:
        """The primary's counts in consecutive ``step``-second windows over ``seconds`` before
        ``until`` (for the judge's burst correction and latency boundary)."""

    async def watermark(self, canary: Canary, metric: CanaryMetric) -> datetime.datetime | None:
        """The time up to which every sample the judge reads for ``metric`` has landed: the
        oldest of the latest sample times of the canary's and the primary's series (each series'
        samples land in order, so nothing at or before it can still come). None when a side has
        no series yet."""


class Webhooks(Protocol):
    """Calls the Canary's webhooks."""

    async def call(self, canary: Canary, hook: CanaryWebhook, phase: CanaryPhase) -> None:
        """POST the payload; raise WebhookError unless the receiver answered with success."""

    async def event(
        self, canary: Canary, hook: CanaryWebhook, *, message: str, event_type: EventType
    ) -> None:
        """POST an event payload to an ``event`` hook."""


class Notifier(Protocol):
    """Sends alerts to chat providers (AlertProviders, or the operator's global one)."""

    async def alert(
        self, canary: Canary, message: str, *, severity: Severity, details: bool = False
    ) -> None:
        """Deliver an alert; ``details`` adds the target, threshold, deadline and routing fields."""


class EventSink(Protocol):
    """Kubernetes Events about a Canary."""

    async def record(self, canary: Canary, *, event_type: EventType, message: str) -> None:
        """Record one Event (reason Synced, as Flagger does); it may be written later, in the
        order recorded for one Canary."""


class StatusStore(Protocol):
    """Reads Canaries and writes their status."""

    async def get(self, namespace: str, name: str) -> Canary | None:
        """The Canary as stored now, or None when it is gone."""

    async def write_status(self, canary: Canary, status: CanaryStatus) -> Canary:
        """Persist the status (retrying on conflict) and return the Canary as stored."""


class Resources(Protocol):
    """Reads the objects a Canary refers to (templates, providers, Secrets) in its namespace."""

    async def metric_template(self, namespace: str, name: str) -> MetricTemplate:
        """The MetricTemplate; NotFoundError when absent, InvalidCanaryError when malformed."""

    async def alert_provider(self, namespace: str, name: str) -> AlertProvider:
        """The AlertProvider; NotFoundError when absent, InvalidCanaryError when malformed."""

    async def secret(self, namespace: str, name: str) -> dict[str, str]:
        """The Secret's data, decoded; NotFoundError when absent."""

    async def signing_secret(self, namespace: str, name: str) -> dict[str, str]:
        """The data of a Secret labelled for signing (:data:`serinus.signing.SIGNING_LABEL`);
        NotFoundError when absent, InvalidCanaryError when it lacks the label."""


class Clock(Protocol):
    """Wall-clock time; virtual in tests and rehearsals."""

    def now(self) -> datetime.datetime:
        """The current time, timezone-aware (UTC)."""


class SystemClock:
    """The machine's clock in UTC: the one :class:`Clock` of a running operator.

    Every port that stamps times (Events, webhook payloads, alerts, the targets' rollout clocks)
    takes a clock and falls back to this one, so tests and rehearsals can pass a virtual clock.
    """

    def now(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC)


@dataclasses.dataclass(frozen=True)
class Admission:
    """Whether a new revision may start its run now (``--max-concurrent-runs``), and if not,
    where it stands: runs in progress in the scope that holds it, its place in the queue."""

    admitted: bool
    in_progress: int = 0
    position: int = 0
    """1 for the next to start."""


class RunSlots(Protocol):
    """How many runs may be in progress at once, and who is next."""

    async def admit(self, canary: Canary, queued: str) -> Admission:
        """Whether ``canary`` may start its run now; ``queued`` is when it began waiting."""
        ...


class NoRunLimit:
    """Every new revision starts at once (no ``--max-concurrent-runs``)."""

    async def admit(self, canary: Canary, queued: str) -> Admission:
        return Admission(admitted=True)


@dataclasses.dataclass(frozen=True)
class World:
    """Everything one Canary's state machine reaches, resolved for that Canary."""

    target: Target
    router: Router
    metrics: Metrics
    webhooks: Webhooks
    notifier: Notifier
    events: EventSink
    store: StatusStore
    clock: Clock
    provider: str = "linkerd"
    """The mesh or ingress provider in effect for the Canary (its spec, or the operator default)."""
    slots: RunSlots = dataclasses.field(default_factory=NoRunLimit)
    """Who may start a run now (``--max-concurrent-runs``)."""
