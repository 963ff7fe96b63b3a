"""The Linkerd proxy metrics the mesh proxy exports.

Covers: the exposition has Linkerd's family names and types, integer ``le`` bounds 1..50000 and
``+Inf``, whole-millisecond latency sums, and no ``*_created`` series; through a running proxy,
responses are counted on the destination's inbound side with its namespace, Deployment and pod
(``podinfo-primary`` and ``podinfo`` apart), 5xx classified failure and 4xx success, a pod that
never answers counted as a failure without status code, and ``/metrics`` served as Prometheus
text with ``/ready`` and ``/live`` beside it.
"""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from serinus.sandbox.mesh import MeshProxy
from serinus.sandbox.mesh.metrics import LATENCY_BUCKETS_MS, ProxyMetrics, inbound_labels
from serinus.sandbox.mesh.workloads import Endpoint
from tests.sandbox.mesh.support import SERVICE_PORT, Cluster, Pod, Podinfo, pod_ip, serving

CANARY = Endpoint("127.244.0.2", 9898, "prod", "podinfo-7d9c8f5b4-x2k9q", "podinfo")


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def test_the_exposition_has_linkerds_families_buckets_and_no_created_series() -> None:
    metrics = ProxyMetrics()
    labels = inbound_labels(CANARY, "podinfo-canary.prod:9898")
    metrics.request(labels)
    metrics.response(labels, status=200, latency_ms=3)
    metrics.request(labels)
    metrics.response(labels, status=200, latency_ms=700)

    text = metrics.exposition().decode()

    assert "# TYPE request_total counter" in text
    assert "# TYPE response_total counter" in text
    assert "# TYPE response_latency_ms histogram" in text
    assert "_created" not in text
    buckets = samples(text, "response_latency_ms_bucket")
    assert [labels["le"] for labels, _ in buckets] == [str(b) for b in LATENCY_BUCKETS_MS] + [
        "+Inf"
    ]
    cumulative = {labels["le"]: value for labels, value in buckets}
    assert (cumulative["2"], cumulative["3"], cumulative["500"], cumulative["1000"]) == (0, 1, 1, 2)
    assert samples(text, "response_latency_ms_sum")[0][1] == 703
    ((series, count),) = samples(text, "response_total")
    assert count == 2
    assert {k: series[k] for k in ("direction", "tls", "status_code", "classification")} == {
        "direction": "inbound",
        "tls": "true",
        "status_code": "200",
        "classification": "success",
    }
    assert (series["deployment"], series["pod"], series["target_addr"]) == (
        "podinfo",
        "podinfo-7d9c8f5b4-x2k9q",
        "127.244.0.2:9898",
    )


async def test_responses_are_counted_on_the_destination_deployment(
    cluster: Cluster, podinfo: Podinfo, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    await serving(proxy, podinfo)
    for _ in range(3):
        await client.get(f"{podinfo.primary_url}/")
    for path in ("/status/500", "/status/500", "/status/404"):
        await client.get(f"{podinfo.canary_url}{path}")

    scrape = await client.get(proxy.metrics_url)
    counted = {
        (s["deployment"], s["status_code"], s["classification"]): value
        for s, value in samples(scrape.text, "response_total")
    }
    requests = {s["deployment"]: value for s, value in samples(scrape.text, "request_total")}

    assert scrape.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert counted == {
        ("podinfo-primary", "200", "success"): 3,
        ("podinfo", "500", "failure"): 2,
        ("podinfo", "404", "success"): 1,
    }
    assert requests == {"podinfo-primary": 3, "podinfo": 3}
    namespaces = {s["namespace"] for s, _ in samples(scrape.text, "response_total")}
    assert namespaces == {cluster.namespace}


async def test_a_pod_that_never_answers_counts_as_a_failure_without_status(
    cluster: Cluster, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    gone = Pod("web-0", pod_ip(), port=1)
    ip = await cluster.service("web")
    await cluster.endpoints("web", [gone])
    await proxy.wait_for(lambda table: (ip, SERVICE_PORT) in proxy.listening)

    assert (await client.get(f"http://{ip}:{SERVICE_PORT}/")).status_code == 502

    ((series, count),) = samples((await client.get(proxy.metrics_url)).text, "response_total")
    assert count == 1
    assert (series["classification"], series["status_code"], series["error"]) == (
        "failure",
        "",
        "unclassified",
    )


async def test_the_admin_port_answers_ready_and_live(
    proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    base = f"http://{proxy.metrics_address}"

    assert (await client.get(f"{base}/ready")).status_code == 200
    assert (await client.get(f"{base}/live")).status_code == 200
