"""Builders for the mesh proxy tests: pods (small aiohttp servers) and objects routing to them.

Pods are aiohttp servers bound on random 127.244.x.y addresses, Services get random 127.96.x.y
cluster IPs, so tests running at the same time never share an address. :class:`Cluster` writes
objects through the real API server's HTTP API, as the workload runner and the routers would:
Deployment -> ReplicaSet -> Pod (with ``status.podIP``) -> Endpoints with targetRefs.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import random
from typing import Any

import httpx
from aiohttp import web

from serinus.sandbox.mesh import MeshProxy
from serinus.sandbox.mesh.table import RoutingTable
from tests.sandbox.apiserver.support import simple_crd

SERVICE_PORT = 9898


def service_ip() -> str:
    """A random address in 127.96.0.0/12 (the sandbox's loopback Service range)."""
    value = random.randrange(1, 2**20 - 1)
    return f"127.{96 + (value >> 16)}.{(value >> 8) & 255}.{max(value & 255, 1)}"


def pod_ip() -> str:
    """A random address in 127.244.0.0/16 (the sandbox's pod range)."""
    return f"127.244.{random.randrange(0, 256)}.{random.randrange(1, 255)}"


@dataclasses.dataclass
class Pod:
    """One backend server standing in for a pod; it answers with its name."""

    name: str
    ip: str
    port: int = 0
    seen: list[web.BaseRequest] = dataclasses.field(default_factory=list)
    runner: web.AppRunner | None = None
    gate: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    """What ``/stream`` waits for between its two chunks."""

    async def start(self) -> Pod:
        app = web.Application()
        app.router.add_route("*", "/status/{code}", self._status)
        app.router.add_route("*", "/delay/{ms}", self._delay)
        app.router.add_route("*", "/echo", self._echo)
        app.router.add_route("*", "/headers", self._headers)
        app.router.add_route("*", "/cut", self._cut)
        app.router.add_route("*", "/stream", self._stream)
        app.router.add_route("*", "/{path:.*}", self._hello)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, self.ip, self.port).start()
        self.port = int(self.runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _hello(self, request: web.Request) -> web.Response:
        self.seen.append(request)
        return web.Response(text=self.name)

    async def _status(self, request: web.Request) -> web.Response:
        self.seen.append(request)
        return web.Response(status=int(request.match_info["code"]), text=self.name)

    async def _delay(self, request: web.Request) -> web.Response:
        self.seen.append(request)
        await asyncio.sleep(int(request.match_info["ms"]) / 1000)
        return web.Response(text=self.name)

    async def _headers(self, request: web.Request) -> web.Response:
        self.seen.append(request)
        return web.json_response({k.lower(): v for k, v in request.headers.items()})

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        """Sends ``first``, waits for :attr:`gate`, then sends ``second``."""
        self.seen.append(request)
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"first")
        await self.gate.wait()
        await response.write(b"second")
        await response.write_eof()
        return response

    async def _cut(self, request: web.Request) -> web.StreamResponse:
        """Promises 1000 bytes, sends 10, then drops the connection."""
        self.seen.append(request)
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b"0123456789")
        await asyncio.sleep(0.05)
        assert request.transport is not None
        request.transport.close()
        return response

    async def _echo(self, request: web.Request) -> web.StreamResponse:
        """Streams the request body back, with method, raw path and headers as headers."""
        self.seen.append(request)
        response = web.StreamResponse(status=201, headers={"X-Pod": self.name})
        response.headers["X-Method"] = request.method
        response.headers["X-Raw-Path"] = request.raw_path
        response.headers["X-Got-Headers"] = ",".join(sorted(k.lower() for k in request.headers))
        response.enable_chunked_encoding()
        await response.prepare(request)
        async for chunk in request.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response


async def bodies(client: httpx.AsyncClient, url: str, count: int, **headers: str) -> list[str]:
    """The bodies of ``count`` sequential GETs (each must answer 200): pod names."""
    found = []
    for _ in range(count):
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        found.append(response.text)
    return found


async def caught_up(proxy: MeshProxy, kind: str, manifest: dict[str, Any]) -> RoutingTable:
    """Wait until the proxy routes by ``manifest`` (this resourceVersion of the object)."""
    key = (manifest["metadata"]["namespace"], manifest["metadata"]["name"])
    version = manifest["metadata"]["resourceVersion"]

    def current(table: RoutingTable) -> bool:
        seen = proxy.state.objects(kind).get(key)
        return (
            seen is not None
            and seen["metadata"]["resourceVersion"] == version
            and (table.version == proxy.state.version)
        )

    return await proxy.wait_for(current, within=5)


