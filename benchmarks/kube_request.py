"""The operator's client CPU for one Canary status PUT: ``Kube`` against its former request paths.

Run: ``.venv/bin/python benchmarks/kube_request.py [--requests 2000] [--rounds 3] [--uvloop]``.

The sandbox API server runs as its own process (its CPU is not counted); this script creates one
progressing Canary in namespace ``bench`` and PUTs its status ``--requests`` times, one at a time,
through three clients in alternating rounds:

* ``Kube.replace_status`` (:mod:`serinus.kube.wire`: URL and msgspec JSON built here, the
  request's bytes written by the lean client, :mod:`serinus.http1`), with everything ``Kube``
  adds (kind lookup, retry and rate-limit wrappers, error translation);
* the same ``Kube`` with its requests sent through one aiohttp session as ``wire.py`` did before
  :mod:`serinus.http1` (:class:`AiohttpWire`: the same bytes on the wire);
* the path before ``wire.py``, lightkube's ``AsyncClient.replace`` of a generic resource's
  ``Status`` through an httpx2 client on the former httpx2 transport over aiohttp
  (:class:`FormerTransport`, built from :mod:`serinus.aiotransport`'s parts: the same aiohttp
  exchange underneath), without ``Kube``'s wrappers, so that ratio understates the saving a
  little.

Printed: client CPU microseconds per PUT (user + system of this process, ``time.process_time``)
for each path, best round of each, and the ratios. ``--uvloop`` runs it all on uvloop's event loop
(the operator's). Figures depend on the machine; compare runs made on the same one.
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import httpx2
from lightkube import AsyncClient
from lightkube.generic_resource import GenericNamespacedResource, GenericNamespacedStatus
from lightkube.generic_resource import create_api_info as api_info
from scale_cluster import NS, canary, start_apiserver

from serinus import aiotransport
from serinus.apis.crds import custom_resource_definitions
from serinus.kube import Kube, KubeSettings, RetryPolicy, config, wire
from serinus.kube.errors import Answered
from serinus.kube.kinds import Kind

LEAN, AIOHTTP, FORMER = "Kube (wire, http1)", "Kube (wire over aiohttp)", "lightkube + httpx2"

CANARY = Kind("flagger.app/v1beta1", "Canary", "canaries", namespaced=True)


class _FormerBody(aiotransport._Streamed, httpx2.AsyncByteStream):
    family = httpx2


class FormerTransport(httpx2.AsyncBaseTransport):
    """The httpx2 transport over aiohttp that ``Kube`` sent through before ``kube/wire.py``."""

    def __init__(self) -> None:
        self._session = aiotransport._Session(ssl.create_default_context(), 10)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        answer = await aiotransport._exchange(self._session, httpx2, request)
        headers, body = list(answer.headers.items()), _FormerBody(answer)
        return httpx2.Response(answer.status, headers=headers, stream=body, request=request)

    async def aclose(self) -> None:
        await self._session.close()


class AiohttpWire(wire.Wire):
    """``Wire`` with its requests sent as before :mod:`serinus.http1`: one aiohttp session."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = wire.JSON,
    ) -> bytes:
        url = self.url(path, params)
        headers = self._headers
        if body is not None:
            headers = {**headers, "Content-Type": content_type}
        answer = await self._send(method, url, headers, body, self._timeout)
        try:
            data = await answer.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise wire._unanswered(error) from error
        finally:
            answer.release()
        if answer.status >= 400:
            raise Answered(answer.status, answer.reason or "", answer.headers, data)
        return data


def over_aiohttp(settings: KubeSettings) -> Kube:
    """A ``Kube`` whose requests go through :class:`AiohttpWire`."""
    kube = Kube(settings)
    lean = kube._wire
    kube._wire = AiohttpWire(
        settings.server or "",
        tls=lean._tls,
        auth=None,
        user_agent=settings.user_agent,
        timeout=settings.timeout,
        limit=lean._limit,
    )
    return kube


def generic_canary() -> type[Any]:
    """A lightkube generic resource class for Canaries with its ``Status``, as serinus built it."""
    info = api_info("flagger.app", "v1beta1", "Canary", "canaries")
    status_info = type(info)(
        resource=info.resource, parent=info.resource, plural="canaries", action="status",
        verbs=["get", "patch", "put"],
    )  # fmt: skip
    status = type("CanaryStatus", (GenericNamespacedStatus,), {"_api_info": status_info})
    return type("Canary", (GenericNamespacedResource,), {"_api_info": info, "Status": status})


def progressing(obj: dict[str, Any], weight: int) -> dict[str, Any]:
    moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    obj["status"] = {
        "phase": "Progressing",
        "canaryWeight": weight,
        "failedChecks": 0,
        "iterations": weight,
        "lastAppliedSpec": "5d8f7c9b6",
        "lastPromotedSpec": "7b9c8d6f5",
        "lastTransitionTime": moment,
        "conditions": [
            {
                "type": "Promoted",
                "status": "Unknown",
                "lastUpdateTime": moment,
                "lastTransitionTime": moment,
                "reason": "Progressing",
                "message": "New revision detected, progressing canary analysis.",
            }
        ],
    }
    return obj


async def cpu_per_call(call: Callable[[int], Awaitable[None]], requests: int) -> float:
    """Client CPU microseconds per call, ``requests`` calls one after another."""
    await call(0)  # connection open, caches warm
    start = time.process_time()
    for weight in range(1, requests + 1):
        await call(weight % 100)
    return (time.process_time() - start) / requests * 1e6


async def main(requests: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        process, url = start_apiserver(pathlib.Path(directory))
        try:
            settings = KubeSettings(server=url, namespace=NS, retry=RetryPolicy(attempts=1))
            async with Kube(settings) as kube:
                await kube.create(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
                )
                for crd in custom_resource_definitions().values():
                    await kube.apply(crd)
                await asyncio.sleep(0.5)  # the CRDs are served
                current = await kube.create(canary("podinfo"))
                res = generic_canary()
                former = AsyncClient(
                    config.load(settings), transport=FormerTransport(), trust_env=False
                )
                aiohttp_kube = over_aiohttp(settings)

                def through(client: Kube) -> Callable[[int], Awaitable[None]]:
                    async def put(weight: int) -> None:
                        nonlocal current
                        current = await client.replace_status(progressing(current, weight))

                    return put

                async def old(weight: int) -> None:
                    nonlocal current
                    body = res.Status(progressing(current, weight))
                    written = await former.replace(body, "podinfo", namespace=NS)
                    current = dict(written.to_dict())

                paths = {LEAN: through(kube), AIOHTTP: through(aiohttp_kube), FORMER: old}
                best = dict.fromkeys(paths, float("inf"))
                for _ in range(rounds):
                    for name, call in paths.items():
                        best[name] = min(best[name], await cpu_per_call(call, requests))
                await former.close()
                await aiohttp_kube.close()
        finally:
            process.terminate()
            process.wait()
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    print(f"client CPU per Canary status PUT, best of {rounds} rounds of {requests} ({loop} loop):")
    for name, figure in best.items():
        print(f"  {name:<26} {figure:8.1f} µs")
    print(f"  ratio (wire over aiohttp / wire, http1)  {best[AIOHTTP] / best[LEAN]:6.2f}")
    print(f"  ratio (lightkube + httpx2 / wire, http1) {best[FORMER] / best[LEAN]:6.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop")
    arguments = parser.parse_args()
    factory = None
    if arguments.uvloop:
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main(arguments.requests, arguments.rounds))
