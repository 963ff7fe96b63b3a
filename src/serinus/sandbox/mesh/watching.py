"""Keeping :class:`~serinus.sandbox.mesh.state.ClusterState` equal to the API server's objects.

One task per watched kind lists the kind, hands the list to the state (so objects deleted while
nobody watched disappear too) and follows :meth:`serinus.kube.Kube.watch` from the list's
resourceVersion; the Kube client resumes the stream across disconnects and re-lists after 410 Gone.
An event reaches the state, and a rebuilt routing table, within milliseconds.

The traffic kinds are custom resources, and their CRDs may be installed after the proxy starts
(or removed): a kind no API version of which is served counts as empty, and is looked for again
whenever a CustomResourceDefinition changes (one more watch) and at least every few seconds, so
a TrafficSplit created right after its CRD is routed by at once. Each kind is watched in the first
of its API versions the server serves; all versions of a CRD share one storage, so that sees every
object whatever version it was written in.

:attr:`Watchers.synced` is set once every kind has been listed (or found unserved), which is when
the proxy's routing table first reflects the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from serinus import errors
from serinus.kube import Kube
from serinus.sandbox.mesh.state import ClusterState

logger = logging.getLogger(__name__)

WATCHED: dict[str, tuple[str, ...]] = {
    "Service": ("v1",),
    "Endpoints": ("v1",),
    "Pod": ("v1",),
    "ReplicaSet": ("apps/v1",),
    "TrafficSplit": tuple(f"split.smi-spec.io/v1alpha{n}" for n in (1, 2, 3, 4)),
    "HTTPRoute": ("gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"),
    "HTTPProxy": ("projectcontour.io/v1",),
}
"""Kind -> API versions to try, in order of preference."""

_CRD = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")


class Watchers:
    """The watch tasks feeding one :class:`ClusterState` from one :class:`Kube`."""

    def __init__(
        self, kube: Kube, state: ClusterState, *, recheck: float = 5.0, backoff: float = 1.0
    ) -> None:
        """
        Args:
            kube: the client to list and watch with.
            state: the cache to keep current.
            recheck: seconds between looks for a kind no version of which is served.
            backoff: seconds to wait after an unexpected failure before listing again.
        """
        self._kube = kube
        self._state = state
        self._recheck = recheck
        self._backoff = backoff
        self._crds_changed = asyncio.Event()
        self._pending = set(WATCHED)
        self._tasks: list[asyncio.Task[None]] = []
        self.synced = asyncio.Event()

    def start(self) -> None:
        """Start one task per kind, plus the CRD watch."""
        for kind, versions in WATCHED.items():
            self._tasks.append(asyncio.create_task(self._forever(kind, versions)))
        self._tasks.append(asyncio.create_task(self._watch_crds()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _forever(self, kind: str, versions: tuple[str, ...]) -> None:
        while True:
            try:
                served = await self._follow(kind, versions)
            except errors.SerinusError as error:
                logger.warning("watching %s failed (%s); listing again", kind, error)
                await asyncio.sleep(self._backoff)
                continue
            if not served:
                self._state.replace(kind, [])
                self._listed(kind)
                await self._wait_for_crds()

    async def _follow(self, kind: str, versions: tuple[str, ...]) -> bool:
        """List and watch ``kind`` in its first served version; False when none is served."""
        for api_version in versions:
            try:
                items, version = await self._kube.list_at(api_version, kind)
            except errors.NotFoundError:
                continue
            self._state.replace(kind, items)
            self._listed(kind)
            logger.debug("watching %s %s from resourceVersion %s", api_version, kind, version)
            try:
                await _apply_events(self._kube, self._state, api_version, kind, version)
            except errors.NotFoundError:
                logger.info("%s %s is no longer served", api_version, kind)
                self._kube.kinds.forget(api_version, kind)
                return False
            return True
        return False

    def _listed(self, kind: str) -> None:
        self._pending.discard(kind)
        if not self._pending:
            self.synced.set()

    async def _wait_for_crds(self) -> None:
        self._crds_changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._crds_changed.wait(), self._recheck)

    async def _watch_crds(self) -> None:
        await _retrying(self._follow_crds, "CustomResourceDefinitions", self._backoff)

    async def _follow_crds(self) -> None:
        async for _, _crd in self._kube.watch(*_CRD):
            self._crds_changed.set()


async def _apply_events(
    kube: Kube, state: ClusterState, api_version: str, kind: str, version: str
) -> None:
    async for event_type, obj in kube.watch(api_version, kind, resource_version=version or None):
        obj.setdefault("kind", kind)
        if event_type == "DELETED":
            state.delete(obj)
        else:
            state.apply(obj)


async def _retrying(call: Callable[[], Awaitable[None]], what: str, backoff: float) -> None:
    while True:
        try:
            await call()
        except errors.SerinusError as error:
            logger.warning("watching %s failed (%s); retrying", what, error)
        await asyncio.sleep(backoff)
