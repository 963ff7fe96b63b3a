"""``--shards auto``: every live replica acts on its share of the Canaries, and only on it.

Membership comes from :class:`~serinus.kube.membership.Membership` (one Lease per replica). The
share is rendezvous hashing (:func:`owner`), a consistent hash: a Canary goes to the member with
the highest hash of (member, Canary), so a replica joining or leaving moves only the Canaries it
takes or leaves, about 1/n of them.

The hand-over keeps "exactly one replica acts on a Canary at any moment" without a lock per
Canary. :func:`coordinate` runs every half second on each replica:

1. when the live members it sees change, it first lets go of every Canary (ticks in flight
   finish and write their status), then publishes the new view in its Lease;
2. it acts on its share of a view only once every live member publishes that same view, i.e. once
   every other replica has let go of what is no longer its own.

So two replicas never act on one Canary, and a Canary pauses for about two renewal periods (1-3
s) while the members change, then resumes from its status on its owner; no run restarts. A
replica SIGKILLed stops renewing: after ``lease_duration`` (8 s) the others count it dead, agree
on the new view within a renewal or two and start its Canaries within
:attr:`~serinus.operator.canaries.Canaries.TAKEOVER_SPREAD` seconds: about 12 s in all. A replica
cut off from the API server counts no member after ``renew_deadline`` (6 s), before the others
count it dead, and stops acting.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

from serinus.kube.membership import Membership
from serinus.operator.canaries import Canaries, Key

logger = logging.getLogger("serinus.operator")

CHECK_SECONDS = 0.5


def owner(key: Key, members: tuple[str, ...]) -> str | None:
    """The member that acts on ``key`` (rendezvous hashing); None without members."""
    best, chosen = b"", None
    for member in members:
        score = hashlib.blake2b(f"{member}\n{key[0]}/{key[1]}".encode(), digest_size=8).digest()
        if chosen is None or score > best:
            best, chosen = score, member
    return chosen


class Share:
    """Whether a Canary is ``me``'s in a view of ``members``: hashed once per Canary (every
    replica asks at every watch event of every Canary in the cluster)."""

    def __init__(self, members: tuple[str, ...], me: str) -> None:
        self.members, self.me = members, me
        self._owned: dict[Key, bool] = {}

    def __call__(self, key: Key) -> bool:
        owned = self._owned.get(key)
        if owned is None:
            owned = self._owned[key] = owner(key, self.members) == self.me
        return owned


async def coordinate(membership: Membership, canaries: Canaries) -> None:
    """Keep this replica's Canaries its share of an agreed view, for ever (module docstring)."""
    me = membership.identity
    acting: tuple[str, ...] | None = None
    await canaries.assign(lambda key: False)
    while True:
        view = membership.members
        if view != acting and acting is not None:
            logger.info("replicas changed (%s): letting go of every Canary", ", ".join(view) or "-")
            await canaries.assign(lambda key: False)
            acting = None
        membership.publish(view)
        if acting is None and view and membership.converged(view):
            mine = sum(1 for key in canaries.known if owner(key, view) == me)
            logger.info("acting on %d Canaries as %s, one of %d replicas", mine, me, len(view))
            await canaries.assign(Share(view, me))
            acting = view
        membership.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(membership.changed.wait(), CHECK_SECONDS)
