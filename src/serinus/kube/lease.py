"""What leader election and shard membership share about a ``coordination.k8s.io/v1`` Lease.

Both :mod:`serinus.kube.leader` (one Lease, one holder) and :mod:`serinus.kube.membership` (one
Lease per replica) keep a Lease alive by renewing it, with client-go's three durations:
:func:`check_timings` refuses durations that would let two replicas act at once, and
:func:`renewed` is the spec of one renewal (holder, advertised duration, renew time as a
Kubernetes MicroTime, :func:`micro_time`). What each does with the Lease (contend for it, or
publish a view beside it) stays in its own module.
"""

from __future__ import annotations

import datetime
import math

from serinus.apis.base import Manifest

API_VERSION = "coordination.k8s.io/v1"
KIND = "Lease"
_ORDER = "a Lease needs retry_period < renew_deadline < lease_duration"


def micro_time(moment: datetime.datetime) -> str:
    """A Kubernetes MicroTime: RFC 3339 with microseconds, UTC."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now() -> str:
    """The current time as a MicroTime."""
    return micro_time(datetime.datetime.now(datetime.UTC))


def check_timings(
    identity: str, lease_duration: float, renew_deadline: float, retry_period: float
) -> None:
    """Refuse an empty identity and durations out of order (ValueError naming the argument):
    ``renew_deadline < lease_duration`` is what makes a replica stop acting before any other
    may count its Lease expired."""
    if not identity:
        raise ValueError("identity: expected a non-empty name for this replica, found ''")
    if retry_period <= 0:
        raise ValueError(f"retry_period: expected seconds > 0, found {retry_period}")
    if renew_deadline <= retry_period:
        raise ValueError(
            f"renew_deadline: expected more than retry_period ({retry_period}s), "
            f"found {renew_deadline}s; {_ORDER}"
        )
    if lease_duration <= renew_deadline:
        raise ValueError(
            f"lease_duration: expected more than renew_deadline ({renew_deadline}s), "
            f"found {lease_duration}s; {_ORDER}"
        )


def renewed(spec: Manifest, identity: str, lease_duration: float, at: str) -> Manifest:
    """``spec`` renewed by ``identity`` at MicroTime ``at``."""
    return {
        **spec,
        "holderIdentity": identity,
        "leaseDurationSeconds": max(1, math.ceil(lease_duration)),
        "renewTime": at,
    }
