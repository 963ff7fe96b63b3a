"""The Deployment controller's arithmetic (covers ``serinus/sandbox/workloads/rollout.py``).

Covers:
- the pod template hash is stable, ignores its own label and null fields (``kubectl rollout
  undo``), changes with the template and uses the server's safe alphabet;
- maxSurge rounds up, maxUnavailable rounds down, both zero means one unavailable;
- the new ReplicaSet grows only within replicas + maxSurge; old ReplicaSets shrink unhealthy
  pods first and never take availability below replicas - maxUnavailable;
- the status counts and conditions: Available, Progressing (NewReplicaSetAvailable,
  ReplicaSetUpdated with a fresh lastUpdateTime, ProgressDeadlineExceeded once the deadline has
  passed without progress) and when to look again for the deadline.
"""

from __future__ import annotations

import datetime

import pytest

from serinus.sandbox.workloads import rollout

NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)


def deployment(replicas: int = 4, surge="25%", unavailable="25%", status=None) -> dict:
    return {
        "metadata": {"name": "podinfo", "generation": 3},
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": 60,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
            },
        },
        "status": status or {},
    }


def rs(name: str, replicas: int, available: int | None = None, ready=None, created="1") -> dict:
    available = replicas if available is None else available
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "spec": {"replicas": replicas},
        "status": {
            "replicas": replicas,
            "readyReplicas": available if ready is None else ready,
            "availableReplicas": available,
        },
    }


def test_template_hash() -> None:
    template = {"metadata": {"labels": {"app": "podinfo"}}, "spec": {"containers": [{"a": 1}]}}
    first = rollout.template_hash(template)
    labelled = {"metadata": {"labels": {"app": "podinfo", "pod-template-hash": first}}}
    assert rollout.template_hash({**template, **labelled}) == first
    assert rollout.template_hash({**template, "spec": {"containers": [{"a": 2}]}}) != first
    undone = {"metadata": {"labels": {"app": "podinfo"}, "creationTimestamp": None}}
    assert rollout.template_hash({**template, **undone}) == first
    assert len(first) == 10
    assert set(first) <= set("bcdfghjklmnpqrstvwxz2456789")


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable", "expected"),
    [
        (4, "25%", "25%", (1, 1)),
        (3, "25%", "25%", (1, 0)),
        (10, "25%", "25%", (3, 2)),
        (2, 0, 0, (0, 1)),
        (5, 2, "50%", (2, 2)),
    ],
)
def test_surge_and_unavailable(replicas, surge, unavailable, expected) -> None:
    found = rollout.surge_and_unavailable(deployment(replicas, surge, unavailable))
    assert found == expected


def test_new_replica_set_grows_within_the_surge() -> None:
    d = deployment(4)
    assert rollout.new_replicas(d, rs("new", 0), [rs("new", 0), rs("old", 4)]) == 1
    assert rollout.new_replicas(d, rs("new", 1), [rs("new", 1), rs("old", 4)]) == 1
    assert rollout.new_replicas(d, rs("new", 1), [rs("new", 1), rs("old", 3)]) == 2
    assert rollout.new_replicas(d, rs("new", 6), [rs("new", 6)]) == 4


def test_old_replica_sets_keep_the_minimum_available() -> None:
    d = deployment(4)
    new = rs("new", 1, available=0)
    assert rollout.old_scale_downs(d, new, [rs("old", 4)]) == {"old": 3}
    assert rollout.old_scale_downs(d, new, [rs("old", 3)]) == {}
    ready_new = rs("new", 2, available=2)
    assert rollout.old_scale_downs(d, ready_new, [rs("old", 3)]) == {"old": 1}


def test_unhealthy_old_pods_go_first() -> None:
    d = deployment(4)
    new = rs("new", 1, available=0)
    olds = [rs("a", 2, available=2, created="1"), rs("b", 2, available=0, created="2")]
    assert rollout.old_scale_downs(d, new, olds) == {"b": 1}


def test_status_of_a_complete_rollout() -> None:
    d = deployment(2)
    status = rollout.sync_status(d, rs("new", 2), [rs("new", 2), rs("old", 0)], NOW)
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "observedGeneration": 3,
        "replicas": 2,
        "updatedReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
        "unavailableReplicas": 0,
    }
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert conditions["Progressing"]["message"] == 'ReplicaSet "new" has successfully progressed.'
    assert rollout.seconds_to_deadline(d, status, NOW) is None


def test_progress_refreshes_and_stalls_time_out() -> None:
    before = {"replicas": 3, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2}
    d = deployment(2, status=before)
    sets = [rs("new", 2, available=1), rs("old", 1)]
    status = rollout.sync_status(d, sets[0], sets, NOW)
    progressing = {c["type"]: c for c in status["conditions"]}["Progressing"]
    assert (progressing["reason"], progressing["lastUpdateTime"]) == (
        "ReplicaSetUpdated",
        "2026-01-01T12:00:00Z",
    )
    assert rollout.seconds_to_deadline(d, status, NOW) == 60.5
    stalled = {**d, "status": status}
    later = NOW + datetime.timedelta(seconds=30)
    assert rollout.sync_status(stalled, sets[0], sets, later)["conditions"] == status["conditions"]
    timed_out = rollout.sync_status(stalled, sets[0], sets, NOW + datetime.timedelta(seconds=61))
    progressing = {c["type"]: c for c in timed_out["conditions"]}["Progressing"]
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert progressing["message"] == 'ReplicaSet "new" has timed out progressing.'


def test_too_few_available_is_reported() -> None:
    d = deployment(4)
    status = rollout.sync_status(d, rs("new", 4, available=2), [rs("new", 4, available=2)], NOW)
    available = {c["type"]: c for c in status["conditions"]}["Available"]
    assert (available["status"], available["reason"]) == ("False", "MinimumReplicasUnavailable")
    assert status["unavailableReplicas"] == 2
