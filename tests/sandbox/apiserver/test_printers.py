"""Built-in column values: ages as kubectl prints them, pod status and readiness, service ports.

Covers: the human duration steps (seconds, minutes with seconds under ten minutes, hours with
minutes under eight hours, days, years); pod READY counts ready containers, STATUS prefers the
waiting reason and shows Terminating; service PORT(S) shows node ports and EXTERNAL-IP reads
the load balancer or shows <pending>.
"""

from __future__ import annotations

import datetime

import pytest

from serinus.sandbox.apiserver.printers import PRINTERS, human_age

NOW = datetime.datetime(2026, 11, 29, 12, 0, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),
        (125, "2m5s"),
        (540, "9m"),
        (3540, "59m"),
        (3 * 3600 + 60, "3h1m"),
        (10 * 3600, "10h"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (30 * 86400, "30d"),
        (3 * 365 * 86400, "3y"),
    ],
)
def test_human_age(seconds: int, text: str) -> None:
    assert human_age(NOW - datetime.timedelta(seconds=seconds), at=NOW) == text


def cells(resource: str, obj: dict[str, object]) -> dict[str, object]:
    return {column.name: column.cell(obj) for column in PRINTERS[resource]}


def test_pod_columns() -> None:
    pod = {
        "metadata": {"name": "web-1"},
        "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {"name": "a", "ready": True, "restartCount": 2, "state": {"running": {}}},
                {
                    "name": "b",
                    "ready": False,
                    "restartCount": 1,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                },
            ],
        },
    }
    row = cells("pods", pod)
    assert (row["Name"], row["Ready"], row["Status"], row["Restarts"]) == (
        "web-1",
        "1/2",
        "CrashLoopBackOff",
        3,
    )
    pod["metadata"]["deletionTimestamp"] = "2026-11-29T12:00:00Z"  # type: ignore[index]
    assert cells("pods", pod)["Status"] == "Terminating"


def test_service_columns() -> None:
    service = {
        "metadata": {"name": "web"},
        "spec": {
            "type": "LoadBalancer",
            "clusterIP": "10.96.0.10",
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}],
        },
        "status": {"loadBalancer": {}},
    }
    row = cells("services", service)
    assert (row["Type"], row["Cluster-IP"], row["External-IP"], row["Port(s)"]) == (
        "LoadBalancer",
        "10.96.0.10",
        "<pending>",
        "80:30080/TCP",
    )
