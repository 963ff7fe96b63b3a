"""A real Prometheus for the sandbox, and Flagger's Linkerd queries against the mesh proxy.

Covers: the server starts on a free loopback port, ready, with the generated config (1 s scrapes,
``honor_labels``, the targets) and its data in the given directory; ``wait_for_series`` returns a
scraped series and gives up naming the query; a rejected query raises with Prometheus's reason;
``set_targets`` reloads the config in place; stopping sends SIGTERM and the process exits 0; a
missing binary or a taken port is reported clearly; and, end to end, Flagger's Linkerd
``request-success-rate`` query for the canary returns exactly the share of non-5xx responses the
test sent to the canary through the mesh proxy, unaffected by the primary's failures, and the
``request-duration`` query reflects the canary's slow responses.

One Prometheus serves the whole module: its first scrape comes ~5-6 s after it starts.
"""

from __future__ import annotations

import asyncio
import pathlib
import socket
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import yaml
from aiohttp import web

from serinus.kube import Kube, KubeSettings
from serinus.sandbox.apiserver import ApiServer
from serinus.sandbox.mesh import MeshProxy
from serinus.sandbox.prometheus import Prometheus, PrometheusError, ScrapeTarget
from tests.sandbox.mesh.support import Cluster, Podinfo, new_cluster, podinfo_setup, serving

SUCCESS_RATE = (
    'sum(rate(response_total{{namespace="{ns}",deployment=~"podinfo",classification!="failure",'
    'direction="inbound"}}[{interval}])) / sum(rate(response_total{{namespace="{ns}",'
    'deployment=~"podinfo",direction="inbound"}}[{interval}])) * 100'
)
DURATION = (
    'histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{{namespace="{ns}",'
    'deployment=~"podinfo",direction="inbound"}}[{interval}])) by (le))'
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    """Ports the module's Prometheus scrapes: the mesh proxy's admin port and a small app."""
    return {"mesh": free_port(), "app": free_port()}


@pytest.fixture(scope="module")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, ports: dict[str, int]
) -> Iterator[Prometheus]:
    targets = [
        ScrapeTarget("linkerd-proxy", f"127.0.0.1:{ports['mesh']}"),
        ScrapeTarget("app", f"127.0.0.1:{ports['app']}", labels={"team": "sandbox"}),
    ]
    with Prometheus(tmp_path_factory.mktemp("prometheus"), targets) as server:
        yield server


async def serve_text(port: int, text: str) -> web.AppRunner:
    async def metrics(request: web.Request) -> web.Response:
        return web.Response(text=text, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def test_it_starts_ready_with_the_generated_config(prometheus: Prometheus) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        ready = await client.get(f"{prometheus.url}/-/ready")
        loaded = (await client.get(f"{prometheus.url}/api/v1/status/config")).json()
    config = yaml.safe_load(loaded["data"]["yaml"])

    assert ready.status_code == 200
    assert prometheus.url.startswith("http://127.0.0.1:")
    assert config["global"]["scrape_interval"] == "1s"
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["linkerd-proxy"]["honor_labels"] is True
    assert jobs["app"]["static_configs"] == [
        {"targets": [prometheus.targets[1].address], "labels": {"team": "sandbox"}}
    ]
    assert (prometheus.directory / "data").is_dir()


async def test_wait_for_series_returns_a_scraped_series(
    prometheus: Prometheus, ports: dict[str, int]
) -> None:
    runner = await serve_text(ports["app"], 'sandbox_answer{kind="test"} 42\n')
    try:
        result = await prometheus.wait_for_series('sandbox_answer{kind="test"}')
    finally:
        await runner.cleanup()

    assert result[0]["metric"]["team"] == "sandbox"
    assert result[0]["value"][1] == "42"


async def test_wait_for_series_gives_up_naming_the_query(prometheus: Prometheus) -> None:
    with pytest.raises(PrometheusError, match=r"no result for .never_there_total. within 0.5 s"):
        await prometheus.wait_for_series("never_there_total", within=0.5)


async def test_a_rejected_query_raises_with_prometheus_reason(prometheus: Prometheus) -> None:
    with pytest.raises(PrometheusError, match=r"bad_data: .*parse error"):
        await prometheus.query("sum(")


async def test_set_targets_reloads_the_config_in_place(prometheus: Prometheus) -> None:
    before = prometheus.targets
    extra = ScrapeTarget("prometheus-itself", prometheus.url.removeprefix("http://"))
    try:
        await prometheus.set_targets([*before, extra])
        result = await prometheus.wait_for_series('up{job="prometheus-itself"} == 1')
    finally:
        await prometheus.set_targets(before)

    assert result[0]["metric"]["instance"] == extra.address


async def test_stopping_sends_sigterm_and_the_process_exits_cleanly(
    tmp_path: pathlib.Path,
) -> None:
    async with Prometheus(tmp_path) as server:
        url = server.url

    assert server.returncode == 0
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"{url}/-/ready")