async def serving(proxy: MeshProxy, setup: Any) -> None:
    """Wait until the apex, primary and canary Services of ``setup`` are served with pods."""
    await proxy.wait_for(
        lambda table: all(
            (ip, SERVICE_PORT) in table.listeners
            and table.listeners[(ip, SERVICE_PORT)].direct.endpoints
            for ip in (setup.apex, setup.primary, setup.canary)
        ),
        within=5,
    )


def tally(bodies: list[str]) -> dict[str, int]:
    return dict(collections.Counter(bodies))


class Cluster:
    """Writes the objects of one namespace through the API server's HTTP API."""

    def __init__(self, http: httpx.AsyncClient, namespace: str) -> None:
        self.http = http
        self.namespace = namespace
        self.pods: list[Pod] = []
        """Every pod server started, stopped by :meth:`stop_pods`."""

    async def stop_pods(self) -> None:
        for pod in self.pods:
            await pod.stop()

    async def send(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        response = await self.http.request(method, path, json=body, headers=headers)
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json()

    def _path(self, api_version: str, plural: str, name: str = "") -> str:
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        return f"{base}/namespaces/{self.namespace}/{plural}" + (f"/{name}" if name else "")

    async def create(self, api_version: str, plural: str, manifest: dict[str, Any]) -> Any:
        manifest.setdefault("metadata", {})["namespace"] = self.namespace
        return await self.send("POST", self._path(api_version, plural), manifest)

    async def merge(self, api_version: str, plural: str, name: str, patch: Any) -> Any:
        return await self.send(
            "PATCH",
            self._path(api_version, plural, name),
            patch,
            **{"Content-Type": "application/merge-patch+json"},
        )

    async def delete(self, api_version: str, plural: str, name: str) -> Any:
        return await self.send("DELETE", self._path(api_version, plural, name))

    async def install_crds(self) -> None:
        """The CRDs of SMI TrafficSplit, Gateway API HTTPRoute and Contour's HTTPProxy (schemas
        keep any field)."""
        versions = ("v1alpha1", "v1alpha2", "v1alpha3")
        split = simple_crd("split.smi-spec.io", "TrafficSplit", "trafficsplits", versions)
        route = simple_crd(
            "gateway.networking.k8s.io", "HTTPRoute", "httproutes", ("v1", "v1beta1")
        )
        proxy = simple_crd("projectcontour.io", "HTTPProxy", "httpproxies", ("v1",))
        for crd in (split, route, proxy):
            await self.send("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)

    async def service(self, name: str, *, port: int = SERVICE_PORT, app: str | None = None) -> str:
        """A Service with a fresh loopback clusterIP; returns the IP."""
        spec = {
            "clusterIP": service_ip(),
            "selector": {"app": app or name},
            "ports": [{"name": "http", "port": port, "targetPort": "http"}],
        }
        created = await self.create("v1", "services", {"metadata": {"name": name}, "spec": spec})
        return str(created["spec"]["clusterIP"])

    async def deployment(self, name: str, count: int) -> list[Pod]:
        """A Deployment with ``count`` running pods (Deployment -> ReplicaSet -> Pod objects)."""
        owner = await self.create(
            "apps/v1",
            "deployments",
            {
                "metadata": {"name": name},
                "spec": {
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "app", "image": "podinfo"}]},
                    },
                },
            },
        )
        template_hash = f"{random.randrange(16**8):08x}"
        replicaset = await self.create(
            "apps/v1",
            "replicasets",
            {
                "metadata": {
                    "name": f"{name}-{template_hash}",
                    "ownerReferences": [_owner(owner)],
                },
                "spec": {
                    "selector": {"matchLabels": {"app": name}},
                    "template": owner["spec"]["template"],
                },
            },
        )
        pods = []
        for index in range(count):
            pod = await Pod(f"{name}-{template_hash}-{index}", pod_ip()).start()
            self.pods.append(pod)
            await self.pod(pod, replicaset, template_hash)
            pods.append(pod)
        return pods

    async def pod(self, pod: Pod, replicaset: dict[str, Any], template_hash: str) -> None:
        labels = {"app": replicaset["metadata"]["name"].rsplit("-", 1)[0]}
        labels["pod-template-hash"] = template_hash
        metadata = {"name": pod.name, "labels": labels, "ownerReferences": [_owner(replicaset)]}
        spec = {"containers": [{"name": "app", "image": "podinfo"}]}
        await self.create("v1", "pods", {"metadata": metadata, "spec": spec})
        status = {"status": {"phase": "Running", "podIP": pod.ip}}
        await self.send(
            "PATCH",
            self._path("v1", "pods", pod.name) + "/status",
            status,
            **{"Content-Type": "application/merge-patch+json"},
        )

    async def endpoints(
        self, service: str, ready: list[Pod], not_ready: list[Pod] | None = None
    ) -> None:
        """The Endpoints of ``service``: ``ready`` pods in addresses, the rest not ready."""
        not_ready = not_ready or []
        ports = {p.port for p in [*ready, *not_ready]}
        subsets = [
            {
                "addresses": [_address(p) for p in ready if p.port == port],
                "notReadyAddresses": [_address(p) for p in not_ready if p.port == port],
                "ports": [{"name": "http", "port": port}],
            }
            for port in sorted(ports)
        ]
        body = {"metadata": {"name": service}, "subsets": subsets}
        existing = await self.http.get(self._path("v1", "endpoints", service))
        if existing.status_code == 200:
            await self.merge("v1", "endpoints", service, {"subsets": subsets})
        else:
            await self.create("v1", "endpoints", body)

    async def traffic_split(
        self, weights: dict[str, Any], *, version: str = "v1alpha1", apex: str = "podinfo"
    ) -> Any:
        return await self.create(
            f"split.smi-spec.io/{version}",
            "trafficsplits",
            {
                "apiVersion": f"split.smi-spec.io/{version}",
                "kind": "TrafficSplit",
                "metadata": {"name": apex},
                "spec": {
                    "service": apex,
                    "backends": [{"service": s, "weight": w} for s, w in weights.items()],
                },
            },
        )

    async def http_proxy(self, routes: list[dict[str, Any]], *, apex: str = "podinfo") -> Any:
        return await self.create(
            "projectcontour.io/v1",
            "httpproxies",
            {
                "apiVersion": "projectcontour.io/v1",
                "kind": "HTTPProxy",
                "metadata": {"name": apex},
                "spec": {"routes": routes},
            },
        )

    async def http_route(
        self, rules: list[dict[str, Any]], *, version: str = "v1", apex: str = "podinfo"
    ) -> Any:
        parent = {"group": "core", "kind": "Service", "name": apex, "port": SERVICE_PORT}
        return await self.create(
            f"gateway.networking.k8s.io/{version}",
            "httproutes",
            {
                "apiVersion": f"gateway.networking.k8s.io/{version}",
                "kind": "HTTPRoute",
                "metadata": {"name": apex},
                "spec": {"parentRefs": [parent], "rules": rules},
            },
        )


