"""The operator's CPU for one Prometheus query: httpx's client against serinus.outbound.get.

Each progressing tick judges its step with two Prometheus queries. This measures the client side
of one such query (the process's own CPU, :func:`time.process_time`; Prometheus runs in its own
process) against a real Prometheus (the sandbox's, an empty one: ``vector(1)`` answers one sample,
gzipped as every Prometheus answer is), both ways in the same run:

- ``httpx``: the path the providers took before, ``serinus.outbound.send`` (httpx's client over
  :class:`serinus.aiotransport.OutboundTransport`) with ``params=``, headers and basic auth, the
  status checked and the JSON body read as :mod:`serinus.metrics.providers.base` does;
- ``get``: :meth:`PrometheusProvider.vector` today, through :func:`serinus.outbound.get`.

Queries go ``--concurrency`` at a time (ticks overlap in the operator), rounds alternate between
the two ways so drift on a shared machine hits both alike, and the median round is printed::

    python benchmarks/prometheus_query.py [--queries 2000] [--concurrency 20] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from serinus import outbound
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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        async with Prometheus(Path(root), []) as prometheus, outbound.client() as client:
            ways = {
                "httpx": through_httpx(prometheus.url, client),
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
    print(
        f"client CPU per Prometheus query ({options.queries} queries, {options.concurrency} at"
        f" once, median of {options.rounds} rounds):"
    )
    for name, values in figures.items():
        print(
            f"  {name:6} {statistics.median(values):7.1f} us   (rounds: "
            + ", ".join(f"{v:.1f}" for v in values)
            + ")"
        )
    old, new = (statistics.median(figures[name]) for name in ("httpx", "get"))
    print(f"  saved  {old - new:7.1f} us per query ({100 * (old - new) / old:.0f} %)")


if __name__ == "__main__":
    asyncio.run(main())
