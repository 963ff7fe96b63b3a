"""The sandbox's GitOps applier: every commit on the branch, applied, pruned and reported.

:class:`Applier` plays Flux's source-controller and kustomize-controller for one repository.
It looks at the branch every :data:`POLL` seconds (as quickly as a Flux webhook receiver would
make Flux look) and syncs when there is a new commit, when the Kustomization's ``interval`` has
passed since the last sync (Flux's drift correction: whatever changed a field the repository
sets is overwritten), or when ``flux reconcile`` asked for it (the ``requestedAt`` annotation);
never while the Kustomization is suspended. A sync builds the commit (:mod:`build`), applies it
(:mod:`apply`), prunes what the commit no longer has, and reports on the GitRepository and the
Kustomization (:mod:`objects`). A failed sync leaves the cluster as the failing step left it and
is tried again at the next commit or interval, as Flux does.

The inventory lives in the Kustomization's status, so an applier restarted by the sandbox's
supervisor prunes against what its predecessor applied.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import pathlib
import tempfile
import time

from serinus.apis.base import Manifest, format_duration
from serinus.errors import SerinusError
from serinus.kube import Kube
from serinus.sandbox.gitops import apply, build, objects
from serinus.sandbox.gitops.repository import GitError, Repository

logger = logging.getLogger(__name__)

POLL = 1.0
"""Seconds between two looks at the branch and the Kustomization."""
INTERVAL = 60.0
"""The default ``spec.interval``: how often the repository is applied even without a commit."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """What ``serinus sandbox up --gitops DIR`` asks for."""

    repository: pathlib.Path
    interval: float = INTERVAL

    def words(self) -> list[str]:
        """The options that say the same on a command line."""
        interval = format_duration(self.interval)
        return ["--gitops", str(self.repository), "--gitops-interval", interval]


class Applier:
    def __init__(
        self,
        kube: Kube,
        repository: Repository,
        *,
        interval: float = INTERVAL,
        poll: float = POLL,
        scratch: pathlib.Path | None = None,
    ) -> None:
        self.kube = kube
        self.repository = repository
        self.interval = interval
        self.poll = poll
        self.scratch = scratch
        self.flux = objects.FluxObjects(kube, repository, interval=interval)
        self._synced: tuple[str, float] | None = None
        self._handled: str | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Sync until ``stop`` is set."""
        await self.flux.ensure()
        logger.info("following %s, branch %s", self.repository.path, self.repository.branch)
        while not stop.is_set():
            try:
                await self.check()
            except SerinusError as error:  # the API server away, say: look again soon
                logger.warning("could not check for changes: %s", error)
            waiting = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiting}, timeout=self.poll)
            waiting.cancel()

    async def check(self) -> None:
        """Sync now if a commit, the interval or a reconcile request says so."""
        commit = await self.repository.head()
        found = await self.flux.kustomization()
        if commit is None or found is None:
            return
        if (found.get("spec") or {}).get("suspend"):
            return
        annotations = (found.get("metadata") or {}).get("annotations") or {}
        requested = annotations.get(objects.REQUESTED_AT)
        handled = self._handled or (found.get("status") or {}).get("lastHandledReconcileAt")
        due = (
            self._synced is None
            or self._synced[0] != commit
            or time.monotonic() - self._synced[1] >= self.interval
            or (requested is not None and requested != handled)
        )
        if due:
            await self.sync(commit, found, requested)

    async def sync(self, commit: str, kustomization: Manifest, requested: str | None) -> None:
        began = time.monotonic()
        self._synced, self._handled = (commit, began), requested
        subject = await self.repository.subject(commit)
        logger.info("syncing %s (%s)", self.repository.revision(commit), subject)
        await self.flux.fetched(commit)
        with tempfile.TemporaryDirectory(prefix="gitops-", dir=self.scratch) as name:
            folder = pathlib.Path(name)
            try:
                await self.repository.export(commit, folder)
                built = await build.build(folder)
            except (build.BuildError, GitError) as error:
                return await self._failed(commit, "BuildFailed", str(error), requested)
        previous = [
            apply.Entry.parse(entry)
            for entry in ((kustomization.get("status") or {}).get("inventory") or {}).get("entries")
            or []
        ]
        try:
            changes = await apply.apply_all(self.kube, built, objects.OWNER)
        except apply.ApplyError as error:
            return await self._failed(commit, "ReconciliationFailed", str(error), requested)
        kept = {change.entry.id for change in changes}
        try:
            pruned = await apply.prune(self.kube, previous, kept, objects.OWNER)
        except SerinusError as error:
            return await self._failed(commit, "PruneFailed", f"prune failed: {error}", requested)
        changed = [str(change) for change in changes if change.action != "unchanged"]
        if changed:  # Flux's events: the apply's change set, then the prune's
            logger.info("server-side apply completed: %s", "; ".join(changed))
            await self.flux.event("Progressing", "\n".join(changed))
        if pruned:
            logger.info("garbage collection completed: %s", "; ".join(map(str, pruned)))
            await self.flux.event("Progressing", "\n".join(map(str, pruned)))
        inventory = [change.entry for change in changes]
        took = time.monotonic() - began
        await self.flux.applied(commit, inventory, took=took, handled=requested)

    async def _failed(self, commit: str, reason: str, message: str, requested: str | None) -> None:
        logger.warning("%s: %s", reason, message)
        await self.flux.failed(commit, reason, message, handled=requested)
