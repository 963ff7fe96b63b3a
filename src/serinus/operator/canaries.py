"""Following the Canaries of the cluster: the watch, the tick of each one, invalid specs, deletion.

:class:`Canaries` turns the watch of ``flagger.app`` Canaries into the scheduler's job list (one
job per Canary, at its analysis interval) and implements the tick the scheduler calls: read the
Canary, build its world, :func:`~serinus.controller.advance.advance` it, record the self-metrics.
A Canary that does not parse, or asks its router for what it cannot do (A/B testing of a
TrafficSplit, say: see :mod:`serinus.capabilities`), gets a ``Promoted`` condition (status False,
reason InvalidSpec) that names every problem, and one Warning event per distinct problem; nothing
acts on it, and the others keep running.
A Canary that reaches for what is not its own (another Canary's workload, a Secret not meant for
signing: :mod:`serinus.operator.admission`) is refused the same way, before anything is written.
``revertOnDeletion`` adds Flagger's finalizer; a Canary deleted with it keeps ticking until
:mod:`serinus.operator.deletion` has given the target back what it can and removed the finalizer,
which it always does in the end. With ``--shards auto`` only the Canaries :attr:`Canaries.owns`
accepts are ticked (:meth:`Canaries.assign`, from :mod:`serinus.operator.shards`); every Canary
is still followed, to know the whole queue of runs.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Callable

from pydantic import ValidationError

from serinus.apis.base import Manifest, parse_duration
from serinus.apis.canary import Canary
from serinus.apis.status import CanaryStatus
from serinus.controller.advance import advance
from serinus.controller.scheduler import Scheduler
from serinus.errors import InvalidCanaryError, SerinusError
from serinus.kube import ratelimit
from serinus.kube.client import Kube
from serinus.kube.events import event_name
from serinus.kube.watch import Watched
from serinus.operator import deletion
from serinus.operator.followed import Followed
from serinus.operator.history import HistoryRecorder
from serinus.operator.runs import IN_PROGRESS
from serinus.operator.selfmetrics import SelfMetrics
from serinus.operator.wiring import Wiring
from serinus.redaction import clean
from serinus.targets import finalizer
from serinus.targets.finalizer import FINALIZER

logger = logging.getLogger(__name__)

API_VERSION = "flagger.app/v1beta1"


Key = tuple[str, str]


class Canaries:
    """The operator's view of the cluster's Canaries, feeding the scheduler."""

    SPREAD = float("inf")
    """The Canaries of the first list tick first at their own point of their whole interval."""
    TAKEOVER_SPREAD = 2.0
    """Canaries taken over from another replica tick first within this many seconds."""

    def __init__(
        self,
        *,
        kube: Kube,
        wiring: Wiring,
        metrics: SelfMetrics,
        min_interval: float,
        history: HistoryRecorder | None = None,
    ) -> None:
        self.kube = kube
        self.wiring = wiring
        self.metrics = metrics
        self.history = history
        self.min_interval = min_interval
        settings = wiring.settings
        self.scheduler = Scheduler(
            self.tick,
            grace_seconds=settings.grace_seconds,
            concurrency=settings.max_concurrent_ticks,
            priority=self.priority,
            observe=metrics.lateness.observe,
        )
        self.synced = asyncio.Event()
        self._namespaces: dict[Key, str] = {}
        self._requests: dict[Key, str | None] = {}
        self._phases: dict[Key, str] = {}
        self._known: dict[Key, tuple[float, str]] = {}
        """Every live Canary's interval and target, owned by this replica or not."""
        self.owns: Callable[[Key], bool] = lambda key: True
        """Whether this replica acts on a Canary (``--shards``: its share)."""

    async def follow(self, namespace: str | None) -> None:
        """Keep the scheduler in step with the watch, for ever; the Canaries of the first list
        are spread over their interval, later ones tick at once."""
        events = self.kube.follow(
            API_VERSION, "Canary", namespace, synced=self.synced.set, documents=False
        )
        async for event_type, manifest in events:
            await self.on_event(event_type, manifest)

    async def assign(self, owns: Callable[[Key], bool]) -> None:
        """Act on the Canaries ``owns`` accepts from now on: the others are let go (their ticks in
        flight finish first, then their run histories are written), new ones start within
        :attr:`TAKEOVER_SPREAD` seconds."""
        self.owns = owns
        released = [k for k in self.scheduler.canaries if not owns(k)]
        await self.scheduler.release(released)
        for key in released:
            self.metrics.forget(*key)
        if self.history is not None:
            await self.history.hand_over(released)
        running = set(self.scheduler.canaries)
        for key, (interval, target) in sorted(self._known.items()):
            if key not in running and owns(key):
                self.scheduler.upsert(
                    key, interval=interval, target=target, spread=self.TAKEOVER_SPREAD
                )

    @property
    def known(self) -> list[Key]:
        return sorted(self._known)

    def priority(self, key: Key) -> int:
        """Runs in progress first (in the tick pool and the API rate limit)."""
        return ratelimit.URGENT if self._phases.get(key) in IN_PROGRESS else ratelimit.NORMAL

    async def on_event(self, event_type: str, obj: Watched) -> None:
        seen = Followed.of(obj)
        key = seen.key
        self._phases[key] = seen.phase
        self.wiring.runs.seen(key, seen.phase, seen.queued)
        before = len(self._namespaces)
        if event_type == "DELETED":
            self.scheduler.remove(key)
            self._namespaces.pop(key, None)
            self._requests.pop(key, None)
            self._phases.pop(key, None)
            self._known.pop(key, None)
            self.wiring.runs.forget(key)
            self.wiring.store.forget(*key)
            self.metrics.forget(*key)
            if self.history is not None:
                self.history.forget(key)
        elif seen.deleting and FINALIZER not in seen.finalizers:
            self.scheduler.remove(key)
            self._known.pop(key, None)
        else:  # a Canary being deleted with the finalizer ticks on (on its owner) until reverted
            interval = self._interval(seen.interval)
            self._known[key] = (interval, seen.target)
            self._namespaces[key] = key[0]
            if self.owns(key):
                spread = 0.0 if self.synced.is_set() else self.SPREAD
                self.scheduler.upsert(key, interval=interval, target=seen.target, spread=spread)
            request = seen.request
            if request is not None and key in self._requests and self._requests[key] != request:
                self.scheduler.poke(key)  # a request made by hand: act on it now
            self._requests[key] = request
        if len(self._namespaces) != before:
            counts: dict[str, int] = {}
            for ns in self._namespaces.values():
                counts[ns] = counts.get(ns, 0) + 1
            self.metrics.count(counts)

    async def tick(self, namespace: str, name: str) -> None:
        """One tick of one Canary (the scheduler's job), its requests at its priority."""
        with ratelimit.priority(self.priority((namespace, name))):
            await self._tick(namespace, name)

    async def _tick(self, namespace: str, name: str) -> None:
        try:
            canary = await self.wiring.store.get(namespace, name)
        except InvalidCanaryError as error:
            if not await self._let_go(namespace, name, str(error)):
                await self._report_invalid(namespace, name, str(error))
            return
        if canary is None:
            return
        if finalizer.is_terminating(canary):
            if finalizer.has_finalizer(canary):
                await self._finalize(canary)
            return
        refusals = self.wiring.refusals(canary) or await self.wiring.admission(canary)
        if refusals:  # shown once; nothing acts on it
            await self._report_invalid(namespace, name, "; ".join(refusals))
            return
        await finalizer.sync(self.kube, canary)
        started = time.perf_counter()
        after = await advance(self.wiring.world(canary), canary)
        seconds = time.perf_counter() - started
        if after.status is not None and after.status.phase is not None:
            self._phases[(namespace, name)] = after.status.phase.value
            self.wiring.runs.seen((namespace, name), after.status.phase.value, after.status.queued)
        analysis = canary.spec.effective_analysis
        interval = analysis.interval_at_least(self.min_interval) if analysis else 60.0
        self.metrics.record(after, before=canary.phase, seconds=seconds, interval=interval)
        if self.history is not None:
            await self.history.record(after, before=canary.phase)

    async def _finalize(self, canary: Canary) -> None:
        """revertOnDeletion: give back what can be, then let the Canary go (never on another
        Canary's workload)."""
        ownership = await self.wiring.ownership(canary)
        await deletion.finalize(
            self.kube,
            self.wiring.world(canary),
            canary,
            refusals=[ownership] if ownership else [],
            now=self.wiring.clock.now(),
        )

    async def _let_go(self, namespace: str, name: str, problem: str) -> bool:
        """A Canary too malformed to read that is being deleted: nothing can be given back, but
        its finalizer comes off. False when it is not being deleted."""
        manifest = await self.kube.get(API_VERSION, "Canary", name, namespace)
        meta = (manifest or {}).get("metadata") or {}
        if not meta.get("deletionTimestamp") or FINALIZER not in (meta.get("finalizers") or []):
            return False
        message = f"Not reverting {name}.{namespace} on deletion, it cannot be read: {problem}"
        logger.warning("%s", clean(message))
        await finalizer.remove_from(self.kube, namespace, name)
        return True

    def _interval(self, interval: str) -> float:
        try:
            seconds = parse_duration(interval)
        except ValueError:
            seconds = 60.0
        return max(seconds, self.min_interval)

    async def _report_invalid(self, namespace: str, name: str, message: str) -> None:
        """Show why a Canary cannot run: its Promoted condition, and a Warning event once."""
        message = clean(message)
        manifest = await self.kube.get(API_VERSION, "Canary", name, namespace)
        if manifest is None:
            return
        status = manifest.get("status") or {}
        current = [c for c in status.get("conditions") or [] if c.get("type") == "Promoted"]
        if current and current[0].get("message") == message:
            return
        logger.warning("Canary %s.%s is invalid: %s", name, namespace, message)
        written = _status(status).with_promoted("False", "InvalidSpec", message, now=_now())
        conditions = [condition.dump() for condition in written.conditions or []]
        patch = {"status": {"conditions": conditions, "message": message}}
        try:
            # the event first: when it fails, the condition is not written either, and the
            # next tick tries both again
            await self.kube.create(_event(manifest, message))
            await self.kube.patch_status(API_VERSION, "Canary", name, namespace, patch)
        except SerinusError as error:
            logger.warning("could not report invalid Canary %s.%s: %s", name, namespace, error)


def _status(raw: Manifest) -> CanaryStatus:
    """The stored status' conditions (none when they are what does not parse)."""
    try:
        return CanaryStatus.model_validate({"conditions": raw.get("conditions") or []})
    except ValidationError:
        return CanaryStatus()


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event(canary: Manifest, message: str) -> Manifest:
    meta = canary["metadata"]
    now = _now()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": event_name(meta["name"]), "namespace": meta.get("namespace")},
        "involvedObject": {
            "apiVersion": canary.get("apiVersion", API_VERSION),
            "kind": "Canary",
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
        "reason": "Synced",
        "message": message,
        "type": "Warning",
        "source": {"component": "serinus"},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
