"""The informer's watch path as it was before the watch objects were kept as they came (for
``watch_events.py``): every event decoded whole into dicts, its object encoded again (without
``managedFields``) to be held, and decoded again at each read.

Only what an informer's events go through is here (``follow`` without its list and re-list, one
watch request, the line parser, the informer's ``store`` and its listeners); the connection and
the aiohttp session under it are the current ones, so the difference measured is the event path
alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import msgspec
import orjson

from serinus.kube import Kube, kinds
from serinus.kube import errors as kube_errors

Manifest = dict[str, Any]
Event = tuple[str, Manifest]


def _key(obj: Manifest) -> tuple[str, str]:
    metadata = obj.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


def _version(obj: Manifest) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def _metadata_only(obj: Manifest) -> Manifest:
    metadata = obj.get("metadata") or {}
    kept = {
        k: metadata[k] for k in ("name", "namespace", "resourceVersion", "uid") if k in metadata
    }
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": kept}


def _version_of(obj: Manifest) -> int | None:
    try:
        return int(str((obj.get("metadata") or {}).get("resourceVersion")))
    except ValueError:
        return None


def _compact(obj: Manifest) -> tuple[int | None, bytes | str]:
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    trimmed = {**obj, "metadata": metadata}
    try:
        return _version_of(obj), memoryview(orjson.dumps(trimmed)).tobytes()
    except TypeError:
        return _version_of(obj), json.dumps(trimmed, separators=(",", ":"))


def _parse_event(line: bytes, *, action: str) -> Event:
    try:
        event = msgspec.json.decode(line)
        event_type, obj = str(event["type"]), event["object"]
        if not isinstance(obj, dict):
            raise TypeError("the event's object is not an object")
    except (ValueError, KeyError, TypeError) as error:
        raise kube_errors.UnreachableError(f"{action}: garbled event") from error
    if event_type == "ERROR":
        raise kube_errors.UnreachableError(f"{action}: {obj.get('message')}")
    return event_type, obj


async def _stream(kube: Kube, path: str, params: dict[str, str]) -> AsyncGenerator[Event, None]:
    async with kube._wire.stream(path, params, read_timeout=60) as lines:
        async for line in lines:
            yield _parse_event(line, action="watch")


async def _kube_stream(
    kube: Kube, api_version: str, kind: str, version: str
) -> AsyncGenerator[Event, None]:
    """Kube._stream as it was: the kind resolved, then the stream passed through."""
    found = await kube.kinds.resolve(api_version, kind)
    path = kinds.collection_path(found, None)
    params = {"watch": "true", "timeoutSeconds": "300", "resourceVersion": version}
    async with contextlib.aclosing(_stream(kube, path, params)) as events:
        async for event in events:
            yield event


async def follow(kube: Kube, api_version: str, kind: str, since: str) -> AsyncIterator[Event]:
    """The former ``follow`` of an informer's watch, from version ``since``."""
    known: dict[tuple[str, str], Manifest] = {}
    version = since
    while True:
        async with contextlib.aclosing(_kube_stream(kube, api_version, kind, version)) as events:
            async for event_type, obj in events:
                version = _version(obj) or version
                if event_type == "BOOKMARK":
                    continue
                key = _key(obj)
                if event_type == "DELETED":
                    known.pop(key, None)
                    yield event_type, obj
                    continue
                previous = known.get(key)
                if previous is not None and _version(previous) == _version(obj):
                    continue
                known[key] = _metadata_only(obj)
                yield event_type, obj


class FormerInformer:
    """The former informer's event path: each event's object encoded again (without
    ``managedFields``) to be held, and told to the listeners as decoded."""

    def __init__(self, api_version: str, kind: str) -> None:
        self.api_version, self.kind = api_version, kind
        self.objects: dict[tuple[str, str], tuple[int | None, bytes | str]] = {}
        self.listeners: list[asyncio.Queue[Event]] = []

    def store(self, obj: Manifest) -> None:
        key = _key(obj)
        version, text = _compact(obj)
        held = self.objects.get(key)
        if held is None or held[0] is None or version is None or version >= held[0]:
            self.objects[key] = (version, text)

    async def run(self, events: AsyncIterator[Event]) -> None:
        async for event_type, obj in events:
            if event_type == "DELETED":
                self.objects.pop(_key(obj), None)
            else:
                self.store(obj)
            for queue in self.listeners:
                queue.put_nowait((event_type, obj))
