"""Leader election on a ``coordination.k8s.io/v1`` Lease, with client-go's rules.

Several operator replicas may run for availability; only the leader may tick Canaries, or two
replicas would shift the same traffic twice. :class:`LeaderElector` follows client-go's
``leaderelection`` package, so serinus replicas behave like Flagger's (and any controller's):

* **Acquire** when the Lease is missing, has no holder, or its record has not changed for
  ``lease_duration`` *as measured on this replica's own clock* from when it first saw that
  record (client-go's observed time), so clock skew between machines does not matter.
* **Renew** every ``retry_period``; when no renewal succeeds for ``renew_deadline``, or the Lease
  shows another holder, **step down**. ``renew_deadline < lease_duration`` is what makes the
  step-down happen before anyone else may take over.
* Every write carries the resourceVersion just read, so of two replicas racing for the same
  Lease one gets 409 Conflict and stays a follower: two electors never both believe they lead.
* **Release** on a graceful stop: the holder is cleared, so a waiting replica takes over at its
  next try instead of after ``lease_duration`` (``release_on_cancel``, as in client-go, also
  releases when the task is cancelled).

:attr:`LeaderElector.is_leader` is also bounded in time: it turns False once the last successful
renewal is ``renew_deadline`` old, even if the renewing task has not run yet. Use it as::

    async with elector.leading():    # waits until this replica leads
        await operator.run()         # cancelled, then LeadershipLostError, if leadership is lost

or with callbacks: ``await elector.run(on_started_leading, on_stopped_leading=...)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from serinus import errors
from serinus.apis.base import Manifest
from serinus.kube import lease, ratelimit
from serinus.kube.client import Kube
from serinus.kube.errors import LeadershipLostError

logger = logging.getLogger(__name__)

API_VERSION = lease.API_VERSION
KIND = lease.KIND


class LeaderElector:
    """Elects one leader among replicas sharing a Lease (see the module docstring)."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        name: str,
        identity: str,
        *,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        release_on_cancel: bool = True,
        on_new_leader: Callable[[str], None] | None = None,
    ) -> None:
        lease.check_timings(identity, lease_duration, renew_deadline, retry_period)
        self._kube = kube
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.release_on_cancel = release_on_cancel
        self._on_new_leader = on_new_leader
        self._observed: Manifest | None = None
        self._observed_at = 0.0
        self._renewed_at: float | None = None

    @property
    def is_leader(self) -> bool:
        """Whether this replica leads now (False once a renewal is overdue)."""
        renewed = self._renewed_at
        return renewed is not None and time.monotonic() - renewed < self.renew_deadline

    @property
    def leader(self) -> str | None:
        """The holder last seen on the Lease, if any."""
        if self._observed is None:
            return None
        return (self._observed.get("spec") or {}).get("holderIdentity") or None

    async def try_acquire_or_renew(self) -> bool:
        """One attempt to take or keep the Lease; True when this replica holds it now."""
        started = time.monotonic()
        try:
            held = await self._attempt(started)
        except errors.KubeError as error:
            logger.warning("Lease %s/%s: attempt failed: %s", self.namespace, self.name, error)
            return False
        if held:
            self._renewed_at = started
        elif self.leader != self.identity:
            self._renewed_at = None  # someone else holds it: stop believing at once
        return held

    async def acquire(self) -> None:
        """Wait until this replica holds the Lease."""
        logger.info("Lease %s/%s: %s is trying to lead", self.namespace, self.name, self.identity)
        while True:
            if await self.try_acquire_or_renew():
                break
            await asyncio.sleep(self._until_next_try())
        logger.info("Lease %s/%s: %s is leading", self.namespace, self.name, self.identity)

    async def release(self) -> None:
        """Give the Lease up (clear its holder) if this replica holds it."""
        was_leading = self._renewed_at is not None
        self._renewed_at = None  # stop believing before anyone else can take over
        if not was_leading or self._observed is None:
            return
        spec = dict(self._observed.get("spec") or {})
        if spec.get("holderIdentity") != self.identity:
            return
        now = lease.now()
        spec.update(holderIdentity="", leaseDurationSeconds=1, acquireTime=now, renewTime=now)
        try:
            self._see(await self._kube.replace({**self._observed, "spec": spec}), time.monotonic())
        except errors.KubeError as error:  # changed meanwhile, or unreachable: it will expire
            logger.warning("Lease %s/%s: release failed: %s", self.namespace, self.name, error)
            return
        logger.info("Lease %s/%s: %s released it", self.namespace, self.name, self.identity)

    @contextlib.asynccontextmanager
    async def leading(self) -> AsyncIterator[None]:
        """Lead for the duration of the block: wait to acquire, renew meanwhile, release after.

        When leadership is lost the block is cancelled and LeadershipLostError raised instead.
        """
        await self.acquire()
        host = asyncio.current_task()
        if host is None:  # pragma: no cover - always inside a task under asyncio
            raise RuntimeError("leading() must run inside an asyncio task")
        lost = False

        def step_down() -> None:
            nonlocal lost
            lost = True
            host.cancel(msg="leadership lost")

        with ratelimit.priority(ratelimit.CRITICAL):  # a renewal never waits behind the ticks
            renewer = asyncio.create_task(self._renew(step_down), name=f"lease {self.name} renewal")
        keep_lease = False  # a kill (cancel without release_on_cancel) leaves it to expire
        try:
            yield
        except asyncio.CancelledError:
            if lost and host.uncancel() == 0:
                raise LeadershipLostError(self._lost_message()) from None
            keep_lease = not self.release_on_cancel
            raise
        else:
            if lost:  # the block swallowed the cancellation: still not leading any more
                host.uncancel()
                raise LeadershipLostError(self._lost_message())
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            if not lost and not keep_lease:
                await self.release()
            else:
                self._renewed_at = None

    async def run(
        self,
        on_started_leading: Callable[[], Awaitable[None]],
        *,
        on_stopped_leading: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Wait to lead, then run ``on_started_leading`` while leading (callback style).

        ``on_stopped_leading`` runs when leading ends, whatever the reason; LeadershipLostError
        propagates when it was lost.
        """
        led = False
        try:
            async with self.leading():
                led = True
                await on_started_leading()
        finally:
            if led and on_stopped_leading is not None:
                await on_stopped_leading()

    # internals

    async def _attempt(self, started: float) -> bool:
        now = lease.now()
        found = await self._kube.get(API_VERSION, KIND, self.name, self.namespace)
        if found is None:
            try:
                created = await self._kube.create(self._new_lease(now))
            except errors.ConflictError:  # another replica created it first
                return False
            self._see(created, started)
            return True
        self._see(found, time.monotonic())
        spec = found.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        if holder and holder != self.identity and not self._expired():
            return False
        renewed = lease.renewed(spec, self.identity, self.lease_duration, now)
        if holder != self.identity:
            renewed["acquireTime"] = now
            renewed["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        try:
            updated = await self._kube.replace({**found, "spec": renewed})
        except errors.ConflictError:  # another replica wrote first
            return False
        self._see(updated, started)
        return True

    def _new_lease(self, now: str) -> Manifest:
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": lease.renewed(
                {"acquireTime": now, "leaseTransitions": 0}, self.identity, self.lease_duration, now
            ),
        }

    def _see(self, found: Manifest, at: float) -> None:
        """Note the Lease as read; its record's age counts from when it last changed."""
        previous = self._observed
        old_spec = (previous or {}).get("spec")
        self._observed = found
        if previous is None or old_spec != found.get("spec"):
            self._observed_at = at
            holder = self.leader
            old_holder = (old_spec or {}).get("holderIdentity") or None
            if holder and holder != old_holder and self._on_new_leader is not None:
                self._on_new_leader(holder)

    def _expired(self) -> bool:
        return time.monotonic() >= self._observed_at + self.lease_duration

    def _until_next_try(self) -> float:
        """A follower's pause: retry_period, or less when the holder's lease expires sooner, so
        that a dead leader is replaced when its lease expires rather than up to one retry_period
        later (the expiry itself is still measured from when this replica saw the record)."""
        expires_in = self._observed_at + self.lease_duration - time.monotonic()
        if self.leader and self.leader != self.identity and 0 < expires_in < self.retry_period:
            return expires_in
        return self.retry_period

    async def _renew(self, step_down: Callable[[], None]) -> None:
        """Renew every retry_period; call ``step_down`` when renew_deadline passes without one."""
        while True:
            await asyncio.sleep(self.retry_period)
            if not await self._renew_once():
                logger.warning(
                    "Lease %s/%s: %s lost leadership", self.namespace, self.name, self.identity
                )
                self._renewed_at = None
                step_down()
                return

    async def _renew_once(self) -> bool:
        """Retry renewing until it succeeds (True) or renew_deadline passes (False)."""
        while True:
            renewed = self._renewed_at
            if renewed is None:
                return False
            left = renewed + self.renew_deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                async with asyncio.timeout(left):
                    if await self.try_acquire_or_renew():
                        return True
            except TimeoutError:
                return False
            await asyncio.sleep(min(self.retry_period, max(left, 0.0)))

    def _lost_message(self) -> str:
        return (
            f"Lease {self.namespace}/{self.name}: {self.identity} could not renew it within "
            f"{self.renew_deadline:g}s and stopped leading"
        )