@dataclasses.dataclass
class Podinfo:
    apex: str
    primary: str
    canary: str
    primary_pods: list[Pod]
    canary_pods: list[Pod]

    @property
    def apex_url(self) -> str:
        return f"http://{self.apex}:{SERVICE_PORT}"

    @property
    def canary_url(self) -> str:
        return f"http://{self.canary}:{SERVICE_PORT}"

    @property
    def primary_url(self) -> str:
        return f"http://{self.primary}:{SERVICE_PORT}"


async def new_cluster(http: httpx.AsyncClient) -> Cluster:
    """A Cluster writing into a fresh namespace."""
    namespace = f"prod-{random.randrange(16**6):06x}"
    await http.post(
        "/api/v1/namespaces",
        json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
    )
    return Cluster(http, namespace)


async def podinfo_setup(cluster: Cluster) -> Podinfo:
    """What Flagger leaves once a Canary is initialised (see the mesh tests' conftest)."""
    await cluster.install_crds()
    primary_pods = await cluster.deployment("podinfo-primary", 1)
    canary_pods = await cluster.deployment("podinfo", 1)
    setup = Podinfo(
        apex=await cluster.service("podinfo", app="podinfo-primary"),
        primary=await cluster.service("podinfo-primary"),
        canary=await cluster.service("podinfo-canary", app="podinfo"),
        primary_pods=primary_pods,
        canary_pods=canary_pods,
    )
    await cluster.endpoints("podinfo", primary_pods)
    await cluster.endpoints("podinfo-primary", primary_pods)
    await cluster.endpoints("podinfo-canary", canary_pods)
    return setup


def backend_ref(name: str, weight: int) -> dict[str, Any]:
    return {"group": "", "kind": "Service", "name": name, "port": SERVICE_PORT, "weight": weight}


def _owner(manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": manifest["apiVersion"],
        "kind": manifest["kind"],
        "name": manifest["metadata"]["name"],
        "uid": manifest["metadata"]["uid"],
        "controller": True,
    }


def _address(pod: Pod) -> dict[str, Any]:
    return {"ip": pod.ip, "targetRef": {"kind": "Pod", "name": pod.name}}
