"""One tick of one Canary: the Canary as read, its status writes, and what it tells people.

:class:`Tick` is handed to every step of :func:`serinus.controller.advance.advance`. It writes the
status through the store (and keeps the Canary it got back, so later steps see their own writes),
and it is the one place that says things: ``info``/``warning`` write the log line, hand the
Kubernetes Event to the event sink and call the ``event`` webhooks in one call (kopf's
ObjectLogger idea, Flagger's wording), and ``alert`` sends to the chat providers. The operator's
sink queues the Event and returns (it is written in the background, as client-go writes
Flagger's: :mod:`serinus.kube.eventsink`); the webhooks are awaited here, as Flagger does.
Telling people is best effort: a failing Event or chat call is logged and never stops a release.
Every message goes through :func:`serinus.redaction.clean` first, so the log, the Event, the
event webhooks and the chat alert all get it without the credentials of any URL it names (a
MetricTemplate's, whose owner may not be this Canary's author) and at most 1,024 characters long.
"""

from __future__ import annotations

import datetime
import logging
from typing import Unpack

from serinus.apis.analysis import CanaryAnalysis, HookType, Severity
from serinus.apis.base import format_time
from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase, CanaryStatus, StatusChanges, phase_promoted
from serinus.controller import manual
from serinus.errors import SerinusError
from serinus.logs import CanaryLogger
from serinus.ports import EventType, World
from serinus.redaction import clean

logger = logging.getLogger("serinus.controller")

# Analysis used when a Canary has none: no checks, skipAnalysis semantics.
_NO_ANALYSIS = CanaryAnalysis.model_validate({"stepWeight": 100})


class Tick:
    """The state of one tick of one Canary."""

    def __init__(self, world: World, canary: Canary) -> None:
        self.world = world
        self.canary = canary
        self.log = CanaryLogger(logger, canary=canary.key)
        self._deferred: CanaryStatus | None = None
        """A status to write with the tick's next write, or at its end (:meth:`flush`)."""

    # --- what the tick reads -------------------------------------------------------------------

    @property
    def status(self) -> CanaryStatus:
        return self._deferred or self.canary.status or CanaryStatus()

    @property
    def phase(self) -> CanaryPhase | None:
        return self.status.phase

    @property
    def analysis(self) -> CanaryAnalysis:
        return self.canary.spec.effective_analysis or _NO_ANALYSIS

    @property
    def skip_analysis(self) -> bool:
        """spec.skipAnalysis, no analysis at all, or skip-analysis asked for this revision."""
        return (
            bool(self.canary.spec.skip_analysis)
            or self.canary.spec.effective_analysis is None
            or manual.skips_analysis(self.status)
        )

    @property
    def name(self) -> str:
        """``name.namespace`` of the Canary."""
        return self.canary.key

    @property
    def target(self) -> str:
        """``target.namespace`` of the workload."""
        return self.canary.target_key

    def now(self) -> datetime.datetime:
        return self.world.clock.now()

    def timestamp(self) -> str:
        return format_time(self.now())

    # --- status --------------------------------------------------------------------------------

    async def update_status(self, **changes: Unpack[StatusChanges]) -> None:
        """Write the status with ``changes`` applied; the Promoted condition follows the phase."""
        await self.write(self._changed(changes))

    def defer_status(self, **changes: Unpack[StatusChanges]) -> None:
        """Apply ``changes`` now and write them with the tick's next write or at its end: what
        the tick measured (the metrics) need not be a write of its own when a step follows."""
        self._deferred = self._changed(changes)

    async def flush(self) -> None:
        """Write what :meth:`defer_status` holds, if no write took it along."""
        if self._deferred is not None:
            await self.write(self._deferred)

    def _changed(self, changes: StatusChanges) -> CanaryStatus:
        now = self.timestamp()
        status = self.status.model_copy(update={**changes, "last_transition_time": now})
        if status.phase is not None:
            kind = self.canary.spec.target_ref.kind
            status = status.with_promoted(*phase_promoted(status.phase, kind=kind), now=now)
        return status

    async def show_permanent_error(self, message: str) -> None:
        """Write ``message`` to the status and to a False Promoted condition (InvalidCanary)."""
        status = self.status.with_promoted("False", "InvalidCanary", message, now=self.timestamp())
        await self.write(status.model_copy(update={"message": message}))

    async def write(self, status: CanaryStatus) -> None:
        """Persist ``status``; later steps of the tick see the Canary as stored."""
        self.canary = await self.world.store.write_status(self.canary, status)
        self._deferred = None

    # --- telling people ------------------------------------------------------------------------

    async def info(self, message: str) -> None:
        message = clean(message)
        self.log.info(message)
        await self._record("Normal", message)

    async def warning(self, message: str) -> None:
        message = clean(message)
        self.log.warning(message)
        await self._record("Warning", message)

    async def alert(self, message: str, *, severity: Severity, details: bool = False) -> None:
        message = clean(message)
        try:
            await self.world.notifier.alert(
                self.canary, message, severity=severity, details=details
            )
        except SerinusError as error:
            self.log.warning("Alert could not be sent: %s", error)

    async def _record(self, event_type: EventType, message: str) -> None:
        try:
            await self.world.events.record(self.canary, event_type=event_type, message=message)
        except SerinusError as error:
            self.log.warning("Event could not be recorded: %s", error)
        for hook in self.analysis.hooks(HookType.EVENT):
            try:
                await self.world.webhooks.event(
                    self.canary, hook, message=message, event_type=event_type
                )
            except SerinusError as error:
                self.log.warning("Event webhook %s failed: %s", hook.name, error)
