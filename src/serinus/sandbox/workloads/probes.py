"""Container probes (readiness, liveness, startup), checked as the kubelet checks them.

Failures read as the kubelet's (``Get "http://...": dial tcp ...: connect: connection refused``,
``HTTP probe failed with statuscode: 503``): they are the messages of ``Unhealthy`` Events.

``httpGet`` succeeds on a status from 200 to 399 (the host defaults to the pod IP, as in a cluster;
HTTPS is not verified, as the kubelet does not), ``tcpSocket`` when a connection opens, ``exec``
when the command exits 0 within ``timeoutSeconds``. ``initialDelaySeconds``, ``periodSeconds``,
``timeoutSeconds``, ``successThreshold`` and ``failureThreshold`` keep their Kubernetes defaults
(0, 10, 1, 1, 3). A named port is looked up in the container's ports.

``grpc`` probes are not supported here: such a probe always fails with a message saying so,
which keeps the pod visibly unready rather than pretending it passed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx

from serinus.apis.base import Manifest

ExecRunner = Callable[[Sequence[str], float], Awaitable[int]]
"""Runs a command inside the pod with a timeout; its exit code (non-zero on timeout)."""


@dataclasses.dataclass(frozen=True)
class Probe:
    handler: Manifest
    kind: str
    initial_delay: float = 0
    period: float = 10
    timeout: float = 1
    success_threshold: int = 1
    failure_threshold: int = 3

    @classmethod
    def parse(cls, spec: Any) -> Probe | None:
        if not isinstance(spec, Mapping):
            return None
        kind = next((k for k in ("httpGet", "tcpSocket", "exec", "grpc") if k in spec), "")
        return cls(
            handler=dict(spec.get(kind) or {}),
            kind=kind,
            initial_delay=float(spec.get("initialDelaySeconds") or 0),
            period=float(spec.get("periodSeconds") or 10),
            timeout=float(spec.get("timeoutSeconds") or 1),
            success_threshold=int(spec.get("successThreshold") or 1),
            failure_threshold=int(spec.get("failureThreshold") or 3),
        )


def resolve_port(port: Any, container: Manifest) -> int:
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise ValueError(f"port {port!r} is not a number nor a named port of the container")


async def check(
    probe: Probe,
    *,
    pod_ip: str,
    container: Manifest,
    client: httpx.AsyncClient,
    run_exec: ExecRunner,
) -> str | None:
    """None when the probe passes, else why it failed (the kubelet's event message)."""
    try:
        if probe.kind == "httpGet":
            return await _http(probe, pod_ip, container, client)
        if probe.kind == "tcpSocket":
            return await _tcp(probe, pod_ip, container)
        if probe.kind == "exec":
            command = [str(word) for word in probe.handler.get("command") or []]
            code = await run_exec(command, probe.timeout)
            return None if code == 0 else f"command {command} exited with {code}"
    except ValueError as error:
        return str(error)
    if probe.kind == "grpc":
        return "grpc probes are not supported by the sandbox; use httpGet, tcpSocket or exec"
    return f"probe has no handler (httpGet, tcpSocket or exec): {sorted(probe.handler)}"


async def _http(
    probe: Probe, pod_ip: str, container: Manifest, client: httpx.AsyncClient
) -> str | None:
    handler = probe.handler
    host = str(handler.get("host") or pod_ip)
    port = resolve_port(handler.get("port"), container)
    scheme = str(handler.get("scheme") or "HTTP").lower()
    path = str(handler.get("path") or "/")
    headers = {
        str(h.get("name")): str(h.get("value")) for h in handler.get("httpHeaders") or [] if h
    }
    url = f"{scheme}://{host}:{port}{path if path.startswith('/') else '/' + path}"
    try:
        response = await client.get(url, headers=headers, timeout=probe.timeout)
    except httpx.ConnectError:
        return f'Get "{url}": dial tcp {host}:{port}: connect: connection refused'
    except httpx.TimeoutException:
        why = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        return f'Get "{url}": {why}'
    except httpx.HTTPError as error:
        return f'Get "{url}": {type(error).__name__}: {error}'
    if 200 <= response.status_code < 400:
        return None
    return f"HTTP probe failed with statuscode: {response.status_code}"


async def _tcp(probe: Probe, pod_ip: str, container: Manifest) -> str | None:
    host = str(probe.handler.get("host") or pod_ip)
    port = resolve_port(probe.handler.get("port"), container)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), probe.timeout)
    except (OSError, TimeoutError) as error:
        return f"dial tcp {host}:{port}: {error or 'timeout'}"
    writer.close()
    await writer.wait_closed()
    return None
