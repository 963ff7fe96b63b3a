"""The operator's CPU for one Prometheus query: httpx's client against serinus.outbound.get.

Each progressing tick judges its step with two Prometheus queries. This measures the client side
of one such query (the process's own CPU, :func:`time.process_time`; Prometheus runs in its own
process) against a real Prometheus (the sandbox's, an empty one: ``vector(1)`` answers one sample,
gzipped as every Prometheus answer is), both ways in the same run:

- ``httpx``: the path the providers took before, ``serinus.outbound.send`` (httpx's client over
  :class:`serinus.aiotransport.OutboundTransport`) with ``params=``, headers and basic auth, the
  status checked and the JSON body read as :mod:`serinus.metrics.providers.base` does;
- ``get``: :meth:`PrometheusProvider.vector` today, through :func:`serinus.outbound.get` and
  the lean client (:mod:`serinus.http1`);
- ``aiohttp``: the same, with the prepared request sent through the transport's aiohttp session
  as before :mod:`serinus.http1` (:class:`AiohttpFetch`: the same bytes on the wire).

Queries go ``--concurrency`` at a time (ticks overlap in the operator), rounds alternate between
the ways so drift on a shared machine hits both alike, and the median round is printed::

    python benchmarks/prometheus_query.py [--queries 2000] [--concurrency 20] [--rounds 5] \
        [--uvloop]

``--uvloop`` runs it on uvloop's event loop (the operator's).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import aiohttp
import httpx

from serinus import aiotransport, outbound
from serinus.metrics.providers import base
from serinus.metrics.providers.base import ProviderSettings
from serinus.metrics.providers.prometheus import PrometheusProvider
from serinus.sandbox.prometheus import Prometheus

QUERY = 'sum(rate(response_total{namespace="prod",deployment=~"podinfo",direction="inbound"}[1m])) or vector(1)'  # noqa: E501 - one query as a template renders it


def settings(address: str, client: httpx.AsyncClient) -> ProviderSettings:
    secret = {"username": "reader", "password": "s3cr3t"}
    headers = {"X-Scope-OrgID": "tenant-1"}
    return ProviderSettings(
        kind="prometheus", http=client, address=address, headers=headers, secret=secret
    )


class AiohttpFetch(aiotransport.OutboundTransport):
    """The operator's transport with :meth:`fetch` as it was before :mod:`serinus.http1`."""

    async def fetch(
        self, prepared: aiotransport.Prepared, query: str | None
    ) -> tuple[int, Mapping[str, str], list[str], bytes]:
        origin = prepared.origin
        scheme = "https" if origin.tls else "http"
        url = f"{scheme}://{origin.host}:{origin.port}{prepared.path}"
        url = f"{url}?{query}" if query else url
        headers = [
            (name, value)
            for name, _, value in (line.partition(": ") for line in prepared.head.split("\r\n"))
            if name
        ]
        try:
            answer = await self._session.send("GET", url, headers, b"", prepared.timeouts)
        except aiotransport._Failure as failure:
            raise aiotransport._error(httpx, failure, None) from failure.cause
        try:
            body = await answer.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise httpx.ReadError(str(error)) from error
        finally:
            answer.release()
        return answer.status, answer.headers, answer.headers.getall("Content-Encoding", []), body


def through_httpx(address: str, client: httpx.AsyncClient) -> Callable[[], Awaitable[object]]:
    """A query as the providers sent it before outbound.get (main at 8d1a77f)."""
    given = settings(address, client)
    auth = httpx.BasicAuth("reader", "s3cr3t")

    async def query() -> object:
        response = await base.send(
            given,
            "GET",
            f"{address}/api/v1/query",
            params={"query": QUERY},
            headers=dict(given.headers),
            auth=auth,
        )
        base.check_status(given, response, query=QUERY)
        return base.json_body(given, response)

    return query


def through_get(address: str, client: httpx.AsyncClient) -> Callable[[], Awaitable[object]]:
    """A query as PrometheusProvider sends it now (a provider is built per tick, as there)."""

    async def query() -> object:
        return await PrometheusProvider(settings(address, client)).vector(QUERY)

    return query


async def cpu_per_query(query: Callable[[], Awaitable[object]], count: int, at_once: int) -> float:
    """Microseconds of this process's CPU per query, ``at_once`` queries in flight."""
    pending = iter(range(count))

    async def lane() -> None:
        for _ in pending:
            await query()

    started = time.process_time()
    await asyncio.gather(*(lane() for _ in range(at_once)))
    return (time.process_time() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop")
    options = parser.parse_args()
    factory = None
    if options.uvloop:
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(measure(options))


async def measure(options: argparse.Namespace) -> None:
    former = httpx.AsyncClient(transport=AiohttpFetch(limit=outbound.POOL_SIZE))
    with tempfile.TemporaryDirectory() as root:
        async with (
            Prometheus(Path(root), []) as prometheus,
            outbound.client() as client,
            former,
        ):
            ways = {
                "httpx": through_httpx(prometheus.url, client),
                "aiohttp": through_get(prometheus.url, former),
                "get": through_get(prometheus.url, client),
            }
            figures: dict[str, list[float]] = {name: [] for name in ways}
            for query in ways.values():  # warm up: connections, caches
                await cpu_per_query(query, 200, options.concurrency)
            for _ in range(options.rounds):
                for name, query in ways.items():
                    figures[name].append(
                        await cpu_per_query(query, options.queries, options.concurrency)
                    )
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    print(
        f"client CPU per Prometheus query ({options.queries} queries, {options.concurrency} at"
        f" once, median of {options.rounds} rounds, {loop} loop):"
    )
    for name, values in figures.items():
        print(
            f"  {name:7} {statistics.median(values):7.1f} us   (rounds: "
            + ", ".join(f"{v:.1f}" for v in values)
            + ")"
        )
    httpx_, old, new = (statistics.median(figures[name]) for name in ("httpx", "aiohttp", "get"))
    print(f"  ratio (get over aiohttp / get, http1)  {old / new:5.2f}")
    print(f"  ratio (httpx / get, http1)             {httpx_ / new:5.2f}")


if __name__ == "__main__":
    main()
