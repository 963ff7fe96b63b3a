"""The sync's status where Flux users look for it: a GitRepository, a Kustomization, Events.

The applier keeps two objects in ``flux-system``, both named ``flux-system`` as ``flux
bootstrap`` names them: the ``GitRepository`` (``spec.url`` the repository's ``file://`` URL,
``spec.ref.branch``; ``status.artifact.revision`` the commit last read, ``main@sha1:<commit>``)
and the ``Kustomization`` that applies it (``spec.path: ./``, ``spec.prune: true``,
``spec.interval``; ``status.lastAppliedRevision``, ``lastAttemptedRevision``, the ``Ready``
condition with Flux's reasons and messages, ``Applied revision: main@sha1:...``, and the
inventory). ``kubectl get gitrepositories,kustomizations -A`` prints them as with Flux.

The applier honours what users change on the Kustomization as Flux does: ``spec.suspend: true``
stops syncing, and a new ``reconcile.fluxcd.io/requestedAt`` annotation (what ``flux reconcile``
sets) syncs at once. Events on the Kustomization come from ``kustomize-controller``: the change
set when a sync changed something (reason ``Progressing``), ``Reconciliation finished in 1.2s,
next run in 1m0s`` (``ReconciliationSucceeded``), and failures as Warnings (``BuildFailed``,
``ReconciliationFailed``, ``PruneFailed``).
"""

from __future__ import annotations

import datetime

from serinus.apis.base import Manifest
from serinus.kube import Kube
from serinus.kube.events import EventRecorder, reference
from serinus.sandbox.gitops.apply import MANAGER, Entry
from serinus.sandbox.gitops.repository import Repository

NAME = "flux-system"
NAMESPACE = "flux-system"
OWNER = (NAME, NAMESPACE)
SOURCE = ("source.toolkit.fluxcd.io/v1", "GitRepository")
KUSTOMIZATION = ("kustomize.toolkit.fluxcd.io/v1", "Kustomization")
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"


def go_duration(seconds: float) -> str:
    """A duration as Go prints one: ``1m0s``, ``10m0s``, ``1.234s``, ``850ms``."""
    if seconds < 1:
        return f"{seconds * 1000:.3f}".rstrip("0").rstrip(".") + "ms"
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    if minutes or hours:
        text = f"{minutes}m{text}"
    return f"{hours}h{text}" if hours else text


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FluxObjects:
    """The GitRepository and Kustomization of the sandbox, and the Events on the latter."""

    def __init__(self, kube: Kube, repository: Repository, *, interval: float) -> None:
        self.kube = kube
        self.repository = repository
        self.interval = interval
        self.events = EventRecorder(kube, component=MANAGER)
        self._ready: dict[str, tuple[str, str]] = {}

    async def ensure(self) -> None:
        """Create (or bring up to date) both objects' specs."""
        source: Manifest = {
            "apiVersion": SOURCE[0],
            "kind": SOURCE[1],
            "metadata": {"name": NAME, "namespace": NAMESPACE},
            "spec": {
                "interval": go_duration(self.interval),
                "url": self.repository.url,
                "ref": {"branch": self.repository.branch},
            },
        }
        kustomization: Manifest = {
            "apiVersion": KUSTOMIZATION[0],
            "kind": KUSTOMIZATION[1],
            "metadata": {"name": NAME, "namespace": NAMESPACE},
            "spec": {
                "interval": go_duration(self.interval),
                "path": "./",
                "prune": True,
                "sourceRef": {"kind": SOURCE[1], "name": NAME},
            },
        }
        for manifest in (source, kustomization):
            await self.kube.apply(manifest, field_manager="serinus-sandbox")

    async def kustomization(self) -> Manifest | None:
        return await self.kube.get(*KUSTOMIZATION, NAME, NAMESPACE)

    async def fetched(self, commit: str) -> None:
        """The GitRepository has read ``commit``."""
        revision = self.repository.revision(commit)
        status = {
            "artifact": {"revision": revision, "lastUpdateTime": _now()},
            "conditions": [
                self._condition(
                    "GitRepository", True, "Succeeded", f"stored artifact for revision '{revision}'"
                )
            ],
        }
        await self.kube.patch_status(*SOURCE, NAME, NAMESPACE, {"status": status})

    async def applied(
        self, commit: str, inventory: list[Entry], *, took: float, handled: str | None
    ) -> None:
        revision = self.repository.revision(commit)
        status: Manifest = {
            "lastAppliedRevision": revision,
            "lastAttemptedRevision": revision,
            "inventory": {"entries": [entry.stored() for entry in inventory]},
            "conditions": [
                self._condition(
                    "Kustomization",
                    True,
                    "ReconciliationSucceeded",
                    f"Applied revision: {revision}",
                )
            ],
        }
        if handled is not None:
            status["lastHandledReconcileAt"] = handled
        await self.kube.patch_status(*KUSTOMIZATION, NAME, NAMESPACE, {"status": status})
        message = (
            f"Reconciliation finished in {go_duration(took)}, "
            f"next run in {go_duration(self.interval)}"
        )
        await self.event("ReconciliationSucceeded", message)

    async def failed(self, commit: str, reason: str, message: str, *, handled: str | None) -> None:
        status: Manifest = {
            "lastAttemptedRevision": self.repository.revision(commit),
            "conditions": [self._condition("Kustomization", False, reason, message)],
        }
        if handled is not None:
            status["lastHandledReconcileAt"] = handled
        await self.kube.patch_status(*KUSTOMIZATION, NAME, NAMESPACE, {"status": status})
        await self.event(reason, message, warning=True)

    async def event(self, reason: str, message: str, *, warning: bool = False) -> None:
        involved = reference(
            {
                "apiVersion": KUSTOMIZATION[0],
                "kind": KUSTOMIZATION[1],
                "metadata": await self._meta(),
            }
        )
        involved.pop("resourceVersion", None)
        await self.events.record(
            involved, event_type="Warning" if warning else "Normal", reason=reason, message=message
        )

    async def _meta(self) -> Manifest:
        found = await self.kustomization()
        return (found or {}).get("metadata") or {"name": NAME, "namespace": NAMESPACE}

    def _condition(self, kind: str, ok: bool, reason: str, message: str) -> Manifest:
        status = "True" if ok else "False"
        previous = self._ready.get(kind)
        if previous is None or previous[0] != status:
            self._ready[kind] = (status, _now())
        return {
            "type": "Ready",
            "status": status,
            "reason": reason,
            "message": message,
            "lastTransitionTime": self._ready[kind][1],
        }
