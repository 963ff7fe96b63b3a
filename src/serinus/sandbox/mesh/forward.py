"""Forwarding one HTTP request through the mesh proxy, and counting it as Linkerd would.

:class:`Forwarder` is the aiohttp handler behind every ``clusterIP:port`` listener. For each
request it reads the current routing table once (so a table swapped in mid-request changes
nothing for it), picks the backend pod, and relays the exchange with a pooled keep-alive client:
method, path and query (raw, unre-encoded), headers minus the hop-by-hop ones (RFC 9110 §7.6.1,
plus any named in ``Connection``), and the body streamed both ways without buffering. The client
sends nothing of its own (no default ``Accept-Encoding`` or ``User-Agent``), never decompresses and
keeps no cookies, so the backend sees what the caller sent and the caller gets what it returned.

Failures are answered by the proxy with Linkerd's ``l5d-proxy-error`` header: 502 when the pod
cannot be reached or drops the connection before answering, 504 on a connect timeout, and the
routing statuses of :mod:`serinus.sandbox.mesh.table`. A bodiless request whose connection fails
before any response is retried once on the Service's next endpoint (a pod that just exited
leaves pooled connections behind); a request with a body is not, since its body may be spent.

Metrics are counted on the destination's inbound side (:mod:`serinus.sandbox.mesh.metrics`):
``request_total`` when the request is sent, ``response_total`` when the response ends, with the
time to its first byte in ``response_latency_ms``. A pod that never answered counts as a failure
without ``status_code``. A caller that hangs up mid-response is not counted as a response: the
backend did nothing wrong. Requests the proxy answers itself reach no pod and count nowhere, as
in Linkerd, whose inbound proxy never sees them. A request routed by an ingress rule (Contour's
HTTPProxy) is also counted in Envoy's statistics of the chosen Service's cluster, a request that
got no response with Envoy's 503.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from serinus.sandbox.mesh.envoy import cluster_name
from serinus.sandbox.mesh.metrics import ProxyMetrics, inbound_labels
from serinus.sandbox.mesh.table import Decision, RoutingTable
from serinus.sandbox.mesh.workloads import Endpoint

logger = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
_CONNECT_TIMEOUT = 5.0


def end_to_end(headers: CIMultiDictProxy[str] | CIMultiDict[str]) -> CIMultiDict[str]:
    """``headers`` without the hop-by-hop ones, including those listed in ``Connection``."""
    listed = {
        token.strip().lower()
        for value in headers.getall("Connection", [])
        for token in value.split(",")
    }
    return CIMultiDict(
        (name, value)
        for name, value in headers.items()
        if name.lower() not in HOP_BY_HOP and name.lower() not in listed
    )


def new_session() -> aiohttp.ClientSession:
    """The pooled client a proxy forwards with (keep-alive, no cookies, no decompression)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=30),
        timeout=aiohttp.ClientTimeout(total=None, connect=_CONNECT_TIMEOUT),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        trust_env=False,
    )