async def test_a_missing_binary_names_the_package_to_install(tmp_path: pathlib.Path) -> None:
    with pytest.raises(PrometheusError, match="Debian package prometheus"):
        await Prometheus(tmp_path, binary="prometheus-not-installed").start()


def test_a_taken_port_is_reported_with_prometheus_log(tmp_path: pathlib.Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]

        with pytest.raises(PrometheusError, match="address already in use"):
            Prometheus(tmp_path, port=port).start_sync()


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[Kube, Cluster, Podinfo]]:
    """An API server holding the podinfo canary setup, and a Kube client for it."""
    async with (
        ApiServer(port=0) as api,
        httpx.AsyncClient(base_url=api.url, timeout=10) as http,
        Kube(KubeSettings.for_server(api.url)) as kube,
    ):
        cluster = await new_cluster(http)
        try:
            yield kube, cluster, await podinfo_setup(cluster)
        finally:
            await cluster.stop_pods()


async def test_flaggers_linkerd_queries_measure_the_canary_through_the_mesh(
    prometheus: Prometheus, ports: dict[str, int], sandbox: tuple[Kube, Cluster, Podinfo]
) -> None:
    kube, cluster, podinfo = sandbox
    ns, canary, primary = cluster.namespace, podinfo.canary_url, podinfo.primary_url
    client = httpx.AsyncClient(timeout=10, trust_env=False)

    async def send(*batches: tuple[int, str]) -> None:
        await asyncio.gather(*(client.get(url) for count, url in batches for _ in range(count)))

    async def scraped(total: int) -> None:
        await prometheus.wait_for_series(
            f'sum(response_total{{namespace="{ns}"}}) == {total}', within=30
        )

    async with client, MeshProxy(kube, metrics_port=ports["mesh"]) as proxy:
        await serving(proxy, podinfo)
        # Every series the measured traffic touches must exist, with counts well above what is
        # added later, so rate() extrapolates every series alike and the ratio stays exact.
        await send(
            (100, f"{canary}/"), (100, f"{canary}/status/500"), (20, f"{primary}/status/500")
        )
        await scraped(220)
        start = time.time()
        await prometheus.wait_for_series(
            f'max(timestamp(response_total{{namespace="{ns}"}})) > {start}'
        )  # a sample of the baseline inside the window, before the measured traffic
        await send((45, f"{canary}/delay/150"), (5, f"{canary}/status/500"))
        await send((30, f"{primary}/status/500"))
        await scraped(300)
        at = time.time()
        interval = f"{int((at - start) * 1000)}ms"
        success_rate = await prometheus.value(SUCCESS_RATE.format(ns=ns, interval=interval), at=at)
        duration = await prometheus.value(DURATION.format(ns=ns, interval=interval), at=at)

    assert success_rate == pytest.approx(90.0, abs=1e-9)  # 45 of the canary's 50 responses
    assert duration is not None
    # 45 of 50 canary responses took 150 ms or more: the p99 lies above the (100, 200] bucket's
    # lower bound (how far above depends on the machine's load), the primary's fast answers aside.
    assert 100 < duration < 1000
