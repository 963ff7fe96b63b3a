"""Builders, polling and the kubectl runner shared by the workload runner tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from serinus.kube import Kube
from tests.support import manifests
from tests.support.kubectl import Kubectl

__all__ = ["Kubectl"]

T = TypeVar("T")
WAIT_SECONDS = 30.0


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, what: str, seconds: float = WAIT_SECONDS
) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}")


def podinfo(
    name: str = "podinfo",
    *,
    namespace: str = "prod",
    tag: str = "6.0.0",
    replicas: int = 2,
    probe: bool = True,
    **spec: Any,
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "podinfod",
        "image": f"stefanprodan/podinfo:{tag}",
        "ports": [{"name": "http", "containerPort": 9898}],
        # podinfo drains for 3 s on SIGTERM except at debug level (tests/sandbox/podinfo covers
        # the drain); these pods stop within their 2 s grace period, as the runner tests expect
        "env": [{"name": "PODINFO_LEVEL", "value": "debug"}],
    }
    if probe:
        container["readinessProbe"] = {
            "httpGet": {"path": "/readyz", "port": 9898},
            "periodSeconds": 1,
            "failureThreshold": 1,
        }
    return deployment(name, [container], namespace=namespace, replicas=replicas, **spec)


def deployment(
    name: str,
    containers: list[dict[str, Any]],
    *,
    namespace: str = "prod",
    replicas: int = 1,
    grace: int = 2,
    **spec: Any,
) -> dict[str, Any]:
    pod = {"terminationGracePeriodSeconds": grace}
    return manifests.deployment(name, namespace, containers, replicas=replicas, pod=pod, **spec)


def shell(name: str, script: str, **extra: Any) -> dict[str, Any]:
    """A container running a shell script (busybox maps to a local command)."""
    return {"name": name, "image": "busybox:1.36", "command": ["sh", "-c", script], **extra}


def service(name: str, *, namespace: str = "prod", app: str | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"app": app or name},
            "ports": [{"name": "http", "port": 9898, "targetPort": "http"}],
        },
    }


async def pods(kube: Kube, app: str, namespace: str = "prod") -> list[dict[str, Any]]:
    return await kube.list("v1", "Pod", namespace, {"app": app})


def ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def ready_pods(kube: Kube, app: str, count: int) -> list[dict[str, Any]] | None:
    found = [pod for pod in await pods(kube, app) if ready(pod)]
    return found if len(found) == count and len(await pods(kube, app)) == count else None


class Recorder:
    """Records every event of one kind from a watch started now (a background task)."""

    def __init__(self, kube: Kube, api_version: str, kind: str, namespace: str = "prod") -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._task = asyncio.create_task(self._follow(kube, api_version, kind, namespace))

    async def _follow(self, kube: Kube, api_version: str, kind: str, namespace: str) -> None:
        async for event in kube.watch(api_version, kind, namespace):
            self.events.append(event)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def states(self) -> list[dict[str, dict[str, Any]]]:
        """The objects by name after each event."""
        current: dict[str, dict[str, Any]] = {}
        found = []
        for event, obj in self.events:
            if event == "DELETED":
                current.pop(obj["metadata"]["name"], None)
            else:
                current[obj["metadata"]["name"]] = obj
            found.append(dict(current))
        return found
