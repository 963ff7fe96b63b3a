"""The ``scale`` and ``log`` subresources (``status`` is a flag on every write, see ``writes``).

``scale`` presents an object as an ``autoscaling/v1`` Scale: ``spec.replicas`` read from and
written to the path the kind (or the CRD's ``subresources.scale``) declares, ``status.replicas``
and ``status.selector`` (a label selector string) read-only. ``kubectl scale`` PATCHes it with a
merge patch; HPAs and lightkube read and PUT it.

``log`` checks the container the way the real server does (a pod with several containers needs
``container=``) and streams ``text/plain`` from the first log source that runs the pod.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from serinus.sandbox.apiserver import patching, writes
from serinus.sandbox.apiserver.cluster import Cluster
from serinus.sandbox.apiserver.logs import LogRequest, LogSources
from serinus.sandbox.apiserver.objects import (
    Obj,
    as_map,
    dig,
    metadata,
    put,
    split_path,
    to_int,
)
from serinus.sandbox.apiserver.resources import ResourceType, ScaleSpec
from serinus.sandbox.apiserver.selectors import format_label_selector
from serinus.sandbox.apiserver.status import Cause, bad_request, conflict, invalid, no_such_path

logger = logging.getLogger(__name__)


def _spec(resource: ResourceType) -> ScaleSpec:
    if resource.scale is None:  # routing only sends scale requests to scalable types
        raise no_such_path()
    return resource.scale


def scale_of(resource: ResourceType, obj: Obj) -> Obj:
    """The Scale view of an object (in served form)."""
    spec = _spec(resource)
    if spec.label_selector_path is not None:
        selector = dig(obj, split_path(spec.label_selector_path)) or ""
    elif spec.map_selector:
        labels = as_map(dig(obj, ("spec", "selector")))
        selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
    else:
        selector = format_label_selector(dig(obj, ("spec", "selector")))
    fields = metadata(obj)
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: fields[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in fields
        },
        "spec": {"replicas": to_int(dig(obj, split_path(spec.spec_replicas_path)))},
        "status": {
            "replicas": to_int(dig(obj, split_path(spec.status_replicas_path))),
            "selector": str(selector),
        },
    }


def get_scale(cluster: Cluster, resource: ResourceType, namespace: str, name: str) -> Obj:
    return scale_of(resource, cluster.served(resource, cluster.get(resource, namespace, name)))


def write_scale(
    cluster: Cluster,
    resource: ResourceType,
    namespace: str,
    name: str,
    scale: object,
    options: writes.WriteOptions,
) -> Obj:
    """Set replicas from a Scale; 409 on a stale resourceVersion, 422 on a bad count."""
    stored = cluster.get(resource, namespace, name)
    body = as_map(scale)
    given = dig(body, ("metadata", "resourceVersion"))
    if given and str(given) != metadata(stored).get("resourceVersion"):
        raise conflict(resource.group, resource.plural, name)
    replicas = dig(body, ("spec", "replicas"))
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise invalid(
            "autoscaling",
            "Scale",
            name,
            [
                Cause(
                    "spec.replicas",
                    "FieldValueInvalid",
                    f"Invalid value: {replicas}: must be greater than or equal to 0",
                )
            ],
        )
    obj = cluster.served(resource, stored)
    put(obj, split_path(_spec(resource).spec_replicas_path), replicas)
    written = writes.commit_update(cluster, resource, stored, obj, options, recorded_as="scale")
    return scale_of(resource, written.obj)


def patch_scale(
    cluster: Cluster,
    resource: ResourceType,
    namespace: str,
    name: str,
    *,
    content_type: str,
    raw: bytes,
    options: writes.WriteOptions,
) -> Obj:
    kind = patching.patch_type(resource, content_type)
    body = patching.decode(kind, raw)
    current = get_scale(cluster, resource, namespace, name)
    if kind == patching.APPLY_PATCH:
        kind = patching.MERGE_PATCH
    patched = patching.apply_to(kind, current, body)
    return write_scale(cluster, resource, namespace, name, patched, options)


def _int(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError:
        raise bad_request(f"invalid integer: {value}") from None


def log_request(pod: Obj, query: dict[str, str]) -> LogRequest:
    """The decoded log request; 400 when the container is missing or unknown."""
    fields = metadata(pod)
    names = [str(c.get("name")) for c in dig(pod, ("spec", "containers")) or []]
    inits = [str(c.get("name")) for c in dig(pod, ("spec", "initContainers")) or []]
    container = query.get("container") or ""
    if not container:
        if len(names) != 1:
            inits_too = f" or one of the init containers: [{' '.join(inits)}]" if inits else ""
            raise bad_request(
                f"a container name must be specified for pod {fields.get('name')}, "
                f"choose one of: [{' '.join(names)}]{inits_too}"
            )
        container = names[0]
    elif container not in names + inits:
        raise bad_request(f"container {container} is not valid for pod {fields.get('name')}")
    return LogRequest(
        namespace=str(fields.get("namespace", "")),
        pod=str(fields.get("name", "")),
        container=container,
        follow=query.get("follow") in ("true", "1", "True"),
        tail_lines=_int(query.get("tailLines")),
        timestamps=query.get("timestamps") in ("true", "1", "True"),
        since_seconds=_int(query.get("sinceSeconds")),
        previous=query.get("previous") in ("true", "1", "True"),
        limit_bytes=_int(query.get("limitBytes")),
        pod_object=pod,
    )


async def serve_log(
    request: web.Request, sources: LogSources, log: LogRequest, closing: asyncio.Event
) -> web.StreamResponse:
    stream = sources.open(log)
    if stream is None:
        raise bad_request(
            f'container "{log.container}" in pod "{log.pod}" is waiting to start: ContainerCreating'
        )
    response = web.StreamResponse(status=200)
    response.headers["Content-Type"] = "text/plain"
    response.enable_chunked_encoding()
    await response.prepare(request)
    iterator = aiter(stream)
    stop = asyncio.ensure_future(closing.wait())
    try:
        while True:
            chunk_task = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({chunk_task, stop}, return_when=asyncio.FIRST_COMPLETED)
            if chunk_task not in done:
                chunk_task.cancel()
                break
            try:
                chunk = chunk_task.result()
            except StopAsyncIteration:
                break
            await response.write(chunk)
    except ConnectionError:
        logger.debug("log reader of %s/%s went away", log.namespace, log.pod)
    finally:
        stop.cancel()
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            await closer()
    return response
