"""Probe checks (covers ``serinus/sandbox/workloads/probes.py``) against real local servers.

Covers: defaults of a parsed probe; httpGet passes on 2xx/3xx and fails on 4xx/5xx and on a
refused connection, using the pod IP and a named port; tcpSocket passes when a port listens;
exec passes on exit 0; grpc probes fail saying they are not supported.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
from aiohttp import web

from serinus.sandbox.workloads import probes
from tests.support import loopback


@contextlib.asynccontextmanager
async def server() -> AsyncIterator[int]:
    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]))

    app = web.Application()
    app.router.add_get("/{code}", status)
    runner, _ = await loopback.start(app)
    try:
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


async def run_exec(command: Sequence[str], seconds: float) -> int:
    process = await asyncio.create_subprocess_exec(*command)
    return await asyncio.wait_for(process.wait(), seconds)


async def check(spec: dict, port: int) -> str | None:
    probe = probes.Probe.parse(spec)
    assert probe is not None
    container = {"ports": [{"name": "http", "containerPort": port}]}
    async with httpx.AsyncClient() as client:
        return await probes.check(
            probe, pod_ip="127.0.0.1", container=container, client=client, run_exec=run_exec
        )


def test_defaults() -> None:
    probe = probes.Probe.parse({"httpGet": {"port": 80}})
    assert probe is not None
    assert (probe.initial_delay, probe.period, probe.timeout) == (0, 10, 1)
    assert (probe.success_threshold, probe.failure_threshold) == (1, 3)
    assert probes.Probe.parse(None) is None


@pytest.mark.parametrize(("code", "passes"), [(200, True), (302, True), (404, False), (503, False)])
async def test_http_get(code: int, passes: bool) -> None:
    async with server() as port:
        problem = await check({"httpGet": {"path": f"/{code}", "port": "http"}}, port)
    assert (problem is None) is passes
    if not passes:
        assert problem == f"HTTP probe failed with statuscode: {code}"


async def test_http_get_refused_and_tcp_socket() -> None:
    async with server() as port:
        assert await check({"tcpSocket": {"port": port}}, port) is None
    problem = await check({"httpGet": {"path": "/", "port": port}}, port)
    assert problem is not None
    assert problem.startswith(f'Get "http://127.0.0.1:{port}/"')
    assert (await check({"tcpSocket": {"port": port}}, port) or "").startswith("dial tcp")


async def test_exec_and_grpc() -> None:
    assert await check({"exec": {"command": ["true"]}}, 1) is None
    assert await check({"exec": {"command": ["false"]}}, 1) == "command ['false'] exited with 1"
    problem = await check({"grpc": {"port": 9999}}, 1)
    assert problem is not None
    assert "not supported" in problem
