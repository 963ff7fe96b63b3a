"""The HTTP layer: one aiohttp handler that routes every request and speaks the API's dialect.

It decodes what clients send (with ``queries``: parameters, JSON or YAML bodies, DeleteOptions),
calls the verb (``writes``, ``patching``, ``deletion``, ``subresources``, ``watch``) and encodes
the answer (objects, Lists with ``limit``/``continue``, Tables, Status errors). Every ApiError
becomes its ``Status`` here; any other exception is a server bug, logged with its traceback and
answered as a 500 ``Status`` so that clients still get JSON.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import web

from serinus.sandbox.apiserver import (
    deletion,
    discovery,
    identity,
    impersonation,
    listing,
    metrics,
    openapi,
    patching,
    podexec,
    queries,
    rbac,
    reviews,
    routing,
    subresources,
    tables,
    watch,
    writes,
)
from serinus.sandbox.apiserver.cluster import Cluster
from serinus.sandbox.apiserver.logs import LogSources
from serinus.sandbox.apiserver.metrics import Counted, RequestMetrics
from serinus.sandbox.apiserver.objects import Obj
from serinus.sandbox.apiserver.responses import (
    aggregated_discovery,
    error_response,
    flag,
    json_response,
    wants_table,
)
from serinus.sandbox.apiserver.routing import Target
from serinus.sandbox.apiserver.selectors import parse_labels
from serinus.sandbox.apiserver.status import (
    ApiError,
    internal,
    method_not_allowed,
    no_such_path,
    too_large,
)

logger = logging.getLogger(__name__)

_BODY_TYPES = ("application/json", "application/yaml")
_COUNTED = web.RequestKey("counted", Counted)
"""What a request was about, noted when its route is known, counted with its answer."""
_VALIDATION = ("Strict", "Warn", "Ignore")


class Api:
    """Routes requests to the cluster; one instance per server."""

    def __init__(
        self,
        cluster: Cluster,
        logs: LogSources,
        execs: podexec.ExecSources,
        *,
        closing: asyncio.Event,
        bookmark_interval: float,
        address: Callable[[], str],
    ) -> None:
        self.cluster = cluster
        self.logs = logs
        self.execs = execs
        self.closing = closing
        self.bookmark_interval = bookmark_interval
        self.address = address
        self.tokens = identity.Tokens(cluster)
        self.metrics = RequestMetrics()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            user = identity.authenticate(self.tokens, request.headers.get("Authorization"))
            user = impersonation.impersonate(self.cluster, user, request.headers)
            response = await self._route(request, user)
        except ApiError as error:
            response = error_response(error)
        except web.HTTPRequestEntityTooLarge:  # past the application's client_max_size
            response = error_response(too_large())
        except ConnectionResetError as error:
            # the client hung up mid-request (a controller stopping): not the server's failure,
            # and nobody reads the answer
            logger.info("%s %s: the client went away", request.method, request.path_qs)
            response = error_response(internal(repr(error)))
        except Exception as error:
            logger.exception("%s %s failed", request.method, request.path_qs)
            response = error_response(internal(repr(error)))
        logger.debug("%s %s -> %s", request.method, request.path_qs, response.status)
        self.metrics.count(request.get(_COUNTED), request.method, response.status)
        return response

    def _authorize(self, user: identity.User, attributes: rbac.Attributes) -> None:
        if not rbac.allowed(self.cluster, user, attributes):
            raise rbac.forbidden(user, attributes)

    async def _route(self, request: web.Request, user: identity.User) -> web.StreamResponse:
        parts = [part for part in request.path.split("/") if part]
        located = routing.group_version(parts)
        if located is None or not located[2]:
            path = "/" + "/".join(parts)
            self._authorize(user, rbac.Attributes(verb=request.method.lower(), path=path))
        if parts in (["healthz"], ["livez"], ["readyz"]):
            return web.Response(text="ok", content_type="text/plain")
        if parts == ["version"]:
            return json_response(discovery.VERSION_INFO)
        if parts == ["metrics"] and request.method == "GET":
            return web.Response(
                body=self.metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE}
            )
        if parts[:1] == ["openapi"]:
            return self._openapi(parts, request.headers.get("Accept", ""))
        found = self._discovery(request, parts)
        if found is not None:
            return found
        if located is None:
            raise no_such_path()
        group, version, rest = located
        if not rest:
            document = discovery.resource_list(self.cluster.registry, group, version)
            if document is None:
                raise no_such_path()
            return json_response(document)
        target = routing.resolve(self.cluster.registry, group, version, rest)
        watching = flag(request.query.get("watch"))
        attributes = rbac.Attributes(
            verb=routing.verb(request.method, target, watch=watching),
            resource=target.resource.plural,
            group=target.resource.group,
            namespace=target.namespace or "",
            name=target.name or "",
            subresource=target.subresource,
        )
        request[_COUNTED] = metrics.about(
            request.method,
            attributes.verb,
            target,
            version,
            request.headers.get("Content-Type", ""),
        )
        self._authorize(user, attributes)
        if target.resource.review and request.method == "POST" and target.name is None:
            body = await queries.body(request)
            review = reviews.answer(
                self.cluster, self.tokens, user, target.resource, target.scope_namespace, body
            )
            return json_response(review, status=201)
        if target.subresource == "token" and request.method == "POST":
            body = await queries.body(request)
            token = reviews.token_request(
                self.cluster, self.tokens, target.scope_namespace, str(target.name), body
            )
            return json_response(token, status=201)
        return await self._resource(request, target)

    def _discovery(self, request: web.Request, parts: list[str]) -> web.Response | None:
        registry = self.cluster.registry
        aggregated = aggregated_discovery(request.headers.get("Accept", ""))
        if parts in (["api"], ["apis"]) and aggregated is not None:
            body = discovery.aggregated(registry, core=parts == ["api"], version=aggregated)
            return json_response(body, content_type=discovery.aggregated_content_type(aggregated))
        if parts == ["api"]:
            return json_response(discovery.core_versions(self.address()))
        if parts == ["apis"]:
            return json_response(discovery.group_list(registry))
        if len(parts) == 2 and parts[0] == "apis":
            document = discovery.group(registry, parts[1])
            if document is None:
                raise no_such_path()
            return json_response(document)
        return None

    def _openapi(self, parts: list[str], accept: str = "") -> web.Response:
        if parts == ["openapi", "v2"]:
            # JSON only for clients that take it: kubectl asks for the protobuf form alone, and
            # a JSON answer would break its validation, while a 404 sends it to /openapi/v3.
            if accept and "json" not in accept and "*/*" not in accept:
                raise no_such_path()
            return json_response(openapi.swagger(self.cluster.registry))
        if parts == ["openapi", "v3"]:
            return json_response(openapi.index(self.cluster.registry))
        located = routing.group_version(parts[2:]) if parts[:2] == ["openapi", "v3"] else None
        if located is None or located[2]:
            raise no_such_path()
        document = openapi.document(self.cluster.registry, located[0], located[1])
        if document is None:
            raise no_such_path()
        return json_response(document)

    async def _resource(self, request: web.Request, target: Target) -> web.StreamResponse:
        method = request.method
        if target.name is None:
            if method == "GET":
                return await self._list(request, target)
            if method == "POST":
                return await self._create(request, target)
            if method == "DELETE":
                return await self._delete_collection(request, target)
        elif target.subresource == "scale":
            return await self._scale(request, target)
        elif target.subresource == "log" and method == "GET":
            return await self._log(request, target)
        elif target.subresource == "exec" and method in ("GET", "POST"):
            return await self._exec(request, target)
        elif target.subresource not in ("log", "exec"):
            if method == "GET":
                return self._get(request, target)
            if method == "PUT":
                return await self._update(request, target)
            if method == "PATCH":
                return await self._patch(request, target)
            if method == "DELETE" and not target.subresource:
                return await self._delete(request, target)
        raise method_not_allowed(method, target.resource.resource)

    # reading

    def _get(self, request: web.Request, target: Target) -> web.Response:
        resource = target.resource
        stored = self.cluster.get(resource, target.scope_namespace, str(target.name))
        if wants_table(request.headers.get("Accept", "")):
            obj = self.cluster.served(resource, stored)
            return self._table(request, target, [obj], str(self.cluster.store.rv))
        return json_response(self.cluster.view(resource, stored))  # encoded at once, not kept

    def _table(
        self,
        request: web.Request,
        target: Target,
        objects: list[Obj],
        rv: str,
        extra: Obj | None = None,
    ) -> web.Response:
        body = tables.table(
            target.resource,
            objects,
            resource_version=rv,
            include_object=request.query.get("includeObject") or "Metadata",
            extra_metadata=extra,
        )
        return json_response(body, content_type=tables.TABLE_CONTENT_TYPE)

    async def _list(self, request: web.Request, target: Target) -> web.StreamResponse:
        query = request.query
        resource = target.resource
        labels = parse_labels(query.get("labelSelector"))
        fields = self.cluster.fields(resource, query.get("fieldSelector"))
        as_table = wants_table(request.headers.get("Accept", ""))
        if flag(query.get("watch")):
            return await watch.serve(
                request,
                self.cluster,
                watch.WatchRequest(
                    resource=resource,
                    namespace=target.namespace,
                    resource_version=query.get("resourceVersion"),
                    labels=labels,
                    fields=fields,
                    timeout=queries.number(query.get("timeoutSeconds")),
                    bookmarks=flag(query.get("allowWatchBookmarks")),
                    initial_events=flag(query.get("sendInitialEvents")),
                    as_table=as_table,
                    include_object=query.get("includeObject") or "Metadata",
                ),
                bookmark_interval=self.bookmark_interval,
            )
        page = listing.list_page(
            self.cluster,
            resource,
            target.namespace,
            labels,
            fields,
            limit=query.get("limit"),
            token=query.get("continue"),
        )
        if as_table:
            return self._table(request, target, page.items, page.resource_version, page.extra)
        return json_response(
            {
                "kind": resource.list_kind,
                "apiVersion": resource.api_version,
                "metadata": {"resourceVersion": page.resource_version, **page.extra},
                "items": page.items,
            }
        )

    # writing

    async def _create(self, request: web.Request, target: Target) -> web.Response:
        body = await queries.body(request)
        written = writes.create(
            self.cluster,
            target.resource,
            target.scope_namespace,
            body,
            queries.write_options(request),
            owned=True,
        )
        return json_response(written.view, status=201, warnings=written.warnings)

    async def _update(self, request: web.Request, target: Target) -> web.Response:
        written = writes.update(
            self.cluster,
            target.resource,
            target.scope_namespace,
            str(target.name),
            await queries.body(request),
            queries.write_options(request),
            subresource=target.subresource,
            owned=True,
        )
        return json_response(written.view, warnings=written.warnings)

    async def _patch(self, request: web.Request, target: Target) -> web.Response:
        written = patching.patch(
            self.cluster,
            target.resource,
            target.scope_namespace,
            str(target.name),
            content_type=request.headers.get("Content-Type", ""),
            raw=await request.read(),
            options=queries.write_options(request),
            subresource=target.subresource,
            force=flag(request.query.get("force")),
        )
        status = 201 if written.created else 200
        return json_response(written.view, status=status, warnings=written.warnings)

    async def _delete(self, request: web.Request, target: Target) -> web.Response:
        options = await queries.delete_options(request)
        deleted = deletion.delete(
            self.cluster, target.resource, target.scope_namespace, str(target.name), options
        )
        return json_response(deleted.body)

    async def _delete_collection(self, request: web.Request, target: Target) -> web.Response:
        resource = target.resource
        removed = deletion.delete_collection(
            self.cluster,
            resource,
            target.namespace,
            parse_labels(request.query.get("labelSelector")),
            self.cluster.fields(resource, request.query.get("fieldSelector")),
            await queries.delete_options(request),
        )
        return json_response(
            {
                "kind": resource.list_kind,
                "apiVersion": resource.api_version,
                "metadata": {"resourceVersion": str(self.cluster.store.rv)},
                "items": removed,
            }
        )

    # subresources

    async def _scale(self, request: web.Request, target: Target) -> web.Response:
        args = (self.cluster, target.resource, target.scope_namespace, str(target.name))
        if request.method == "GET":
            return json_response(subresources.get_scale(*args))
        if request.method == "PUT":
            scale = subresources.write_scale(
                *args, await queries.body(request), queries.write_options(request)
            )
            return json_response(scale)
        if request.method == "PATCH":
            scale = subresources.patch_scale(
                *args,
                content_type=request.headers.get("Content-Type", ""),
                raw=await request.read(),
                options=queries.write_options(request),
            )
            return json_response(scale)
        raise method_not_allowed(request.method, f"{target.resource.resource}/scale")

    async def _log(self, request: web.Request, target: Target) -> web.StreamResponse:
        pod = self.cluster.get(target.resource, target.scope_namespace, str(target.name))
        log = subresources.log_request(pod, dict(request.query))
        return await subresources.serve_log(request, self.logs, log, self.closing)

    async def _exec(self, request: web.Request, target: Target) -> web.StreamResponse:
        pod = self.cluster.get(target.resource, target.scope_namespace, str(target.name))
        run = podexec.exec_request(pod, request.query, request.query.getall("command", []))
        return await podexec.serve_exec(request, self.execs, run, self.closing)
