"""``Kube``: the one client serinus uses to talk to the Kubernetes API, with objects as dicts.

Targets, routers, the status store, the event sink and leader election all go through this class;
nothing else in serinus imports lightkube (which loads the configuration and credentials,
:mod:`serinus.kube.config`). Objects travel as plain ``Manifest`` dicts, whatever their kind:
serinus copies Deployments, rewrites Services and writes a dozen mesh kinds, and typed models for
each would be code to keep in step with every mesh's API for no gain. The URL of a kind comes from
:mod:`serinus.kube.kinds`, so a new kind needs no code.

Every call is one request of :mod:`serinus.kube.wire` (the URL built here, the body JSON) wrapped
in :func:`serinus.kube.retry.with_retries` (429, 5xx and unanswered requests are retried with
backoff, each try waiting for the rate limiter) and :func:`serinus.kube.errors.translate` (what
is left surfaces as a :mod:`serinus.errors` class); with ``times``, each try's wait for the rate
limiter and its exchange are reported (:mod:`serinus.kube.timing`: the operator's ``/metrics``).
Watches live in :mod:`serinus.kube.watch`.
``get`` and ``delete`` treat 404 as an answer (None, nothing to do), not as an error. An answer
that is not the JSON expected is an :class:`~serinus.kube.errors.UnreachableError` (retried).

Namespaces: for a namespaced kind, calls about one object use the ``namespace`` argument, else the
manifest's ``metadata.namespace``, else the default namespace of the settings or kubeconfig
context; ``list`` and ``watch`` with ``namespace=None`` cover all namespaces. Cluster-scoped kinds
ignore the namespace.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from lightkube.config import client_adapter
from lightkube.core.exceptions import ConfigError

from serinus import errors
from serinus.apis.base import Manifest
from serinus.kube import cache, config, kinds, ratelimit, retry, timing, watch, wire
from serinus.kube import errors as kube_errors

logger = logging.getLogger(__name__)

T = TypeVar("T")

PatchKind = Literal["merge", "json", "strategic"]
Patch = Manifest | list[Manifest]
"""A merge or strategic-merge patch (a mapping) or a JSON patch (a list of operations)."""
Manifests = list[Manifest]

_CASCADES = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan"}
"""``propagationPolicy`` of each cascade."""

_PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}
_APPLY = "application/apply-patch+yaml"  # JSON is YAML


POOL_SIZE = 100
"""Connections to the API server at once. Every one opened is kept for reuse (httpx kept 20 and
closed the rest after each request: with dozens of ticks writing at once, that opened a new
connection for most writes)."""


class Kube:
    """An async Kubernetes client; every object is a dict. ``times``, when given, is told how
    long each request waited for the rate limiter and took (:mod:`serinus.kube.timing`)."""

    def __init__(
        self, settings: config.KubeSettings, *, times: timing.RequestTimes | None = None
    ) -> None:
        self.settings = settings
        self._times = times
        single = config.load(settings)
        assert single.user is not None  # config.load puts in an empty one
        try:
            tls = client_adapter.verify_cluster(
                single.cluster, single.user, single.abs_file, trust_env=False
            )  # the CA and the client certificate of the context
            auth = client_adapter.user_auth(single.user)
        except (ConfigError, OSError, ssl.SSLError) as error:  # bad credentials or CA files
            raise kube_errors.KubeConfigError(f"cannot use {settings.source}: {error}") from error
        self._wire = wire.Wire(
            single.cluster.server,
            tls=tls,
            auth=auth,
            user_agent=settings.user_agent,
            timeout=settings.timeout,
            limit=POOL_SIZE,
        )
        self._default_namespace = settings.namespace or single.namespace
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
        self,
        api_version: str,
        kind: str,
        scope: str | None,
        selector: str | None,
        synced: Callable[[], None],
    ) -> AsyncIterator[tuple[str, watch.Watched]]:
        return watch.follow(
            lambda: self.list_at(api_version, kind, scope, selector=selector),
            lambda version: self._stream(
                api_version, kind, scope, version, None, raw=True, selector=selector
            ),
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
        return self._default_namespace

    async def close(self) -> None:
        if self.cache is not None:
            await self.cache.close()
        await self._wire.close()

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
        try:
            obj = await self._object(
                f"get {_where(found, name, ns)}", "GET", _path(found, ns, name)
            )
        except errors.NotFoundError:
            if informer is not None:
                informer.refreshed(ns or "", name, None)
            return None
        if informer is not None:
            informer.refreshed(ns or "", name, obj)
        return obj

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
        selector: str | None = None,
    ) -> tuple[Manifests, str]:
        """Like :meth:`list`, with the collection's resourceVersion to watch from; ``selector``
        is a label selector in the API's words (``!key``), after ``labels``."""
        found = await self.kinds.resolve(api_version, kind)
        path = kinds.collection_path(found, namespace if found.namespaced else None)
        where = f"{found.title} in {namespace or 'all namespaces'}"
        params = {}
        if labels or selector:
            params["labelSelector"] = _labels(_selector(labels or {}), selector)
        if fields:
            params["fieldSelector"] = _selector(fields)

        def items_of(document: Any) -> tuple[Manifests, str]:
            items = document.get("items") if isinstance(document, dict) else None
            if not isinstance(items, list):
                raise ValueError("expected a list with items")
            metadata = document.get("metadata")
            version = metadata.get("resourceVersion") if isinstance(metadata, dict) else None
            return items, str(version or "")

        return await self._call(f"list {where}", "GET", path, params=params, read=items_of)

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
        return await self._write("create", manifest, "POST", collection=True)

    async def replace(self, manifest: Manifest) -> Manifest:
        """Write the whole object; ConflictError when its resourceVersion is stale."""
        return await self._write("replace", manifest, "PUT")

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
        params = {"force": "true"} if force else {}
        params["fieldManager"] = field_manager
        return await self._write(
            "apply",
            {**manifest, "metadata": metadata},
            "PATCH",
            params=params,
            content_type=_APPLY,
        )

    async def replace_status(self, manifest: Manifest) -> Manifest:
        """Write ``status`` through the status subresource; ConflictError when stale."""
        return await self._write("replace status of", manifest, "PUT", subresource="/status")

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
        params = {"propagationPolicy": _CASCADES[cascade]} if cascade is not None else None
        try:
            await self._call(
                f"delete {_where(found, name, ns)}",
                "DELETE",
                _path(found, ns, name),
                params=params,
                read=None,
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
        documents: bool = True,
    ) -> AsyncIterator[tuple[str, Any]]:
        """Like :meth:`watch` (``slim``), from the cache's informer of the kind when the cache is
        on: one list and one watch serve both the reads and the events. Without ``documents``,
        an informer's events carry :class:`~serinus.kube.watch.Seen` objects, read as the
        consumer needs (the operator's Canaries: :mod:`serinus.operator.followed`)."""
        found = await self.kinds.resolve(api_version, kind)
        informer = self._informer(found, namespace if found.namespaced else None, start=True)

        def own(synced: Callable[[], None] | None) -> AsyncIterator[tuple[str, Manifest]]:
            return self.watch(api_version, kind, namespace, synced=synced, slim=True)

        async for event in cache.listened(informer, own, synced, documents=documents):
            yield event

    async def _stream(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        version: str | None,
        labels: dict[str, str] | None,
        *,
        raw: bool = False,
        selector: str | None = None,
    ) -> AsyncGenerator[tuple[str, Any], None]:
        """One watch request (see :func:`serinus.kube.watch.stream`; ``raw``: an informer's,
        objects as :class:`~serinus.kube.watch.Seen`, documents otherwise)."""
        found = await self.kinds.resolve(api_version, kind)
        path = kinds.collection_path(found, namespace if found.namespaced else None)
        action = f"watch {found.title} in {namespace or 'all namespaces'}"
        params = {"watch": "true", "timeoutSeconds": str(self.settings.watch_timeout)}
        if version:
            params["resourceVersion"] = version
        if labels or selector:
            params["labelSelector"] = _labels(
                _selector(dict(sorted((labels or {}).items()))), selector
            )
        # The server ends the stream after watch_timeout; silence much longer than that means
        # the connection died without a word.
        read_timeout = self.settings.watch_timeout + self.settings.timeout
        async with contextlib.aclosing(
            watch.stream(
                self._wire, path, params=params, read_timeout=read_timeout, action=action, raw=raw
            )
        ) as events:
            async for event in events:
                yield event

    # internals

    async def _call(
        self,
        action: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = wire.JSON,
        read: Callable[[Any], T] | None,
    ) -> T:
        """One request, retried, its errors translated; ``read`` turns the answer's JSON into
        the result (None: the answer is not read). An answer that is not the JSON expected is
        an UnreachableError, retried as one."""

        times = self._times

        async def once() -> T:
            if self._limiter is not None:
                began = time.perf_counter()
                await self._limiter.acquire()
                if times is not None:
                    times.rate_limited(time.perf_counter() - began)
            began = time.perf_counter()
            try:
                data = await self._wire.request(
                    method, path, params=params, body=body, content_type=content_type
                )
            except (kube_errors.Answered, kube_errors.Unanswered) as error:
                raise kube_errors.wrap(error, action=action) from error
            finally:
                if times is not None:
                    times.requested(method, time.perf_counter() - began)
            if read is None:
                return None  # type: ignore[return-value]  # T is None for these callers
            try:
                return read(wire.decode(data))
            except (ValueError, TypeError, AttributeError) as error:
                raise kube_errors.UnreachableError(
                    f"{action}: the API server's answer is not the JSON expected: "
                    f"{data[:80].decode('utf-8', 'replace')!r}"
                ) from error

        return await retry.with_retries(once, policy=self.settings.retry)

    async def _object(
        self,
        action: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = wire.JSON,
    ) -> Manifest:
        return await self._call(
            action,
            method,
            path,
            params=params,
            body=body,
            content_type=content_type,
            read=_manifest,
        )

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
        what = f"{'status of ' if status else ''}{_where(found, name, ns)}"
        path = _path(found, ns, name) + ("/status" if status else "")
        return await self._written(
            found,
            ns,
            name,
            self._object(
                f"{patch_type}-patch {what}",
                "PATCH",
                path,
                body=wire.encode(patch),
                content_type=_PATCH_TYPES[patch_type],
            ),
        )

    async def _written(
        self, found: kinds.Kind, ns: str | None, name: str, call: Awaitable[Manifest]
    ) -> Manifest:
        """A write's answer, held by the cache; a 409 marks the cached object stale."""
        informer = self._informer(found, ns)
        try:
            written = await call
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
        method: str,
        *,
        collection: bool = False,
        subresource: str = "",
        params: Mapping[str, str] | None = None,
        content_type: str = wire.JSON,
    ) -> Manifest:
        """One write of a whole manifest: locate it, fill in its namespace, send, translate."""
        metadata = manifest.get("metadata") or {}
        found = await self.kinds.resolve(
            str(manifest.get("apiVersion", "")), str(manifest.get("kind", ""))
        )
        if not metadata.get("name"):
            raise errors.InvalidError(f"{found.kind}: expected metadata.name, found none", status=0)
        ns = self._namespace(found, metadata.get("namespace"))
        name = str(metadata["name"])
        path = (
            kinds.collection_path(found, ns) if collection else _path(found, ns, name) + subresource
        )
        body = wire.encode(_with_namespace(manifest, ns))
        return await self._written(
            found,
            ns,
            name,
            self._object(
                f"{verb} {_where(found, name, ns)}",
                method,
                path,
                params=params,
                body=body,
                content_type=content_type,
            ),
        )

    def _namespace(self, found: kinds.Kind, namespace: str | None) -> str | None:
        if not found.namespaced:
            return None
        return namespace or self.namespace

    async def _get_json(self, path: str) -> Manifest | None:
        """The JSON object at a path with its query (discovery, /version), None on 404."""
        try:
            return await self._call(f"get {path}", "GET", path, read=_document)
        except errors.NotFoundError:
            return None


def _manifest(document: Any) -> Manifest:
    if not isinstance(document, dict):
        raise TypeError("expected an object")
    return document


def _document(document: Any) -> Manifest | None:
    return document if isinstance(document, dict) else None


def _path(found: kinds.Kind, namespace: str | None, name: str) -> str:
    return f"{kinds.collection_path(found, namespace)}/{wire.quote(name)}"


def _selector(pairs: dict[str, str]) -> str:
    """A label or field selector of equalities, in the caller's order."""
    return ",".join(f"{key}={value}" for key, value in pairs.items())


def _labels(*selectors: str | None) -> str:
    """Label selectors joined (every requirement must hold)."""
    return ",".join(part for part in selectors if part)


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
