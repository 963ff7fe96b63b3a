"""Which pods stand behind a Service port, and the Deployment each belongs to.

Covers: only ready addresses of the Endpoints port named like the Service port are used, across
subsets; each address is labelled with its pod (by targetRef, else by pod IP) and the pod's
Deployment through Pod -> ReplicaSet -> Deployment, so ``podinfo-primary`` and ``podinfo`` (the
canary) stay apart; before the ReplicaSet is known the name comes from the ReplicaSet's name minus
the pod-template-hash; pods owned by no ReplicaSet, or by one no Deployment owns, have none.
"""

from __future__ import annotations

from serinus.sandbox.mesh.objects import key_of
from serinus.sandbox.mesh.workloads import Endpoint, Workloads
from tests.sandbox.mesh import manifests as m


def workloads(*objects: dict[str, object]) -> Workloads:
    pods = {key_of(o): o for o in objects if o["kind"] == "Pod"}
    replicasets = {key_of(o): o for o in objects if o["kind"] == "ReplicaSet"}
    return Workloads(pods, replicasets)


def test_primary_and_canary_pods_are_told_apart_by_their_deployment() -> None:
    known = workloads(
        m.replicaset("podinfo-primary-6b8d9c7f5", "podinfo-primary"),
        m.replicaset("podinfo-7d9c8f5b4", "podinfo"),
        m.pod("podinfo-primary-6b8d9c7f5-q7w2z", "podinfo-primary-6b8d9c7f5"),
        m.pod("podinfo-7d9c8f5b4-x2k9q", "podinfo-7d9c8f5b4"),
    )
    endpoints = m.endpoints(
        "both",
        [
            ("127.244.0.1", "podinfo-primary-6b8d9c7f5-q7w2z"),
            ("127.244.0.2", "podinfo-7d9c8f5b4-x2k9q"),
        ],
    )

    assert known.endpoints(endpoints, "http") == (
        Endpoint("127.244.0.1", 9898, "prod", "podinfo-primary-6b8d9c7f5-q7w2z", "podinfo-primary"),
        Endpoint("127.244.0.2", 9898, "prod", "podinfo-7d9c8f5b4-x2k9q", "podinfo"),
    )


def test_the_deployment_is_derived_from_the_replicaset_name_until_it_is_known() -> None:
    known = workloads()

    name = known.deployment_of(
        m.pod("podinfo-7d9c8f5b4-x2k9q", "podinfo-7d9c8f5b4", template_hash="7d9c8f5b4")
    )

    assert name == "podinfo"


def test_pods_without_a_deployment_have_none() -> None:
    known = workloads(m.replicaset("bare-abc", "x"))
    known_rs = m.replicaset("bare-abc", "x")
    known_rs["metadata"]["ownerReferences"] = []
    orphan_rs = workloads(known_rs)

    assert known.deployment_of(m.pod("loner", "")) == ""
    assert orphan_rs.deployment_of(m.pod("bare-abc-1", "bare-abc")) == ""


def test_addresses_without_target_ref_are_matched_by_pod_ip() -> None:
    known = workloads(
        m.replicaset("web-abc12", "web"), m.pod("web-abc12-1", "web-abc12", ip="127.244.3.3")
    )
    endpoints = m.endpoints("web", [("127.244.3.3", "")])
    del endpoints["subsets"][0]["addresses"][0]["targetRef"]

    (endpoint,) = known.endpoints(endpoints, "http")

    assert (endpoint.pod, endpoint.deployment) == ("web-abc12-1", "web")


def test_only_ready_addresses_on_the_named_port_are_used() -> None:
    endpoints = m.endpoints("web", [("127.244.0.9", "p")], not_ready=("127.244.0.8",))
    endpoints["subsets"].append(
        {"addresses": [{"ip": "127.244.0.7"}], "ports": [{"name": "metrics", "port": 9797}]}
    )

    found = workloads().endpoints(endpoints, "http")

    assert [(e.ip, e.port) for e in found] == [("127.244.0.9", 9898)]
    assert workloads().endpoints(endpoints, "metrics")[0].port == 9797
    assert workloads().endpoints(None, "http") == ()
