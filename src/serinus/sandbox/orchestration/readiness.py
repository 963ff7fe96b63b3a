"""Waiting for a sandbox part to serve: the checks ``up`` polls, and the log tail of its errors.

:func:`wait` polls a check (None: ready; else what is missing) while the part's process lives,
and fails naming the part, what was missing and the end of its log when the part exits or the
check does not pass within :data:`READY_WITHIN` seconds. The checks: an HTTP endpoint answers
200, a file exists, the node is Ready, a Deployment has an available replica (else each pod's
state, so the error says why).
"""

from __future__ import annotations

import asyncio
import pathlib
import time
from collections.abc import Awaitable, Callable

import httpx

from serinus.apis.base import Manifest
from serinus.errors import SerinusError
from serinus.kube import Kube
from serinus.sandbox.orchestration import processes, state

READY_WITHIN = 60.0


async def wait(
    sandbox: state.SandboxState, name: str, ready: Callable[[], Awaitable[str | None]]
) -> None:
    """Poll ``ready`` (None: ready; else what is missing) while part ``name`` lives."""
    part = sandbox.parts[name]
    deadline = time.monotonic() + READY_WITHIN
    missing: str | None = "not asked yet"
    while True:
        if not processes.alive(part.pid):
            processes.reap(part.pid)
            raise SerinusError(f"sandbox part {name} exited during start-up{tail(part)}")
        missing = await ready()
        if missing is None:
            return
        if time.monotonic() > deadline:
            raise SerinusError(
                f"sandbox part {name} not ready after {READY_WITHIN:.0f}s: {missing}{tail(part)}"
            )
        await asyncio.sleep(0.1)


def tail(part: state.Part, lines: int = 15) -> str:
    """The last lines of a part's log, as the end of an error message."""
    try:
        text = pathlib.Path(part.log).read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return f"\n--- last lines of {part.log} ---\n" + "\n".join(text) if text else ""


async def answers(url: str) -> str | None:
    try:
        async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
            response = await client.get(url)
    except httpx.HTTPError as error:
        return f"{url}: {error.__class__.__name__}"
    return None if response.status_code == 200 else f"{url}: HTTP {response.status_code}"


async def exists(path: pathlib.Path) -> str | None:
    found = await asyncio.to_thread(path.exists)
    return None if found else f"{path} not written yet"


async def node_ready(kube: Kube) -> str | None:
    nodes = await kube.list("v1", "Node")
    for node in nodes:
        for condition in (node.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "Ready" and condition.get("status") == "True":
                return None
    return "no Ready node registered yet"


async def available(kube: Kube, namespace: str, name: str) -> str | None:
    deployment: Manifest | None = await kube.get("apps/v1", "Deployment", name, namespace)
    if deployment is None:
        return f"deployment {namespace}/{name} not found"
    status = deployment.get("status") or {}
    if int(status.get("availableReplicas") or 0) >= 1:
        return None
    pods = await kube.list("v1", "Pod", namespace)
    states = [
        f"{(pod.get('metadata') or {}).get('name')}: {pod_state(pod)}"
        for pod in pods
        if str((pod.get("metadata") or {}).get("name", "")).startswith(f"{name}-")
    ]
    return f"deployment {namespace}/{name} not available ({'; '.join(states) or 'no pods'})"


def pod_state(pod: Manifest) -> str:
    status = pod.get("status") or {}
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting:
            return f"{waiting.get('reason')} {waiting.get('message') or ''}".strip()
    return str(status.get("phase") or "Pending")
