"""The facts shown under an alert: the cluster, and for detailed alerts the Canary's settings.

Flagger adds a ``Cluster`` field to every alert when the operator has a cluster name, and for
detailed alerts (a new revision, a rollback) ``Target``, ``Failed checks threshold``, ``Progress
deadline`` and ``Traffic routing``, in that order and with that wording, which users see in their
channels. serinus shows the effective maximum weight where Flagger prints the raw field (which
reads ``max: 0`` when unset).
"""

from __future__ import annotations

from serinus.apis.analysis import CanaryAnalysis
from serinus.apis.canary import Canary
from serinus.notifiers.base import Field


def alert_fields(canary: Canary, *, cluster: str, details: bool) -> tuple[Field, ...]:
    """The fields of an alert about ``canary``."""
    fields: list[Field] = []
    if cluster:
        fields.append(Field("Cluster", cluster))
    if not details:
        return tuple(fields)
    target = canary.spec.target_ref
    analysis = canary.spec.effective_analysis
    threshold = analysis.effective_threshold if analysis is not None else 1
    fields += [
        Field("Target", f"{target.kind}/{target.name}.{canary.namespace}"),
        Field("Failed checks threshold", str(threshold)),
        Field("Progress deadline", f"{canary.spec.effective_progress_deadline}s"),
    ]
    routing = traffic_routing(analysis) if analysis is not None else None
    if routing is not None:
        fields.append(Field("Traffic routing", routing))
    return tuple(fields)


def traffic_routing(analysis: CanaryAnalysis) -> str | None:
    """How traffic moves, in Flagger's words; None when the analysis says nothing about it."""
    if analysis.step_weight and analysis.step_weight > 0:
        return f"Weight step: {analysis.step_weight} max: {analysis.effective_max_weight}"
    if analysis.step_weights:
        steps = ",".join(str(weight) for weight in analysis.step_weights)
        return f"Weight steps: {steps} max: {analysis.effective_max_weight}"
    if analysis.match:
        return "A/B Testing"
    if analysis.iterations:
        return "Blue/Green"
    return None
