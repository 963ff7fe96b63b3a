"""Who is alive among the replicas of a group: one ``coordination.k8s.io/v1`` Lease per replica.

Used by ``--shards auto``. Every ``retry_period`` a replica renews its own Lease (labelled with
the group, ``holderIdentity`` its identity) and lists the group's Leases. A Lease is live while
its record changed less than ``lease_duration`` ago *as measured on this replica's clock* from
when it first saw that record (client-go's observed time, so clock skew between machines does not
matter); a Lease deleted on a graceful stop is gone at the next list. A replica whose own renewal
has not succeeded for ``renew_deadline`` counts no member at all, itself included, so it stops
acting before anyone else may count it dead (``renew_deadline < lease_duration``).

Each Lease also carries the replica's *published view* (annotation ``serinus.io/view``): the
digest of the member list it acts on. :meth:`Membership.converged` says whether every live member
has published the same view as this replica's, which is how the operator hands Canaries over
without two replicas ever acting on one (``serinus.operator.shards``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time

from serinus import errors
from serinus.apis.base import Manifest
from serinus.kube import lease, ratelimit
from serinus.kube.client import Kube

logger = logging.getLogger(__name__)

API_VERSION = lease.API_VERSION
GROUP_LABEL = "serinus.io/shard-group"
VIEW = "serinus.io/view"


def digest(members: tuple[str, ...]) -> str:
    """A short name for a member list."""
    return hashlib.sha256("\n".join(members).encode()).hexdigest()[:16]


def lease_name(group: str, identity: str) -> str:
    """A DNS-1123 name for a replica's Lease (lower case, ``-`` for anything else, <= 63)."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", f"{group}-{identity}".lower()).strip("-")
    suffix = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return f"{cleaned[:50].strip('-')}-{suffix}"


class Membership:
    """This replica's Lease in ``group`` and the live members it sees (module docstring)."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        group: str,
        identity: str,
        *,
        lease_duration: float = 8.0,
        renew_deadline: float = 6.0,
        retry_period: float = 1.0,
    ) -> None:
        lease.check_timings(identity, lease_duration, renew_deadline, retry_period)
        self.kube, self.namespace, self.group, self.identity = kube, namespace, group, identity
        self.lease_duration, self.renew_deadline = lease_duration, renew_deadline
        self.retry_period = retry_period
        self.name = lease_name(group, identity)
        self.view = ""
        self.changed = asyncio.Event()
        self._observed: dict[str, tuple[str, float, str]] = {}
        """identity -> (record, first seen on our clock, published view)."""
        self._renewed = -float("inf")
        self._own: Manifest | None = None

    @property
    def members(self) -> tuple[str, ...]:
        """The live members, sorted; none while this replica's own Lease is not renewed."""
        now = time.monotonic()
        if now - self._renewed >= self.renew_deadline:
            return ()
        live = {
            who for who, (_, seen, _) in self._observed.items() if now - seen < self.lease_duration
        }
        return tuple(sorted(live | {self.identity}))

    def converged(self, members: tuple[str, ...]) -> bool:
        """Whether every one of ``members`` publishes the view of exactly ``members``."""
        wanted = digest(members)
        for who in members:
            published = (
                self.view if who == self.identity else self._observed.get(who, ("", 0, ""))[2]
            )
            if published != wanted:
                return False
        return bool(members)

    def publish(self, members: tuple[str, ...]) -> None:
        """Say (at the next renewal) that this replica acts on the view of ``members``."""
        self.view = digest(members)

    async def run(self) -> None:
        """Renew and look, every ``retry_period``, until cancelled (then leave the group); its
        requests go first (:data:`~serinus.kube.ratelimit.CRITICAL`)."""
        with ratelimit.priority(ratelimit.CRITICAL):
            await self._run()

    async def _run(self) -> None:
        try:
            while True:
                before = self.members
                with contextlib.suppress(errors.SerinusError):
                    await self._renew()
                try:
                    await self._look()
                except errors.SerinusError as error:
                    logger.warning("could not list the replicas of %s: %s", self.group, error)
                if self.members != before:
                    logger.info("replicas of %s: %s", self.group, ", ".join(self.members) or "-")
                    self.changed.set()
                await asyncio.sleep(self.retry_period)
        finally:
            with contextlib.suppress(errors.SerinusError, asyncio.CancelledError):
                await asyncio.shield(
                    self.kube.delete(API_VERSION, "Lease", self.name, self.namespace)
                )

    async def _renew(self) -> None:
        body = self._own or {
            "apiVersion": API_VERSION,
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
        }
        metadata = {
            **body["metadata"],
            "labels": {GROUP_LABEL: self.group},
            "annotations": {VIEW: self.view},
        }
        spec = lease.renewed(
            body.get("spec") or {}, self.identity, self.lease_duration, lease.now()
        )
        wanted = {**body, "metadata": metadata, "spec": spec}
        try:
            if self._own is None:
                self._own = await self.kube.create(wanted)
            else:
                self._own = await self.kube.replace(wanted)
        except (errors.ConflictError, errors.NotFoundError):
            self._own = await self.kube.get(API_VERSION, "Lease", self.name, self.namespace)
            raise
        self._renewed = time.monotonic()

    async def _look(self) -> None:
        leases = await self.kube.list(
            API_VERSION, "Lease", self.namespace, {GROUP_LABEL: self.group}
        )
        now = time.monotonic()
        seen: dict[str, tuple[str, float, str]] = {}
        for item in leases:
            spec = item.get("spec") or {}
            who = str(spec.get("holderIdentity") or "")
            if not who or who == self.identity:
                continue
            record = f"{spec.get('renewTime')}"
            view = str(((item.get("metadata") or {}).get("annotations") or {}).get(VIEW) or "")
            previous = self._observed.get(who)
            first_seen = previous[1] if previous is not None and previous[0] == record else now
            seen[who] = (record, first_seen, view)
        self._observed = seen
