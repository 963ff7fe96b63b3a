"""Port discovery from the target's containers (pure), as Flagger's portDiscovery does it.

Covers: nothing without portDiscovery; the main port left out by number (targetPort or port) or
by name (a named targetPort); mesh proxy containers left out; unnamed ports named
``tcp-<container>-<index>``; ports sorted by number; a name or number the Service has already is
skipped rather than making the Service invalid.
"""

from __future__ import annotations

from serinus.apis.canary import Canary
from serinus.routers.workload import ContainerPort, Workload, discovered_ports
from tests.routers.support import canary_manifest

PORTS = (
    ContainerPort("app", 0, "http", 9898),
    ContainerPort("app", 1, "", 9999),
    ContainerPort("app", 2, "metrics", 9797),
    ContainerPort("linkerd-proxy", 0, "linkerd-admin", 4191),
    ContainerPort("envoy", 0, "", 15000),
    ContainerPort("debug", 0, "http", 6060),
    ContainerPort("debug", 1, "pprof", 9999),
)


def canary(**service: object) -> Canary:
    return Canary.model_validate(canary_manifest(service=service))


def names(canary: Canary) -> list[tuple[str, int]]:
    ports = discovered_ports(canary, Workload("app", "podinfo", PORTS))
    return [(p["name"], p["port"]) for p in ports]


def test_no_discovery_unless_asked() -> None:
    assert names(canary()) == []


def test_every_other_port_is_discovered() -> None:
    assert names(canary(portDiscovery=True)) == [("metrics", 9797), ("tcp-app-1", 9999)]


def test_the_main_port_is_left_out_by_target_port() -> None:
    found = names(canary(port=80, targetPort="http", portDiscovery=True))
    assert found == [("metrics", 9797), ("tcp-app-1", 9999)]
    found = names(canary(port=80, targetPort=9797, portDiscovery=True))
    assert ("metrics", 9797) not in found
    assert ("tcp-app-1", 9999) in found
