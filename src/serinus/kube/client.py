"""``Kube``: the one client serinus uses to talk to the Kubernetes API, with objects as dicts.

Targets, routers, the status store, the event sink and leader election all go through this class;
nothing else in serinus imports lightkube. Objects travel as plain ``Manifest`` dicts, whatever
their kind: serinus copies Deployments, rewrites Services and writes a dozen mesh kinds, and typed
models for each would be code to keep in step with every mesh's API for no gain. lightkube's
generic resources carry the URL data (:mod:`serinus.kube.kinds`), so a new kind needs no code.

Every call is one lightkube request wrapped in :func:`serinus.kube.retry.with_retries` (429, 5xx
and unanswered requests are retried with backoff) and :func:`serinus.kube.errors.translate` (what
is left surfaces as a :mod:`serinus.errors` class). Watches live in :mod:`serinus.kube.watch`.
``get`` and ``delete`` treat 404 as an answer (None, nothing to do), not as an error.

Namespaces: for a namespaced kind, calls about one object use the ``namespace`` argument, else the
manifest's ``metadata.namespace``, else the default namespace of the settings or kubeconfig
context; ``list`` and ``watch`` with ``namespace=None`` cover all namespaces. Cluster-scoped kinds
ignore the namespace.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import httpx2
from lightkube import AsyncClient
from lightkube.config import client_adapter
from lightkube.core.client import FieldSelector, LabelSelector
from lightkube.core.exceptions import ApiError, ConfigError, NotReadyError
from lightkube.types import CascadeType, PatchType

from serinus import aiotransport, errors
from serinus.apis.base import Manifest
from serinus.kube import cache, config, kinds, ratelimit, retry, watch
from serinus.kube import errors as kube_errors

logger = logging.getLogger(__name__)

T = TypeVar("T")

PatchKind = Literal["merge", "json", "strategic"]
Patch = Manifest | list[Manifest]
"""A merge or strategic-merge patch (a mapping) or a JSON patch (a list of operations)."""
Manifests = list[Manifest]

_CASCADES: dict[str, CascadeType] = {
    "background": CascadeType.BACKGROUND,
    "foreground": CascadeType.FOREGROUND,
    "orphan": CascadeType.ORPHAN,
}

_PATCH_TYPES: dict[str, PatchType] = {
    "merge": PatchType.MERGE,
    "json": PatchType.JSON,
    "strategic": PatchType.STRATEGIC,
}


POOL_SIZE = 100
"""Connections to the API server at once. Every one opened is kept for reuse (httpx kept 20 and
closed the rest after each request: with dozens of ticks writing at once, that opened a new
connection for most writes). The exchange itself goes over aiohttp
(:mod:`serinus.aiotransport`)."""


class Kube:
    """An async Kubernetes client over lightkube's AsyncClient; every object is a dict."""

    def __init__(self, settings: config.KubeSettings) -> None:
        self.settings = settings
        single = config.load(settings)
        timeout = httpx2.Timeout(settings.timeout)
        try:
            # lightkube builds its client from these parameters; serinus builds its own from the
            # same ones, for what lightkube has no call for (discovery, /version, watch streams)
            connection = client_adapter.ConnectionParams(timeout=timeout, trust_env=False)
            params = connection.httpx_params(single)  # credentials and TLS of the context
        except (ConfigError, OSError, ssl.SSLError) as error:  # bad credentials or CA files
            raise kube_errors.KubeConfigError(f"cannot use {settings.source}: {error}") from error
        # one connection pool, owned here, under both clients; it names serinus on every request
        self._transport = _UserAgent(
            aiotransport.KubeTransport(verify=params["verify"], limit=POOL_SIZE),
            settings.user_agent,
        )
        self._client = AsyncClient(
            single,
            namespace=settings.namespace,
            timeout=timeout,
            trust_env=False,  # proxies and CA bundles come from the settings, not the env
            transport=self._transport,
        )
        self._http = httpx2.AsyncClient(**{**params, "transport": self._transport})
        self.kinds = kinds.Kinds(self._get_json)
        self.cache: cache.Cache | None = None
        self._limiter = (
            ratelimit.RateLimiter(settings.qps, max(settings.burst, 1))
            if settings.qps > 0
            else None
        )

    def enable_cache(self, namespaces: tuple[str, ...] = ()) -> cache.Cache:
        """Answer reads from informers from now on (:mod:`serinus.kube.cache`); ``namespaces``
        are the ones the caller reads in (none: all)."""
        if self.cache is None:
            self.cache = cache.Cache(self._informer_watch, namespaces=namespaces)
        return self.cache

    def _informer_watch(
        self, api_version: str, kind: str, scope: str | None, synced: Callable[[], None]
    ) -> AsyncIterator[tuple[str, Manifest]]:
        return watch.follow(
            lambda: self.list_at(api_version, kind, scope),
            lambda version: self._stream(api_version, kind, scope, version, None),
            resource_version=None,
            policy=self.settings.retry,
            synced=synced,
            keep=watch.metadata_only,  # the informer holds the objects; no second copy
        )

    def _informer(
        self, found: kinds.Kind, namespace: str | None, *, start: bool = False
    ) -> cache.Informer | None:
        if self.cache is None:
            return None
        return self.cache.informer(
            found.api_version, found.kind, found.namespaced, namespace, start
        )

    @property
    def namespace(self) -> str:
        """The default namespace for namespaced calls that name none."""
        return str(self._client.namespace)

    async def close(self) -> None:
        if self.cache is not None:
            await self.cache.close()
        await self._http.aclose()
        await self._client.close()
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    # reading

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Manifest | None:
        """The object as stored now (as the cache holds it, when on), or None when there is none."""
        found = await self.kinds.resolve(api_version, kind)
        ns = self._namespace(found, namespace)
        informer = self._informer(found, ns, start=True)
        if informer is not None:
            hit, held = informer.get(ns or "", name)
            if hit:
                return held
        res = kinds.resource_class(found)
        try:
            obj = await self._call(
                f"get {_where(found, name, ns)}", lambda: self._client.get(res, name, namespace=ns)
            )
        except errors.NotFoundError:
            if informer is not None:
                informer.refreshed(ns or "", name, None)
            return None
        plain = _plain(obj)
        if informer is not None:
            informer.refreshed(ns or "", name, plain)
        return plain

    async def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        labels: dict[str, str] | None = None,
        *,
        fields: dict[str, str] | None = None,
    ) -> Manifests:
        """Objects of a kind (in one namespace, or all), filtered by label and field equality."""
        items, _ = await self.list_at(api_version, kind, namespace, labels, fields=fields)
        return items

    async def list_at(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        labels: dict[str, str] | None = None,
        *,
        fields: dict[str, str] | None = None,
    ) -> tuple[Manifests, str]:
        """Like :meth:`list`, with the collection's resourceVersion to watch from."""
        found = await self.kinds.resolve(api_version, kind)
        res = kinds.resource_class(found)
        ns = (namespace or "*") if found.namespaced else None
        where = f"{found.title} in {namespace or 'all namespaces'}"

        async def once() -> tuple[Manifests, str]:
            label_selector: LabelSelector | None = dict(labels) if labels else None
            field_selector: FieldSelector | None = dict(fields) if fields else None
            listing = self._client.list(
                res, namespace=ns, labels=label_selector, fields=field_selector
            )
            items = [_plain(item) async for item in listing]
            try:
                version = listing.resourceVersion
            except NotReadyError:  # the server sent no list metadata
                version = ""
            return items, version

        return await self._call(f"list {where}", once)

    async def get_path(self, path: str) -> Manifest | None:
        """The JSON document at an API path (with its query string), or None on 404.

        For APIs that are not objects (``external.metrics.k8s.io`` values, discovery).
        """
        return await self._get_json(path)

    async def server_version(self) -> Manifest:
        """The server's ``/version`` document (``gitVersion``, ``major``, ``minor``, ...)."""
        found = await self._get_json("/version")
        if found is None:
            raise errors.NotFoundError("get /version: the API server does not serve it")
        return found

    # writing

    async def create(self, manifest: Manifest) -> Manifest:
        """Create the object; ConflictError when it exists already."""
        return await self._write("create", manifest, lambda at, body: self._client.create(body))

    async def replace(self, manifest: Manifest) -> Manifest:
        """Write the whole object; ConflictError when its resourceVersion is stale."""
        return await self._write("replace", manifest, lambda at, body: self._client.replace(body))

    async def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Patch,
        *,
        patch_type: PatchKind = "merge",
    ) -> Manifest:
        """Patch the object (merge, JSON or strategic-merge patch); NotFoundError when absent."""
        return await self._patch(
            api_version, kind, name, namespace, patch, patch_type, status=False
        )

    async def apply(
        self, manifest: Manifest, *, field_manager: str = "serinus", force: bool = True
    ) -> Manifest:
        """Server-side apply: create or update the fields ``field_manager`` owns.

        ``metadata.managedFields`` is left out (the API server refuses an apply that carries it),
        so a manifest read from the server can be changed and applied back; a
        ``metadata.resourceVersion`` in it is kept and acts as a precondition (409 when stale).
        """
        metadata = {
            k: v for k, v in (manifest.get("metadata") or {}).items() if k != "managedFields"
        }
        return await self._write(
            "apply",
            {**manifest, "metadata": metadata},
            lambda at, body: self._client.patch(
                at.resource,
                at.name,
                body,
                namespace=at.namespace,
                patch_type=PatchType.APPLY,
                field_manager=field_manager,
                force=force,
            ),
        )

    async def replace_status(self, manifest: Manifest) -> Manifest:
        """Write ``status`` through the status subresource; ConflictError when stale."""
        return await self._write(
            "replace status of",
            manifest,
            lambda at, body: self._client.replace(
                at.resource.Status(body), at.name, namespace=at.namespace
            ),
        )

    async def patch_status(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Patch,
        *,
        patch_type: PatchKind = "merge",
    ) -> Manifest:
        """Patch ``status`` through the status subresource."""
        return await self._patch(api_version, kind, name, namespace, patch, patch_type, status=True)

    async def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        cascade: Literal["background", "foreground", "orphan"] | None = None,
    ) -> None:
        """Delete the object; nothing happens when it is already gone.

        ``cascade`` is the propagation policy (``orphan`` leaves the object's dependents alone,
        without their owner reference); the server's default when None.
        """
        found = await self.kinds.resolve(api_version, kind)
        ns = self._namespace(found, namespace)
        res = kinds.resource_class(found)
        policy = _CASCADES[cascade] if cascade is not None else None
        try:
            await self._call(
                f"delete {_where(found, name, ns)}",
                lambda: self._client.delete(res, name, namespace=ns, cascade=policy),
            )
        except errors.NotFoundError:
            logger.debug("%s was already gone", _where(found, name, ns))
        informer = self._informer(found, ns)
        if informer is not None:
            informer.stale(ns or "", name)  # gone, or going (finalizers): ask the server

    # watching

    def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        resource_version: str | None = None,
        *,
        labels: dict[str, str] | None = None,
        synced: Callable[[], None] | None = None,
        slim: bool = False,
    ) -> AsyncIterator[tuple[str, Manifest]]:
        """Changes to objects of a kind as (ADDED|MODIFIED|DELETED, object), for ever.

        Without ``resource_version`` the current objects come first, as ADDED. Disconnects are
        resumed from the last version seen; a 410 Gone re-lists and reports what changed
        meanwhile. Only errors that retrying cannot cure (403, 404 on the kind) end it. With
        ``labels``, an object that stops matching is reported as DELETED. ``synced`` is called
        once the objects of the first list have been reported. With ``slim``, only the metadata
        of each object is remembered (a DELETED event found by a re-list carries no more), which
        saves a copy of every object for a consumer that needs no more.
        """
        return watch.follow(
            lambda: self.list_at(api_version, kind, namespace, labels),
            lambda version: self._stream(api_version, kind, namespace, version, labels),
            resource_version=resource_version,
            policy=self.settings.retry,
            synced=synced,
            keep=watch.metadata_only if slim else lambda obj: obj,
        )

    async def follow(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        synced: Callable[[], None] | None = None,
    ) -> AsyncIterator[tuple[str, Manifest]]:
        """Like :meth:`watch` (``slim``), from the cache's informer of the kind when the cache is
        on: one list and one watch serve both the reads and the events."""
        found = await self.kinds.resolve(api_version, kind)
        informer = self._informer(found, namespace if found.namespaced else None, start=True)

        def own(synced: Callable[[], None] | None) -> AsyncIterator[tuple[str, Manifest]]:
            return self.watch(api_version, kind, namespace, synced=synced, slim=True)

        async for event in cache.listened(informer, own, synced):
            yield event

    async def _stream(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        version: str | None,
        labels: dict[str, str] | None,
    ) -> AsyncGenerator[tuple[str, Manifest], None]:
        """One watch request (see :func:`serinus.kube.watch.stream`)."""
        found = await self.kinds.resolve(api_version, kind)
        path = kinds.collection_path(found, namespace if found.namespaced else None)
        action = f"watch {found.title} in {namespace or 'all namespaces'}"
        params = {"watch": "true", "timeoutSeconds": str(self.settings.watch_timeout)}
        if version:
            params["resourceVersion"] = version
        if labels:
            params["labelSelector"] = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        # The server ends the stream after watch_timeout; silence much longer than that means
        # the connection died without a word.
        limits = httpx2.Timeout(
            self.settings.timeout, read=self.settings.watch_timeout + self.settings.timeout
        )
        async with contextlib.aclosing(
            watch.stream(self._http, path, params=params, limits=limits, action=action)
        ) as events:
            async for event in events:
                yield event

    # internals

    async def _call(self, action: str, call: Callable[[], Awaitable[T]]) -> T:
        async def once() -> T:
            if self._limiter is not None:
                await self._limiter.acquire()
            try:
                return await call()
            except (httpx2.HTTPError, ApiError) as error:
                raise kube_errors.wrap(error, action=action) from error

        return await retry.with_retries(once, policy=self.settings.retry)

    async def _patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Patch,
        patch_type: str,
        *,
        status: bool,
    ) -> Manifest:
        if patch_type not in _PATCH_TYPES:
            raise ValueError(
                f"patch_type: expected one of {', '.join(_PATCH_TYPES)}, found {patch_type!r}"
            )
        found = await self.kinds.resolve(api_version, kind)
        ns = self._namespace(found, namespace)
        res = kinds.resource_class(found)
        target = res.Status if status else res
        what = f"{'status of ' if status else ''}{_where(found, name, ns)}"
        return await self._written(
            found,
            ns,
            name,
            self._call(
                f"{patch_type}-patch {what}",
                lambda: self._client.patch(
                    target, name, patch, namespace=ns, patch_type=_PATCH_TYPES[patch_type]
                ),
            ),
        )

    async def _written(
        self, found: kinds.Kind, ns: str | None, name: str, call: Awaitable[Any]
    ) -> Manifest:
        """A write's answer, held by the cache; a 409 marks the cached object stale."""
        informer = self._informer(found, ns)
        try:
            written = _plain(await call)
        except errors.ConflictError:
            if informer is not None:
                informer.stale(ns or "", name)
            raise
        cache.hold(informer, written)
        return written

    async def _write(
        self,
        verb: str,
        manifest: Manifest,
        send: Callable[[_Located, Manifest], Awaitable[Any]],
    ) -> Manifest:
        """One write of a whole manifest: locate it, fill in its namespace, send, translate."""
        metadata = manifest.get("metadata") or {}
        found = await self.kinds.resolve(
            str(manifest.get("apiVersion", "")), str(manifest.get("kind", ""))
        )
        if not metadata.get("name"):
            raise errors.InvalidError(f"{found.kind}: expected metadata.name, found none", status=0)
        ns = self._namespace(found, metadata.get("namespace"))
        at = _Located(found, str(metadata["name"]), ns)
        body = at.resource(_with_namespace(manifest, ns))
        return await self._written(
            found, ns, at.name, self._call(f"{verb} {at}", lambda: send(at, body))
        )

    def _namespace(self, found: kinds.Kind, namespace: str | None) -> str | None:
        if not found.namespaced:
            return None
        return namespace or self.namespace

    async def _get_json(self, path: str) -> Manifest | None:
        async def once() -> Manifest | None:
            if self._limiter is not None:
                await self._limiter.acquire()
            try:
                response = await self._http.get(path)
                if response.status_code == 404:
                    return None
                response.raise_for_status()
            except httpx2.HTTPError as error:
                raise kube_errors.wrap(error, action=f"get {path}") from error
            document = response.json()
            return document if isinstance(document, dict) else None

        return await retry.with_retries(once, policy=self.settings.retry)