class _NoResponse(Exception):
    """The pod gave no response: ``status`` is what the caller gets, ``error`` Linkerd's label."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error


class Forwarder:
    """The request handler of every listener of one mesh proxy."""

    def __init__(
        self,
        table: Callable[[], RoutingTable],
        metrics: ProxyMetrics,
        session: Callable[[], aiohttp.ClientSession],
    ) -> None:
        self._table = table
        self._metrics = metrics
        self._session = session

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        local = request.transport.get_extra_info("sockname") if request.transport else None
        address = (str(local[0]), int(local[1])) if local else ("", 0)
        decision = self._table().decide(address, request)
        if decision.target is None or decision.status:
            logger.debug("%s %s: %s", request.method, request.path, decision.reason)
            return _proxy_error(decision.status, decision.reason)
        headers = end_to_end(request.headers)
        if decision.rule is not None:
            decision.rule.request_headers.apply(headers)
        retries = 0 if request.body_exists else 1
        endpoint = decision.target.pick()
        while endpoint is not None:
            try:
                return await self._exchange(request, decision, endpoint, headers)
            except _NoResponse as failure:
                if retries and failure.error == "unclassified":
                    logger.debug("retrying %s %s: %s", request.method, request.path, failure)
                    retries -= 1
                    endpoint = decision.target.pick()
                    continue
                self._count_no_response(request, decision, endpoint, failure)
                return _proxy_error(failure.status, f"{endpoint.address}: {failure}")
        return _proxy_error(503, f"no ready endpoints for {decision.target}")

    async def _exchange(
        self,
        request: web.BaseRequest,
        decision: Decision,
        endpoint: Endpoint,
        headers: CIMultiDict[str],
    ) -> web.StreamResponse:
        labels = inbound_labels(endpoint, request.host or endpoint.address)
        started = time.monotonic()
        try:
            upstream = await self._session().request(
                request.method,
                URL(f"http://{endpoint.address}{request.raw_path}", encoded=True),
                headers=headers,
                data=request.content if request.body_exists else None,
                allow_redirects=False,
                skip_auto_headers=_NO_AUTO_HEADERS,
            )
        except (aiohttp.ServerTimeoutError, TimeoutError) as error:
            raise _NoResponse(504, "timeout", f"timed out: {error}") from error
        except aiohttp.ClientError as error:
            raise _NoResponse(502, "unclassified", f"{type(error).__name__}: {error}") from error
        self._metrics.request(labels)
        async with upstream:
            return await self._relay(request, decision, upstream, labels, started)

    async def _relay(
        self,
        request: web.BaseRequest,
        decision: Decision,
        upstream: aiohttp.ClientResponse,
        labels: tuple[str, ...],
        started: float,
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        response.headers.extend(end_to_end(upstream.headers))
        if decision.rule is not None:
            decision.rule.response_headers.apply(response.headers)
        await response.prepare(request)  # headers go out at once, as for a streamed response
        latency_ms: int | None = None
        broken = ""
        while True:
            try:
                chunk = await upstream.content.readany()
            except aiohttp.ClientError as error:
                logger.info("response from %s broke off: %s", labels[2], error)
                broken = "unclassified"
                break
            if latency_ms is None:  # time to the first byte of the body, or to its end
                latency_ms = int((time.monotonic() - started) * 1000)
            if not chunk:
                break
            await response.write(chunk)  # a caller hanging up raises here: not counted
        self._metrics.response(labels, status=upstream.status, latency_ms=latency_ms, error=broken)
        self._count_envoy(decision, status=upstream.status, latency_ms=latency_ms)
        if broken and request.transport is not None:
            request.transport.close()  # the caller must see a cut response, not a complete one
            return response
        await response.write_eof()
        return response

    def _count_no_response(
        self,
        request: web.BaseRequest,
        decision: Decision,
        endpoint: Endpoint,
        failure: _NoResponse,
    ) -> None:
        labels = inbound_labels(endpoint, request.host or endpoint.address)
        self._metrics.request(labels)
        self._metrics.response(labels, status=None, latency_ms=None, error=failure.error)
        self._count_envoy(decision, status=None, latency_ms=None)
        logger.info("no response from %s: %s", endpoint.address, failure)

    def _count_envoy(
        self, decision: Decision, *, status: int | None, latency_ms: int | None
    ) -> None:
        if decision.rule is None or not decision.rule.envoy_stats or decision.target is None:
            return
        (namespace, service), port = decision.target.service, decision.target.port
        cluster = cluster_name(namespace, service, port)
        self._metrics.envoy.response(cluster, status=status, latency_ms=latency_ms)


def _proxy_error(status: int, reason: str) -> web.Response:
    return web.Response(
        status=status, text=f"{reason}\n", headers={"l5d-proxy-error": reason.replace("\n", " ")}
    )
