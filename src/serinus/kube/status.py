"""``KubeStatusStore``: Canaries read from, and their status written to, the Kubernetes API.

The operator's implementation of :class:`serinus.ports.StatusStore`. Canaries are always read at
``flagger.app/v1beta1``; one created as ``v1alpha3`` (the seed's) is the same stored object, which
the API server serves at both versions, and :func:`serinus.apis.documents.parse_canary` reads
both shapes (``analysis`` and ``canaryAnalysis``).

Writes go through the ``status`` subresource with the resourceVersion just read, so they can
never change the spec, and a concurrent change (a user editing the Canary, another writer) is a
409 Conflict that :func:`serinus.kube.retry.retry_on_conflict` answers by reading again and
re-applying the status, as Flagger's status updates do. The status is written whole, camelCase,
without empty fields (``CanaryStatus.dump()``): it is serinus's own record of the run, and a
field that is no longer set must disappear rather than linger from an earlier write.

Every write is :func:`serinus.apis.bounded.bounded` first (messages cut and redacted, at most 50
metrics listed), so its size does not grow with the Canary's spec. Should the API server still
refuse it as too large or invalid (413, 422), the store writes :func:`~serinus.apis.bounded.minimal`
instead (phase and counters, the reason as the message), so the run keeps moving and can fail or
roll back. A Canary too malformed to read is reported with at most :data:`PROBLEM_LIMIT` of its
problems.
"""

from __future__ import annotations

import logging

from serinus import errors
from serinus.apis.base import Manifest
from serinus.apis.bounded import bounded, minimal
from serinus.apis.canary import Canary
from serinus.apis.documents import parse_canary
from serinus.apis.specs import SpecCache
from serinus.apis.status import CanaryStatus
from serinus.kube.client import Kube
from serinus.kube.retry import retry_on_conflict
from serinus.redaction import clean

logger = logging.getLogger(__name__)

API_VERSION = "flagger.app/v1beta1"
KIND = "Canary"
PROBLEM_LIMIT = 10
"""Problems of an invalid Canary named in its error; the others are counted."""
REASON_LIMIT = 300


def canary_from(manifest: Manifest, specs: SpecCache | None = None) -> Canary:
    """The Canary model of a stored object; InvalidCanaryError listing every problem.
    ``specs`` reuses the spec parsed at an earlier read when it is unchanged."""
    canary, problems = parse_canary(manifest) if specs is None else specs.parse(manifest)
    if canary is None:
        metadata = manifest.get("metadata") or {}
        where = f"{metadata.get('namespace', '')}/{metadata.get('name', '')}"
        listed = "; ".join(str(problem) for problem in problems[:PROBLEM_LIMIT])
        if len(problems) > PROBLEM_LIMIT:
            listed += f"; and {len(problems) - PROBLEM_LIMIT:,} more problems"
        raise errors.InvalidCanaryError(f"Canary {where} is invalid: {listed}")
    return canary


class KubeStatusStore:
    """Reads Canaries and writes their status through the API (a ``StatusStore`` port)."""

    def __init__(
        self, kube: Kube, *, conflict_attempts: int = 5, specs_held: int | None = None
    ) -> None:
        """``specs_held``: the most parsed specs kept (:class:`~serinus.apis.specs.SpecCache`);
        None keeps every Canary's."""
        self._kube = kube
        self._attempts = conflict_attempts
        self.specs = SpecCache(specs_held)
        """The Canaries' specs as last parsed (read at every tick, edited rarely)."""

    def forget(self, namespace: str, name: str) -> None:
        """The Canary is gone: its parsed spec is dropped."""
        self.specs.forget(namespace, name)

    async def get(self, namespace: str, name: str) -> Canary | None:
        """The Canary as stored now, None when it is gone, InvalidCanaryError when malformed."""
        manifest = await self._kube.get(API_VERSION, KIND, name, namespace)
        return None if manifest is None else canary_from(manifest, self.specs)

    async def write_status(self, canary: Canary, status: CanaryStatus) -> Canary:
        """Replace the status (re-reading and retrying on conflict); the Canary as stored.

        The status is bounded first; one the API server refuses as too large or invalid is
        written again as the run's phase and counters with the reason as its message.
        """
        try:
            return await self._write(canary, bounded(status))
        except errors.InvalidError as error:
            reason = clean(str(error), REASON_LIMIT)
            logger.warning(
                "status of Canary %s/%s refused, writing its phase and counters only: %s",
                canary.namespace,
                canary.name,
                reason,
            )
            return await self._write(
                canary, minimal(status, f"the status could not be written whole: {reason}")
            )

    async def _write(self, canary: Canary, status: CanaryStatus) -> Canary:
        namespace, name = canary.namespace, canary.name
        wanted = status.dump()
        last_read: dict[str, Manifest] = {}

        async def fetch() -> Manifest:
            current = await self._kube.get(API_VERSION, KIND, name, namespace)
            if current is None:
                raise errors.NotFoundError(
                    f"write status of Canary {namespace}/{name}: the Canary is gone"
                )
            last_read["canary"] = current
            return current

        def mutate(current: Manifest) -> Manifest:
            return {**current, "status": wanted}

        async def write(updated: Manifest) -> Manifest:
            if last_read["canary"].get("status") == wanted:
                return last_read["canary"]  # nothing changes: no new version, no watch event
            return await self._kube.replace_status(updated)

        stored = await retry_on_conflict(fetch, mutate, write, attempts=self._attempts)
        logger.debug("status of Canary %s/%s written: %s", namespace, name, wanted.get("phase"))
        return canary_from(stored, self.specs)
