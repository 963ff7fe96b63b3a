"""``status`` of a Canary: the phase of the run and everything a restart needs to resume it.

The controller keeps no other state: whatever it knows about a run is written here on every
step, so a new leader (or a restarted operator) resumes from the status alone. The ``Promoted``
condition mirrors the phase with Flagger's reasons and messages (``kubectl wait
--for=condition=promoted`` works as with Flagger).
"""

from __future__ import annotations

import enum
from typing import TypedDict

from serinus.apis.base import ApiModel, Passthrough
from serinus.apis.control import ControlStatus


class CanaryPhase(enum.StrEnum):
    """Where a Canary is in its life."""

    INITIALIZING = "Initializing"
    """The primary workload is being created."""
    INITIALIZED = "Initialized"
    """The primary serves all traffic; waiting for a new revision of the target."""
    WAITING = "Waiting"
    """A new revision waits for a confirm-rollout gate."""
    PROGRESSING = "Progressing"
    """The analysis is running and traffic is being shifted to the canary."""
    WAITING_PROMOTION = "WaitingPromotion"
    """The analysis passed; waiting for a confirm-promotion gate."""
    PROMOTING = "Promoting"
    """The canary's spec is being copied to the primary."""
    FINALISING = "Finalising"
    """Traffic is being routed back to the promoted primary."""
    SUCCEEDED = "Succeeded"
    """The new revision was promoted."""
    FAILED = "Failed"
    """The new revision was rolled back."""
    TERMINATING = "Terminating"
    """The Canary is being deleted and serinus is reverting what it changed."""
    TERMINATED = "Terminated"


ACTIVE_PHASES = frozenset(
    {
        CanaryPhase.PROGRESSING,
        CanaryPhase.WAITING,
        CanaryPhase.WAITING_PROMOTION,
        CanaryPhase.PROMOTING,
        CanaryPhase.FINALISING,
    }
)
"""Phases in which a run is under way (Flagger's shouldAdvance)."""


class CanaryCondition(ApiModel):
    """A condition of the Canary; serinus, like Flagger, writes only type Promoted."""

    type: str
    status: str
    """True, False or Unknown."""
    last_update_time: str | None = None
    last_transition_time: str | None = None
    reason: str | None = None
    message: str | None = None


class Comparison(ApiModel):
    """serinus: the sequential judge's verdict on canary versus primary, with its numbers."""

    outcome: str
    """regression, no-regression or not-yet."""
    reason: str
    """The verdict in one plain sentence, numbers included."""
    canary: float | None = None
    """The canary's rate (errors per request, or share of requests slower than the boundary)."""
    primary: float | None = None
    ratio: float | None = None
    """Canary over primary; absent while the primary has none."""
    ratio_lower: float | None = None
    ratio_upper: float | None = None
    e_value: float | None = None
    """Evidence of a regression; a regression is declared at 1/alpha."""
    pass_e_value: float | None = None
    """Evidence that no regression worth catching exists."""
    canary_requests: int | None = None
    primary_requests: int | None = None
    boundary_ms: float | None = None
    """Latency only: the bucket bound tested."""
    alpha: float | None = None
    """This test's share of the release's false-rollback budget."""
    intervals: int | None = None
    """Intervals counted so far (each one traffic split, read for the same window on both sides)."""
    guard: str | None = None
    """The anytime-valid guard's verdict on the metric's threshold, in one sentence."""
    guard_e_value: float | None = None
    """Evidence that the canary is beyond the threshold; the guard fires at 1/alpha when the
    canary is also worse than the primary."""
    state: Passthrough | None = None
    """The judge's memory between steps (opaque)."""


class MetricStatus(ApiModel):
    """The last measurement of one metric, so that the status alone explains a halt."""

    name: str
    value: float | None = None
    """The last value read; absent when nothing could be read."""
    min: float | None = None
    max: float | None = None
    verdict: str = ""
    """pass, fail, nodata or error."""
    message: str | None = None
    last_update_time: str | None = None
    comparison: Comparison | None = None
    """serinus: the sequential judge's last verdict, when the metric has a judge."""


class JudgeStatus(ApiModel):
    """serinus: the release's timeline as the sequential judge counts it.

    Every tick with canary weight ends an interval (one traffic split); an interval is read
    ``lag`` seconds after it ends, for the same explicit window on both sides. Kept in the status
    so a restarted operator continues the same e-processes (alpha is never spent twice).
    """

    last_tick: str | None = None
    """When the previous analysis tick ran (a weight set then is in effect since)."""
    anchor: str | None = None
    """When the canary first had weight: the first interval starts here."""
    read_until: str | None = None
    """The end of the last interval read."""
    pending: list[str] | None = None
    """Ends of intervals not read yet (each starts where the previous one ends)."""
    alpha: float | None = None
    """The release's false-rollback budget, shared by every judged test."""
    promote_after: str | None = None
    """The schedule wanted to promote at this time; promotion waits until the interval ending
    here has been read."""
    last_look: str | None = None
    """When the comparisons took their last look before promotion (at most once per release:
    each spends its last-look share of alpha once; a restart reads this and does not look
    again)."""
    lost: bool | None = None
    """The judge's state was lost mid-release: the comparisons give no verdict and the
    thresholds work as in Flagger for the rest of the release, so alpha is not spent twice."""


