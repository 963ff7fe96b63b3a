"""Built-in column sets: what each column of pods and services shows.

Covers: pod READY counts ready containers, STATUS prefers the waiting reason and shows
Terminating, RESTARTS sums the containers; service PORT(S) shows node ports and EXTERNAL-IP
reads the load balancer or shows <pending>.
"""

from __future__ import annotations

from serinus.sandbox.apiserver.printers import PRINTERS


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
