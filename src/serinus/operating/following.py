"""Following one Canary as it changes: every version the API server stores, and a beat between.

``serinus status -w`` and ``--wait`` show the phases a run passes through. Reading the Canary once
a second misses any phase shorter than that (Promoting, Finalising and Succeeded can all pass
within one tick of the operator), and a pipeline's log then skips the step it most wants to see.
A watch from the version first read delivers every version the API server stored, in order, so
:func:`versions` yields each of them; when nothing changes it yields the last one again every
``beat`` seconds, so that a view's clocks (time in step, time left) move and a caller's deadline
is checked.

Only this Canary's versions are yielded; its deletion ends the iteration with NotFoundError. A
watch that drops is resumed from the last version seen (``Kube.watch``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from serinus import errors
from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.kube.client import Kube
from serinus.kube.status import API_VERSION, KIND, canary_from

_DELETED = "DELETED"


async def versions(kube: Kube, namespace: str, name: str, *, beat: float) -> AsyncIterator[Canary]:
    """The Canary now, then each new version, and the last again after ``beat`` quiet seconds."""
    manifest = await kube.get(API_VERSION, KIND, name, namespace)
    if manifest is None:
        raise _gone(namespace, name)
    last = canary_from(manifest)
    yield last
    changes: asyncio.Queue[tuple[str, Manifest] | BaseException] = asyncio.Queue()
    pump = asyncio.create_task(_pump(kube, namespace, name, _version(manifest), changes))
    try:
        while True:
            try:
                change = await asyncio.wait_for(changes.get(), beat)
            except TimeoutError:
                yield last
                continue
            if isinstance(change, BaseException):
                raise change
            event_type, obj = change
            if event_type == _DELETED:
                raise _gone(namespace, name)
            last = canary_from(obj)
            yield last
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump


async def _pump(
    kube: Kube,
    namespace: str,
    name: str,
    version: str | None,
    into: asyncio.Queue[tuple[str, Manifest] | BaseException],
) -> None:
    """This Canary's watch events into ``into``, in order; an error that ends the watch too."""
    try:
        async for event_type, obj in kube.watch(API_VERSION, KIND, namespace, version):
            if (obj.get("metadata") or {}).get("name") == name:
                into.put_nowait((event_type, obj))
    except errors.SerinusError as error:
        into.put_nowait(error)


def _version(manifest: Manifest) -> str | None:
    version = (manifest.get("metadata") or {}).get("resourceVersion")
    return str(version) if version else None


def _gone(namespace: str, name: str) -> errors.NotFoundError:
    return errors.NotFoundError(f'canaries.flagger.app "{name}" not found in {namespace}')