class NotReadySince(ApiModel):
    """When the primary and the canary were first seen not ready, while serinus waits for them."""

    primary: str | None = None
    canary: str | None = None


class CanaryStatus(ApiModel):
    """Observed state of a Canary."""

    phase: CanaryPhase | None = None
    failed_checks: int = 0
    canary_weight: int = 0
    iterations: int = 0
    tracked_configs: dict[str, str] | None = None
    """Checksums of the target's ConfigMaps and Secrets, keyed configmap/<name> or secret/<name>."""
    last_applied_spec: str | None = None
    """Hash of the target's pod template at the last run."""
    last_promoted_spec: str | None = None
    """Hash of the pod template the primary runs."""
    last_transition_time: str | None = None
    conditions: list[CanaryCondition] | None = None
    session_affinity_cookie: str | None = None
    previous_session_affinity_cookie: str | None = None
    primary_session_affinity_cookie: str | None = None
    metrics: list[MetricStatus] | None = None
    """serinus: the last value, bounds and verdict of every metric of the analysis."""
    message: str | None = None
    """serinus: why the Canary is where it is, in one sentence."""
    analysis_start_time: str | None = None
    """serinus: when the current run's analysis started (the judge counts from there)."""
    not_ready_since: NotReadySince | None = None
    """serinus: when each workload was first seen not ready, to enforce progressDeadlineSeconds."""
    judge: JudgeStatus | None = None
    """serinus: the sequential judge's timeline for the current release."""
    control: ControlStatus | None = None
    """serinus: requests made by hand (promote, abort, pause...), who made them, what came of
    them."""
    queued: str | None = None
    """serinus: when the new revision began waiting for a run slot (``--max-concurrent-runs``),
    RFC 3339 with microseconds; the queue's order."""

    def condition(self, condition_type: str = "Promoted") -> CanaryCondition | None:
        for condition in self.conditions or []:
            if condition.type == condition_type:
                return condition
        return None

    def with_promoted(self, status: str, reason: str, message: str, *, now: str) -> CanaryStatus:
        """A copy whose ``Promoted`` condition says this, first of its conditions (the others
        kept); its transition time moves only when its status does. Every writer of the
        condition (the phases, a permanent error, an invalid spec) goes through here."""
        previous = self.condition("Promoted")
        transition = now
        if previous is not None and previous.status == status and previous.last_transition_time:
            transition = previous.last_transition_time
        condition = CanaryCondition(
            type="Promoted",
            status=status,
            reason=reason,
            message=message,
            last_update_time=now,
            last_transition_time=transition,
        )
        others = [c for c in self.conditions or [] if c.type != "Promoted"]
        return self.model_copy(update={"conditions": [condition, *others]})


# reason = phase; (status, message) per phase, as Flagger's MakeStatusConditions writes them.
_PROMOTED: dict[CanaryPhase, tuple[str, str]] = {
    CanaryPhase.INITIALIZING: ("Unknown", "New {kind} detected, starting initialization."),
    CanaryPhase.INITIALIZED: ("True", "{kind} initialization completed."),
    CanaryPhase.WAITING: ("Unknown", "Waiting for approval."),
    CanaryPhase.WAITING_PROMOTION: ("Unknown", "Waiting for approval."),
    CanaryPhase.PROGRESSING: ("Unknown", "New revision detected, progressing canary analysis."),
    CanaryPhase.PROMOTING: (
        "Unknown",
        "Canary analysis completed, starting primary rolling update.",
    ),
    CanaryPhase.FINALISING: (
        "Unknown",
        "Canary analysis completed, routing all traffic to primary.",
    ),
    CanaryPhase.SUCCEEDED: ("True", "Canary analysis completed successfully, promotion finished."),
    CanaryPhase.FAILED: ("False", "Canary analysis failed, {kind} scaled to zero."),
    CanaryPhase.TERMINATING: ("Unknown", "Canary is being deleted, reverting the target."),
    CanaryPhase.TERMINATED: ("Unknown", "Canary deleted, target reverted."),
}


def phase_promoted(phase: CanaryPhase, *, kind: str) -> tuple[str, str, str]:
    """(status, reason, message) of the Promoted condition in a phase, as Flagger writes them."""
    status, message = _PROMOTED[phase]
    return status, phase.value, message.format(kind=kind)


class StatusChanges(TypedDict, total=False):
    """The fields of a :class:`CanaryStatus` that the controller changes, typed: one status write
    changes those it names and keeps the others."""

    phase: CanaryPhase
    failed_checks: int
    canary_weight: int
    iterations: int
    tracked_configs: dict[str, str] | None
    last_applied_spec: str | None
    last_promoted_spec: str | None
    metrics: list[MetricStatus] | None
    message: str | None
    analysis_start_time: str | None
    not_ready_since: NotReadySince | None
    judge: JudgeStatus | None
    control: ControlStatus | None
    queued: str | None
    session_affinity_cookie: str | None
    primary_session_affinity_cookie: str | None
    previous_session_affinity_cookie: str | None
