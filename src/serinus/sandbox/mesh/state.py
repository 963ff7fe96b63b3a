"""What the mesh proxy knows of the cluster: the last seen objects of the six kinds it routes by.

:class:`ClusterState` is a plain in-memory cache of manifests, keyed by kind and
(namespace, name). The watchers (:mod:`serinus.sandbox.mesh.watching`) feed it from the API server;
tests and other embedders may feed it directly (``state.apply(manifest)``), which is how the
proxy core is exercised without a cluster. Every change calls ``on_change``, which the proxy uses
to schedule a routing-table rebuild; the cache itself never builds tables, so a burst of events
costs one rebuild.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from serinus.apis.base import Manifest
from serinus.sandbox.mesh.objects import Key, key_of

KINDS = ("Service", "Endpoints", "Pod", "ReplicaSet", "TrafficSplit", "HTTPRoute", "HTTPProxy")
"""The kinds the routing table reads (any API version of each)."""


class ClusterState:
    """The latest manifest of every watched object, by kind and (namespace, name)."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self._objects: dict[str, dict[Key, Manifest]] = {kind: {} for kind in KINDS}
        self._on_change = on_change
        self.version = 0
        """Bumped on every change; a table built at version N is current while it stays N."""

    def set_listener(self, on_change: Callable[[], None] | None) -> None:
        """Call ``on_change`` after every change from now on (None: nobody)."""
        self._on_change = on_change

    def objects(self, kind: str) -> Mapping[Key, Manifest]:
        """The objects of ``kind`` (read-only view; do not keep it across changes)."""
        return self._objects[_known(kind)]

    def apply(self, manifest: Manifest) -> None:
        """Record ``manifest`` as the current state of its object (added or modified)."""
        kind = _known(str(manifest.get("kind")))
        self._objects[kind][key_of(manifest)] = manifest
        self._changed()

    def delete(self, manifest: Manifest) -> None:
        """Forget the object ``manifest`` names (only kind, namespace and name are read)."""
        kind = _known(str(manifest.get("kind")))
        if self._objects[kind].pop(key_of(manifest), None) is not None:
            self._changed()

    def replace(self, kind: str, manifests: Iterable[Manifest]) -> None:
        """Make ``manifests`` the whole set of ``kind`` (after a list, or a watch restart)."""
        fresh = {key_of(manifest): manifest for manifest in manifests}
        if fresh != self._objects[_known(kind)]:
            self._objects[kind] = fresh
            self._changed()

    def _changed(self) -> None:
        self.version += 1
        if self._on_change is not None:
            self._on_change()


def _known(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    return kind
