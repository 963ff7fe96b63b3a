"""Built-in defaults and Service address allocation.

Covers: Deployment defaults (replicas, strategy, history, deadline) and pod template defaults;
imagePullPolicy Always for untagged or :latest images and IfNotPresent otherwise; Service type,
protocol and targetPort; cluster IPs are unique and kept across updates; node ports are
allocated for NodePort Services and kept; a body of the wrong shape is left alone (validation
refuses it) instead of crashing.
"""

from __future__ import annotations

from typing import Any

from serinus.sandbox.apiserver.builtin import BUILTIN
from serinus.sandbox.apiserver.defaults import allocate_service_addresses, apply_defaults
from tests.sandbox.apiserver.support import deployment

TYPES = {t.resource: t for t in BUILTIN if not t.storage_name}


def test_deployment_defaults() -> None:
    obj = deployment(image="web")
    del obj["spec"]["replicas"]
    obj["spec"]["template"]["spec"]["containers"].append({"name": "b", "image": "web:latest"})
    obj["spec"]["template"]["spec"]["containers"].append({"name": "c", "image": "reg:5000/web:1.2"})
    apply_defaults(TYPES["deployments.apps"], obj)
    spec = obj["spec"]
    assert (spec["replicas"], spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (
        1,
        10,
        600,
    )
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    pod = spec["template"]["spec"]
    assert (pod["restartPolicy"], pod["dnsPolicy"], pod["terminationGracePeriodSeconds"]) == (
        "Always",
        "ClusterFirst",
        30,
    )
    policies = [c["imagePullPolicy"] for c in pod["containers"]]
    assert policies == ["Always", "Always", "IfNotPresent"]


def test_recreate_strategy_gets_no_rolling_update() -> None:
    obj = deployment()
    obj["spec"]["strategy"] = {"type": "Recreate"}
    apply_defaults(TYPES["deployments.apps"], obj)
    assert obj["spec"]["strategy"] == {"type": "Recreate"}


def service(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}], **spec}}


def test_service_defaults_and_addresses() -> None:
    obj = service(type="NodePort")
    apply_defaults(TYPES["services"], obj)
    assert obj["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    taken = {"10.96.0.10"}
    ports = {30000}
    allocate_service_addresses(obj, None, taken, ports)
    assert obj["spec"]["clusterIP"] == "10.96.0.11"
    assert obj["spec"]["clusterIPs"] == ["10.96.0.11"]
    assert obj["spec"]["ports"][0]["nodePort"] == 30001
    renewed = service(type="NodePort")
    allocate_service_addresses(renewed, obj, taken | {"10.96.0.11"}, ports)
    assert renewed["spec"]["clusterIP"] == "10.96.0.11"
    assert renewed["spec"]["ports"][0]["nodePort"] == 30001


def test_wrong_shapes_are_left_to_validation() -> None:
    obj = {"metadata": {"name": "x"}, "spec": ["not", "a", "map"]}
    apply_defaults(TYPES["deployments.apps"], obj)
    assert obj["spec"] == ["not", "a", "map"]
