"""Readiness of Deployments and DaemonSets, as pure functions of their status.

Covers: an unobserved generation waits; updated < desired, old replicas terminating and too few
available replicas wait, with Flagger's messages; readyThreshold rounds down (3 of 4 at 75%);
ProgressDeadlineExceeded is final; Available=False/MinimumReplicasUnavailable turns final only
after progressDeadlineSeconds; a DaemonSet waits for updated and available pods; the Canary's
thresholds default to 100.
"""

from __future__ import annotations

import datetime
from typing import Any

from serinus.apis.canary import Canary
from serinus.ports import Readiness
from serinus.targets import readiness
from tests.targets.support import canary_manifest

NOW = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)


def deploy(desired: int = 4, generation: int = 2, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "podinfo", "generation": generation},
        "spec": {"replicas": desired},
        "status": {"observedGeneration": 2, **status},
    }


def judge(obj: dict[str, Any], threshold: int = 100, deadline: int = 600) -> Readiness:
    return readiness.deployment(obj, threshold=threshold, deadline_seconds=deadline, now=NOW)


def test_a_finished_rollout_is_ready() -> None:
    assert judge(deploy(desired=4, replicas=4, updatedReplicas=4, availableReplicas=4)).ready


def test_waiting_messages() -> None:
    assert judge(deploy(generation=3)) == Readiness(
        False,
        "waiting for rollout to finish: observed deployment generation less than desired "
        "generation",
    )
    assert judge(deploy(desired=4, updatedReplicas=1)).message == (
        "waiting for rollout to finish: 1 out of 4 new replicas have been updated"
    )
    assert judge(deploy(desired=4, replicas=6, updatedReplicas=4)).message == (
        "waiting for rollout to finish: 2 old replicas are pending termination"
    )
    assert judge(deploy(desired=4, updatedReplicas=4, availableReplicas=2)).message == (
        "waiting for rollout to finish: 2 of 4 (readyThreshold 100%) updated replicas are available"
    )


def test_the_ready_threshold_rounds_down() -> None:
    three_of_four = deploy(desired=4, updatedReplicas=4, availableReplicas=3)
    assert judge(three_of_four, threshold=75).ready
    assert judge(three_of_four, threshold=99).ready  # 3.96 replicas round down to 3
    assert not judge(three_of_four, threshold=100).ready
    two_of_four = deploy(desired=4, updatedReplicas=4, availableReplicas=2)
    assert judge(two_of_four, threshold=75) == Readiness(
        False,
        "waiting for rollout to finish: 2 of 3 (readyThreshold 75%) updated replicas are available",
    )


def test_progress_deadline_exceeded_is_final() -> None:
    stuck = deploy(
        updatedReplicas=4,
        availableReplicas=0,
        conditions=[
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
        ],
    )
    assert judge(stuck) == Readiness(
        False, 'deployment "podinfo" exceeded its progress deadline', False
    )


def unavailable_since(minutes: int) -> dict[str, Any]:
    since = (NOW - datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return deploy(
        updatedReplicas=4,
        availableReplicas=1,
        conditions=[
            {
                "type": "Available",
                "status": "False",
                "reason": "MinimumReplicasUnavailable",
                "lastUpdateTime": since,
            },
            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"},
        ],
    )


def test_unavailable_replicas_turn_final_after_the_deadline() -> None:
    assert judge(unavailable_since(5), deadline=600).retriable
    late = judge(unavailable_since(11), deadline=600)
    assert (late.ready, late.retriable) == (False, False)
    assert late.message.endswith("1 of 4 (readyThreshold 100%) updated replicas are available")


def test_daemonset_readiness() -> None:
    def ds(**status: Any) -> dict[str, Any]:
        return {"metadata": {"generation": 1}, "status": {"observedGeneration": 1, **status}}

    assert readiness.daemonset(ds(desiredNumberScheduled=0), threshold=100).ready
    assert readiness.daemonset(
        ds(desiredNumberScheduled=3, updatedNumberScheduled=1), threshold=100
    ).message == ("waiting for rollout to finish: 1 out of 3 new pods have been updated")
    full = ds(desiredNumberScheduled=3, updatedNumberScheduled=3, numberAvailable=3)
    assert readiness.daemonset(full, threshold=100).ready


def test_thresholds_come_from_the_analysis_and_default_to_100() -> None:
    manifest = canary_manifest()
    assert readiness.ready_threshold(Canary.model_validate(manifest), "primary") == 100
    manifest["spec"]["analysis"]["primaryReadyThreshold"] = 50
    manifest["spec"]["analysis"]["canaryReadyThreshold"] = 80
    canary = Canary.model_validate(manifest)
    assert readiness.ready_threshold(canary, "primary") == 50
    assert readiness.ready_threshold(canary, "canary") == 80
    del manifest["spec"]["analysis"]
    assert readiness.ready_threshold(Canary.model_validate(manifest), "canary") == 100
