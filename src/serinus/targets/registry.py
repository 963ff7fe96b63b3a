"""Which controller releases a ``targetRef.kind``: an explicit table, no fallback.

Flagger treats an unknown kind as a Deployment; serinus raises
:class:`~serinus.errors.UnknownProviderError` ("target kind Job is not supported"), which the
controller shows on the Canary, so a typo or an unported kind is seen at once instead of
surfacing as a confusing "Deployment not found". A ``Service`` of ``serving.knative.dev/v1`` is
a Knative Service (:mod:`serinus.targets.knative`); any other ``Service`` is a plain Service
target (Flagger's ``ServiceController``, :mod:`serinus.targets.service`); both take only the
options they use. Adding a workload kind is one module and one line here.
"""

from __future__ import annotations

from collections.abc import Iterable

from serinus.apis.canary import KNATIVE_API_VERSION, Canary
from serinus.errors import UnknownProviderError
from serinus.kube import Kube
from serinus.ports import Clock, Target
from serinus.targets import labels, ownership
from serinus.targets.daemonset import DaemonSetTarget
from serinus.targets.deployment import DeploymentTarget
from serinus.targets.knative import KnativeTarget
from serinus.targets.service import ServiceTarget
from serinus.targets.statefulset import StatefulSetTarget
from serinus.targets.workload import WorkloadTarget

WORKLOADS: dict[str, type[WorkloadTarget]] = {
    "Deployment": DeploymentTarget,
    "DaemonSet": DaemonSetTarget,
    "StatefulSet": StatefulSetTarget,
}
"""Each workload kind's controller, built with the same keyword options."""

API_VERSIONS: dict[str, str] = {
    "Deployment": "apps/v1",
    "DaemonSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "Service": "v1",
}
"""The apiVersion of each kind's target and primary copy, for the ownership checks."""


def target_for(
    kind: str,
    kube: Kube,
    *,
    api_version: str | None = None,
    selector_labels: Iterable[str] = labels.DEFAULT_SELECTOR_LABELS,
    include_label_prefixes: Iterable[str] = labels.DEFAULT_INCLUDE_PREFIXES,
    config_tracking: bool = True,
    track_secrets: bool = True,
    clock: Clock | None = None,
) -> Target:
    """The controller for ``kind`` (of ``api_version``); UnknownProviderError when serinus has
    none."""
    if kind == "Service" and api_version == KNATIVE_API_VERSION:
        return KnativeTarget(kube)
    if kind == "Service":
        return ServiceTarget(kube, include_label_prefixes=include_label_prefixes)
    if kind not in WORKLOADS:
        raise UnknownProviderError("target kind", kind)
    return WORKLOADS[kind](
        kube,
        selector_labels=selector_labels,
        include_label_prefixes=include_label_prefixes,
        config_tracking=config_tracking,
        track_secrets=track_secrets,
        clock=clock,
    )


async def refusal(kube: Kube, canary: Canary) -> str | None:
    """Why the Canary may not release its target: another Canary or controller owns the target
    or its primary (:mod:`serinus.targets.ownership`); None when it may, or when the kind has no
    controller (every tick says so)."""
    ref = canary.spec.target_ref
    if ref.kind == "Service" and ref.api_version == KNATIVE_API_VERSION:
        api_version = KNATIVE_API_VERSION  # no -primary copy: only the target's owner counts
    elif ref.kind in API_VERSIONS:
        api_version = API_VERSIONS[ref.kind]
    else:
        return None
    return await ownership.refusal(kube, canary, api_version=api_version, kind=ref.kind)
