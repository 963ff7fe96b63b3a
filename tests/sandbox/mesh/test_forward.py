"""Forwarding through the mesh proxy: what the pod receives and what the caller gets back.

Covers: method, raw path and query, and a large streamed body pass through unchanged both ways,
with the pod's status and headers; a response reaches the caller as the pod streams it; HEAD and
204 answers come back without a body; hop-by-hop headers (and those named in ``Connection``) are
dropped while end-to-end headers are kept; the proxy adds no headers of its own (no default
``Accept-Encoding`` or ``User-Agent``); an HTTPRoute rule's header modifiers are applied to the
request and the response; a bodiless request whose pod is gone is retried on the next pod; a
response the pod cuts off is cut off for the caller too and counted as a failure.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from serinus.sandbox.mesh import MeshProxy
from tests.sandbox.mesh.support import (
    SERVICE_PORT,
    Cluster,
    Pod,
    Podinfo,
    backend_ref,
    caught_up,
    pod_ip,
    serving,
)


async def test_method_path_query_status_and_a_streamed_body_pass_through(
    podinfo: Podinfo, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    await serving(proxy, podinfo)
    chunks = [bytes([n]) * 65536 for n in range(32)]  # 2 MiB, sent chunked

    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    response = await client.request("PUT", f"{podinfo.canary_url}/echo?b=%2F&a=1", content=body())

    assert response.status_code == 201
    assert response.headers["x-pod"] == podinfo.canary_pods[0].name
    assert response.headers["x-method"] == "PUT"
    assert response.headers["x-raw-path"] == "/echo?b=%2F&a=1"
    assert response.content == b"".join(chunks)


async def test_a_response_is_relayed_as_it_streams_not_when_it_ends(
    podinfo: Podinfo, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    await serving(proxy, podinfo)
    pod = podinfo.canary_pods[0]

    async with client.stream("GET", f"{podinfo.canary_url}/stream") as response:
        chunks = response.aiter_raw()
        async with asyncio.timeout(5):  # a buffering proxy would wait for the gate for ever
            first = await anext(chunks)
        finished_early = pod.gate.is_set()
        pod.gate.set()
        rest = b"".join([chunk async for chunk in chunks])

    assert (first, finished_early, rest) == (b"first", False, b"second")


async def test_hop_by_hop_headers_are_dropped_and_end_to_end_ones_kept(
    podinfo: Podinfo, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    await serving(proxy, podinfo)
    headers = {
        "Connection": "keep-alive, X-Hop",
        "X-Hop": "only for the next hop",
        "Keep-Alive": "timeout=5",
        "TE": "trailers",
        "Proxy-Authorization": "Basic Zm9vOmJhcg==",
        "X-Request-Id": "abc",
        "Authorization": "Bearer token",
    }

    seen = (await client.get(f"{podinfo.canary_url}/headers", headers=headers)).json()

    assert seen["x-request-id"] == "abc"
    assert seen["authorization"] == "Bearer token"
    for dropped in ("x-hop", "keep-alive", "te", "proxy-authorization"):
        assert dropped not in seen


async def test_the_proxy_adds_no_headers_of_its_own(podinfo: Podinfo, proxy: MeshProxy) -> None:
    await serving(proxy, podinfo)
    reader, writer = await asyncio.open_connection(podinfo.canary, SERVICE_PORT)
    writer.write(b"GET /headers HTTP/1.1\r\nHost: podinfo-canary:9898\r\nConnection: close\r\n\r\n")
    reply = await reader.read()
    writer.close()
    await writer.wait_closed()

    seen = json.loads(reply.split(b"\r\n\r\n", 1)[1])

    assert seen == {"host": "podinfo-canary:9898"}


async def test_an_httproute_rules_header_modifiers_apply_to_request_and_response(
    cluster: Cluster, podinfo: Podinfo, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    await serving(proxy, podinfo)
    rule = {
        "backendRefs": [backend_ref("podinfo-canary", 1)],
        "filters": [
            {
                "type": "RequestHeaderModifier",
                "requestHeaderModifier": {
                    "set": [{"name": "X-Env", "value": "canary"}],
                    "add": [{"name": "X-Added", "value": "yes"}],
                    "remove": ["X-Secret"],
                },
            },
            {
                "type": "ResponseHeaderModifier",
                "responseHeaderModifier": {"set": [{"name": "X-Served-By", "value": "mesh"}]},
            },
        ],
    }
    await caught_up(proxy, "HTTPRoute", await cluster.http_route([rule]))

    response = await client.get(
        f"{podinfo.apex_url}/headers", headers={"X-Env": "prod", "X-Secret": "s"}
    )
    seen = response.json()

    assert (seen["x-env"], seen["x-added"], "x-secret" in seen) == ("canary", "yes", False)
    assert response.headers["x-served-by"] == "mesh"


async def test_a_bodiless_request_to_a_vanished_pod_is_retried_on_the_next_pod(
    cluster: Cluster, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    live = (await cluster.deployment("web", 1))[0]
    gone = Pod("web-gone", pod_ip(), port=live.port)  # nothing listens there
    ip = await cluster.service("web")
    await cluster.endpoints("web", [live, gone])
    await proxy.wait_for(
        lambda t: (
            (ip, SERVICE_PORT) in proxy.listening
            and len(t.listeners[(ip, SERVICE_PORT)].direct.endpoints) == 2
        )
    )

    statuses = [(await client.get(f"http://{ip}:{SERVICE_PORT}/")).status_code for _ in range(4)]
    posted = [
        (await client.post(f"http://{ip}:{SERVICE_PORT}/", content=b"x")).status_code
        for _ in range(2)
    ]

    assert statuses == [200, 200, 200, 200]
    assert sorted(posted) == [200, 502]  # a body is never sent twice


async def test_a_response_the_pod_cuts_off_is_cut_off_for_the_caller_and_counted_failed(
    podinfo: Podinfo, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    await serving(proxy, podinfo)

    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(f"{podinfo.canary_url}/cut")

    metrics = (await client.get(proxy.metrics_url)).text
    samples = [
        sample
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "response_total"
    ]
    assert [(s.labels["classification"], s.labels["error"]) for s in samples] == [
        ("failure", "unclassified")
    ]


async def test_head_and_bodiless_statuses_come_back_without_a_body(
    podinfo: Podinfo, proxy: MeshProxy, client: httpx.AsyncClient
) -> None:
    await serving(proxy, podinfo)
    name = podinfo.canary_pods[0].name

    head = await client.head(f"{podinfo.canary_url}/")
    no_content = await client.get(f"{podinfo.canary_url}/status/204")
    after = await client.get(f"{podinfo.canary_url}/")  # the connection is still usable

    assert (head.status_code, head.headers["content-length"], head.content) == (
        200,
        str(len(name)),
        b"",
    )
    assert (no_content.status_code, no_content.content) == (204, b"")
    assert after.text == name
