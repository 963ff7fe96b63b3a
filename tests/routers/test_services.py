"""The apex, primary and canary Services, against a real local API server.

Covers: initialize creates ``-canary`` (target's pods) and ``-primary`` (``<value>-primary``) as
ClusterIP Services with the port, labels, Flux annotations and a controller reference to the
Canary; reconcile points the apex at the primary; a second call writes nothing (same
resourceVersions, no request); custom port name, target port by name, appProtocol; headless
Services, and a clear error when an existing Service's clusterIP cannot become what is asked;
spec.service.primary/canary/apex metadata; metadata added by others is stripped from owned
Services except unmanagedMetadata keys; a user's apex is taken over (clusterIP, labels and
annotations kept, no owner reference) and only its selector and ports change; the selector label
is found among app, name, app.kubernetes.io/name, and its absence or a missing target is an error
naming the object; a Service of another Canary is refused; finalize gives the apex back to the
target (selector, owner reference, kubectl's recorded selector) so it outlives the Canary, while
deleting the Canary garbage-collects -primary and -canary; a Service target gets no Services
from the router (it is its own apex) and its routes stay on the primary; StatefulSet targets get
the same Services as Deployments.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from serinus.errors import RouterError, TargetNotFoundError
from serinus.ports import Routes
from serinus.routers import kubernetes
from serinus.routers.services import Services
from tests.routers.support import (
    NAMESPACE,
    CountingKube,
    deployment,
    new_canary,
    service,
    version_of,
    with_spec,
)

FLUX = {
    "kustomize.toolkit.fluxcd.io/reconcile": "disabled",
    "helm.toolkit.fluxcd.io/driftDetection": "disabled",
}


def services(kube: CountingKube) -> Services:
    return Services(kube, provider="linkerd")


async def test_initialize_creates_canary_and_primary_services(kube: CountingKube) -> None:
    canary = await new_canary(kube)
    await services(kube).initialize(canary)
    created = await service(kube, "podinfo-canary")
    primary = await service(kube, "podinfo-primary")
    assert created["spec"]["selector"] == {"app": "podinfo"}
    assert primary["spec"]["selector"] == {"app": "podinfo-primary"}
    for svc, name in ((created, "podinfo-canary"), (primary, "podinfo-primary")):
        assert svc["spec"]["type"] == "ClusterIP"
        assert svc["spec"]["clusterIP"] not in (None, "None")
        assert svc["spec"]["ports"] == [
            {"name": "http", "protocol": "TCP", "port": 9898, "targetPort": 9898}
        ]
        assert svc["metadata"]["labels"] == {"app": name}
        assert svc["metadata"]["annotations"] == FLUX
        assert svc["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "flagger.app/v1beta1",
                "kind": "Canary",
                "name": "podinfo",
                "uid": canary.metadata.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]


async def test_reconcile_points_the_apex_at_the_primary(kube: CountingKube) -> None:
    canary = await new_canary(kube, service={"name": "frontend"})
    router = services(kube)
    await router.initialize(canary)
    await router.reconcile_apex(canary)
    apex = await service(kube, "frontend")
    assert apex["spec"]["selector"] == {"app": "podinfo-primary"}
    assert apex["metadata"]["labels"] == {"app": "frontend"}
    assert (await service(kube, "frontend-canary"))["spec"]["selector"] == {"app": "podinfo"}


async def test_second_calls_write_nothing(kube: CountingKube) -> None:
    canary = await new_canary(kube)
    router = services(kube)
    await router.initialize(canary)
    await router.reconcile_apex(canary)
    names = ("podinfo", "podinfo-primary", "podinfo-canary")
    before = [version_of(await service(kube, name)) for name in names]
    writes = kube.writes
    await router.initialize(canary)
    await router.reconcile_apex(canary)
    assert kube.writes == writes
    assert [version_of(await service(kube, name)) for name in names] == before


async def test_port_name_target_port_by_name_and_app_protocol(kube: CountingKube) -> None:
    canary = await new_canary(
        kube,
        service={"port": 80, "portName": "grpc", "targetPort": "http", "appProtocol": "grpc"},
    )
    await services(kube).initialize(canary)
    assert (await service(kube, "podinfo-primary"))["spec"]["ports"] == [
        {"name": "grpc", "protocol": "TCP", "port": 80, "targetPort": "http", "appProtocol": "grpc"}
    ]


async def test_port_change_updates_existing_services_keeping_their_address(
    kube: CountingKube,
) -> None:
    canary = await new_canary(kube)
    router = services(kube)
    await router.initialize(canary)
    address = (await service(kube, "podinfo-canary"))["spec"]["clusterIP"]
    await router.initialize(with_spec(canary, service={"port": 8080, "targetPort": 9898}))
    updated = await service(kube, "podinfo-canary")
    assert updated["spec"]["clusterIP"] == address
    assert updated["spec"]["ports"] == [
        {"name": "http", "protocol": "TCP", "port": 8080, "targetPort": 9898}
    ]


async def test_port_discovery_adds_every_other_container_port(kube: CountingKube) -> None:
    containers: list[dict[str, Any]] = [
        {
            "name": "podinfod",
            "image": "podinfo",
            "ports": [
                {"name": "http", "containerPort": 9898},
                {"name": "http-metrics", "containerPort": 9797},
                {"containerPort": 9999},
            ],
        },
        {"name": "istio-proxy", "image": "proxy", "ports": [{"containerPort": 15090}]},
        {"name": "sidecar", "image": "sidecar", "ports": [{"containerPort": 7000}]},
    ]
    await kube.replace(
        {
            **(await kube.get("apps/v1", "Deployment", "podinfo", NAMESPACE) or {}),
            "spec": deployment(containers=containers)["spec"],
        }
    )
    canary = await new_canary(kube, service={"portDiscovery": True})
    await services(kube).initialize(canary)
    ports = (await service(kube, "podinfo-canary"))["spec"]["ports"]
    assert [(p["name"], p["port"], p["targetPort"]) for p in ports] == [
        ("http", 9898, 9898),
        ("tcp-sidecar-0", 7000, 7000),
        ("http-metrics", 9797, 9797),
        ("tcp-podinfod-2", 9999, 9999),
    ]


async def test_headless_services_have_no_cluster_ip(kube: CountingKube) -> None:
    canary = await new_canary(kube, service={"headless": True})
    await services(kube).initialize(canary)
    assert (await service(kube, "podinfo-primary"))["spec"]["clusterIP"] == "None"
    writes = kube.writes
    await services(kube).initialize(canary)
    assert kube.writes == writes


async def test_an_address_cannot_become_headless(kube: CountingKube) -> None:
    canary = await new_canary(kube)
    await services(kube).initialize(canary)
    with pytest.raises(RouterError) as raised:
        await services(kube).initialize(with_spec(canary, service={"port": 9898, "headless": True}))
    message = str(raised.value)
    assert message.startswith("Service prod/podinfo-canary: spec.service.headless asks for")
    assert "delete the Service" in message


async def test_custom_metadata_of_each_service(kube: CountingKube) -> None:
    canary = await new_canary(
        kube,
        service={
            "apex": {"labels": {"tier": "web"}, "annotations": {"team": "a"}},
            "primary": {"labels": {"track": "stable"}},
            "canary": {"annotations": {"note": "new"}},
        },
    )
    router = services(kube)
    await router.initialize(canary)
    await router.reconcile_apex(canary)
    assert (await service(kube, "podinfo"))["metadata"]["labels"] == {
        "app": "podinfo",
        "tier": "web",
    }
    assert (await service(kube, "podinfo"))["metadata"]["annotations"] == {"team": "a", **FLUX}
    assert (await service(kube, "podinfo-primary"))["metadata"]["labels"] == {
        "app": "podinfo-primary",
        "track": "stable",
    }
    assert (await service(kube, "podinfo-canary"))["metadata"]["annotations"] == {
        "note": "new",
        **FLUX,
    }


async def test_owned_services_lose_foreign_metadata_except_unmanaged_keys(
    kube: CountingKube,
) -> None:
    canary = await new_canary(
        kube, service={"unmanagedMetadata": {"labels": ["mesh"], "annotations": ["injected"]}}
    )
    router = services(kube)
    await router.initialize(canary)
    svc = await service(kube, "podinfo-canary")
    svc["metadata"]["labels"].update({"mesh": "on", "stray": "x"})
    svc["metadata"]["annotations"].update({"injected": "yes", "other": "y"})
    await kube.replace(svc)
    await router.initialize(canary)
    meta = (await service(kube, "podinfo-canary"))["metadata"]
    assert meta["labels"] == {"app": "podinfo-canary", "mesh": "on"}
    assert meta["annotations"] == {"injected": "yes", **FLUX}


async def test_unmanaged_keys_are_never_set_by_serinus(kube: CountingKube) -> None:
    canary = await new_canary(
        kube,
        service={
            "canary": {"labels": {"mesh": "mine"}},
            "unmanagedMetadata": {"labels": ["mesh"]},
        },
    )
    await services(kube).initialize(canary)
    assert "mesh" not in (await service(kube, "podinfo-canary"))["metadata"]["labels"]


async def test_a_users_apex_is_taken_over_keeping_its_address_and_metadata(
    kube: CountingKube,
) -> None:
    applied = {"spec": {"selector": {"app": "podinfo"}}}
    user = await kube.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "podinfo",
                "namespace": NAMESPACE,
                "labels": {"app": "podinfo", "owner": "team-a"},
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)
                },
            },
            "spec": {
                "selector": {"app": "podinfo"},
                "ports": [{"name": "http", "port": 9898, "targetPort": 9898}],
            },
        }
    )
    canary = await new_canary(kube)
    router = services(kube)
    await router.reconcile_apex(canary)
    apex = await service(kube, "podinfo")
    assert apex["spec"]["selector"] == {"app": "podinfo-primary"}
    assert apex["spec"]["clusterIP"] == user["spec"]["clusterIP"]
    assert apex["metadata"]["labels"] == {"app": "podinfo", "owner": "team-a"}
    assert "last-applied-configuration" in str(apex["metadata"]["annotations"])
    assert "ownerReferences" not in apex["metadata"]
    writes = kube.writes
    await router.reconcile_apex(canary)
    assert kube.writes == writes
    await router.finalize(canary)
    assert (await service(kube, "podinfo"))["spec"]["selector"] == {"app": "podinfo"}


async def test_selector_label_is_found_in_order(kube: CountingKube) -> None:
    await kube.delete("apps/v1", "Deployment", "podinfo", NAMESPACE)
    await kube.create(deployment(labels={"app.kubernetes.io/name": "web", "tier": "x"}))
    canary = await new_canary(kube)
    await services(kube).initialize(canary)
    assert (await service(kube, "podinfo-primary"))["spec"]["selector"] == {
        "app.kubernetes.io/name": "web-primary"
    }


async def test_missing_selector_label_names_the_target(kube: CountingKube) -> None:
    await kube.delete("apps/v1", "Deployment", "podinfo", NAMESPACE)
    await kube.create(deployment(labels={"tier": "x"}))
    canary = await new_canary(kube)
    with pytest.raises(RouterError) as raised:
        await services(kube).initialize(canary)
    assert str(raised.value) == (
        "Deployment prod/podinfo: spec.selector.matchLabels must contain one of app, name, "
        "app.kubernetes.io/name, found tier"
    )


async def test_missing_target_is_an_error(kube: CountingKube) -> None:
    await kube.delete("apps/v1", "Deployment", "podinfo", NAMESPACE)
    canary = await new_canary(kube)
    with pytest.raises(TargetNotFoundError, match=r"^Deployment prod/podinfo not found"):
        await services(kube).initialize(canary)


async def test_a_service_of_another_canary_is_refused(kube: CountingKube) -> None:
    other = await new_canary(kube, name="other")
    await services(kube).initialize(other)
    canary = await new_canary(kube)
    with pytest.raises(RouterError) as raised:
        await services(kube).initialize(canary)
    assert str(raised.value).startswith(
        "Service prod/podinfo-canary: belongs to Canary prod/other, not to prod/podinfo"
    )


async def test_finalize_gives_the_apex_back_and_it_outlives_the_canary(kube: CountingKube) -> None:
    canary = await new_canary(kube)
    router = services(kube)
    await router.initialize(canary)
    await router.reconcile_apex(canary)
    await router.finalize(canary)
    apex = await service(kube, "podinfo")
    assert apex["spec"]["selector"] == {"app": "podinfo"}
    assert "ownerReferences" not in apex["metadata"]
    writes = kube.writes
    await router.finalize(canary)
    assert kube.writes == writes
    await kube.delete("flagger.app/v1beta1", "Canary", "podinfo", NAMESPACE)
    assert await kube.get("v1", "Service", "podinfo", NAMESPACE) is not None
    assert await kube.get("v1", "Service", "podinfo-primary", NAMESPACE) is None
    assert await kube.get("v1", "Service", "podinfo-canary", NAMESPACE) is None


async def test_service_targets_get_no_services_from_the_router(kube: CountingKube) -> None:
    canary = await new_canary(kube, targetRef={"apiVersion": "v1", "kind": "Service", "name": "x"})
    router = kubernetes.router(services(kube))
    writes = kube.writes
    await router.initialize(canary)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(0, 100))
    await router.finalize(canary)
    assert kube.writes == writes
    assert await router.get_routes(canary) == Routes(100, 0)
    assert await kube.list("v1", "Service", NAMESPACE) == []


async def test_daemonset_targets_and_traffic_distribution(kube: CountingKube) -> None:
    daemonset = deployment("agent")
    daemonset["kind"] = "DaemonSet"
    del daemonset["spec"]["replicas"]
    await kube.create(daemonset)
    canary = await new_canary(
        kube,
        targetRef={"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent"},
        service={"trafficDistribution": "PreferClose"},
    )
    router = services(kube)
    await router.initialize(canary)
    await router.reconcile_apex(canary)
    apex = await service(kube, "agent")
    assert apex["spec"]["selector"] == {"app": "agent-primary"}
    assert apex["spec"]["trafficDistribution"] == "PreferClose"
    assert (await service(kube, "agent-canary"))["spec"]["selector"] == {"app": "agent"}


async def test_statefulset_targets_get_the_same_services(kube: CountingKube) -> None:
    statefulset = deployment("db")
    statefulset["kind"] = "StatefulSet"
    statefulset["spec"]["serviceName"] = "db"
    await kube.create(statefulset)
    canary = await new_canary(
        kube, targetRef={"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db"}
    )
    router = services(kube)
    await router.initialize(canary)
    await router.reconcile_apex(canary)
    assert (await service(kube, "db"))["spec"]["selector"] == {"app": "db-primary"}
    assert (await service(kube, "db-primary"))["spec"]["selector"] == {"app": "db-primary"}
    assert (await service(kube, "db-canary"))["spec"]["selector"] == {"app": "db"}


async def test_the_target_is_read_at_its_kinds_api_version(kube: CountingKube) -> None:
    """Flagger's FAQ writes ``targetRef.apiVersion: v1`` for a Deployment; Flagger reads apps/v1
    whatever the field says, and so does serinus (its target controllers always did)."""
    target_ref = {"apiVersion": "v1", "kind": "Deployment", "name": "podinfo"}
    canary = await new_canary(kube, targetRef=target_ref)
    await services(kube).initialize(canary)
    primary = await service(kube, "podinfo-primary")
    assert primary["spec"]["selector"] == {"app": "podinfo-primary"}