class _UserAgent(httpx2.AsyncBaseTransport):
    """A transport that sends ``User-Agent: <user agent>`` on every request.

    The API server records the user agent as the field manager of writes that name none, so every
    request, whichever client sends it, must carry serinus's."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, user_agent: str) -> None:
        self._inner = inner
        self._user_agent = user_agent

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        request.headers["User-Agent"] = self._user_agent
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _plain(obj: Any) -> Manifest:
    """A lightkube generic object (a dict subclass) as a plain dict."""
    if hasattr(obj, "to_dict"):
        return dict(obj.to_dict())
    return dict(obj)


def _with_namespace(manifest: Manifest, namespace: str | None) -> Manifest:
    """A shallow copy with ``metadata.namespace`` set (or left out for cluster-scoped kinds)."""
    body = dict(manifest)
    metadata = dict(body.get("metadata") or {})
    if namespace is not None:
        metadata["namespace"] = namespace
    body["metadata"] = metadata
    return body


def _where(found: kinds.Kind, name: str, namespace: str | None) -> str:
    return f"{found.title} {namespace}/{name}" if namespace else f"{found.title} {name}"


@dataclasses.dataclass(frozen=True)
class _Located:
    """Where a manifest being written lives."""

    kind: kinds.Kind
    name: str
    namespace: str | None

    @property
    def resource(self) -> kinds.Resource:
        return kinds.resource_class(self.kind)

    def __str__(self) -> str:
        return _where(self.kind, self.name, self.namespace)
