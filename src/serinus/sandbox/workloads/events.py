"""The Events the kubelet and the scheduler record about pods, as ``kubectl describe pod`` shows.

The reasons and the shapes of the messages are the kubelet's (``pkg/kubelet/events``):

==========  =======  ==========================================================================
reason      type     message
==========  =======  ==========================================================================
Scheduled   Normal   ``Successfully assigned prod/podinfo-7d9f8-x2x4k to sandbox`` (from
                     ``default-scheduler``)
Pulling     Normal   ``Pulling image "stefanprodan/podinfo:2.1.1"``
Pulled      Normal   ``Successfully pulled image "..." in 3ms (3ms including waiting)``, or
                     ``Container image "..." already present on machine``
Failed      Warning  ``Failed to pull image "...": ...``, ``Error: ErrImagePull``,
                     ``Error: configmap "settings" not found``
Created     Normal   ``Created container: podinfo``
Started     Normal   ``Started container podinfo``
Killing     Normal   ``Stopping container podinfo``, ``Container podinfo failed liveness probe,
                     will be restarted``
Unhealthy   Warning  ``Readiness probe failed: HTTP probe failed with statuscode: 503``
BackOff     Warning  ``Back-off restarting failed container podinfo in pod
                     podinfo-7d9f8-x2x4k_prod(<uid>)``
==========  =======  ==========================================================================

An Event about a container names it in ``involvedObject.fieldPath`` (``spec.containers{podinfo}``,
``spec.initContainers{migrate}``). Repeats are counted on the first Event (client-go's
aggregation, :class:`serinus.kube.events.EventRecorder`), so a probe failing every second is one
Event with a growing count ("x12 over 12s" in ``kubectl describe``).

Recording never holds a container up: :meth:`PodEvents.emit` queues the Event and a background
task writes it; while the API server is away the queue keeps the latest :data:`QUEUED` Events and
each write is tried a few times, then dropped, as client-go's broadcaster does.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging

from serinus import errors
from serinus.apis.base import Manifest
from serinus.kube import Kube
from serinus.kube.events import EventRecorder, reference

logger = logging.getLogger(__name__)

QUEUED = 1000
ATTEMPTS = 3
KUBELET = "kubelet"
SCHEDULER = "default-scheduler"


@dataclasses.dataclass(frozen=True)
class _Pending:
    scheduler: bool
    involved: Manifest
    event_type: str
    reason: str
    message: str


class PodEvents:
    """Queues and writes the node's Events (kubelet's and scheduler's)."""

    def __init__(self, kube: Kube, *, node: str) -> None:
        self.kubelet = EventRecorder(kube, component=KUBELET, host=node)
        self.scheduler = EventRecorder(kube, component=SCHEDULER)
        self.node = node
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(maxsize=QUEUED)
        self._task: asyncio.Task[None] | None = None

    def emit(
        self,
        pod: Manifest,
        reason: str,
        message: str,
        *,
        warning: bool = False,
        field_path: str = "",
        scheduler: bool = False,
    ) -> None:
        """Queue an Event about ``pod`` (or one of its containers, by ``field_path``)."""
        involved = reference({**pod, "apiVersion": "v1", "kind": "Pod"}, field_path=field_path)
        involved.pop("resourceVersion", None)
        event_type = "Warning" if warning else "Normal"
        if self._queue.full():
            self._queue.get_nowait()  # the oldest goes
        self._queue.put_nowait(_Pending(scheduler, involved, event_type, reason, message))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="kubelet events")

    async def _drain(self) -> None:
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            recorder = self.scheduler if pending.scheduler else self.kubelet
            for attempt in range(ATTEMPTS):
                try:
                    await recorder.record(
                        pending.involved,
                        event_type=pending.event_type,
                        reason=pending.reason,
                        message=pending.message,
                    )
                    break
                except errors.SerinusError as error:
                    if attempt == ATTEMPTS - 1 or not error.retriable:
                        logger.debug("event %s dropped: %s", pending.reason, error)
                        break
                    await asyncio.sleep(1.0 * (attempt + 1))

    async def close(self) -> None:
        """Write what is queued (briefly), then stop."""
        if self._task is not None and not self._task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), timeout=2)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def container_path(name: str, *, init: bool = False) -> str:
    """The ``fieldPath`` naming a container of the pod."""
    return f"spec.{'initContainers' if init else 'containers'}{{{name}}}"
