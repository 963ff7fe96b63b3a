"""Lists and their pages: ``limit`` and ``continue`` as the real server serves them.

A list with ``limit`` ends its page with a ``continue`` token that carries the resourceVersion of
the first page and the last key served. Every later page is read from that version, a snapshot
(the store rebuilds it by undoing the changes logged since), so a paginated list is consistent:
an object created or deleted between two pages does not appear or vanish half way, and every page
reports the first page's resourceVersion. Once the snapshot's changes have left the store's log
(etcd's compaction on a real server), the token has expired: 410 ``Expired``, with a fresh token
in the Status's metadata that continues from the same key at the current version, as the real
server offers.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from serinus.sandbox.apiserver.cluster import Cluster
from serinus.sandbox.apiserver.objects import Obj, name_of, namespace_of
from serinus.sandbox.apiserver.queries import number
from serinus.sandbox.apiserver.resources import ResourceType
from serinus.sandbox.apiserver.selectors import FieldSelector, LabelSelector
from serinus.sandbox.apiserver.status import ApiError, bad_request
from serinus.sandbox.apiserver.store import ExpiredError

EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this response "
    "to retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list."
)


@dataclass(frozen=True)
class Position:
    """Where a continue token resumes: the snapshot's version and the last key served."""

    rv: int
    namespace: str
    name: str

    def token(self) -> str:
        marker = json.dumps([str(self.rv), self.namespace, self.name]).encode()
        return base64.urlsafe_b64encode(marker).decode()


def position(token: str) -> Position:
    """The position a ``continue`` token names; 400 when it is not one of ours."""
    try:
        rv, namespace, name = json.loads(base64.urlsafe_b64decode(token.encode()))
        return Position(int(rv), str(namespace), str(name))
    except (ValueError, TypeError, binascii.Error) as error:
        raise bad_request(f"invalid continue token: {error}") from error


@dataclass(frozen=True)
class Page:
    items: list[Obj]
    resource_version: str
    extra: Obj
    """``continue`` and ``remainingItemCount`` for the list's metadata, when more follow."""


def list_page(
    cluster: Cluster,
    resource: ResourceType,
    namespace: str | None,
    labels: LabelSelector,
    fields: FieldSelector,
    *,
    limit: str | None,
    token: str | None,
) -> Page:
    """One page of a list (all of it without ``limit``); its items are views of the stored
    objects (see ``Cluster.view``), to be encoded, never changed."""
    start = position(token) if token else None
    if start is None:
        rv = cluster.store.rv
        items = cluster.select(resource, namespace, labels, fields, copies=False)
    else:
        rv = start.rv
        try:
            items = cluster.select(resource, namespace, labels, fields, at=rv, copies=False)
        except ExpiredError:
            fresh = Position(cluster.store.rv, start.namespace, start.name)
            raise ApiError(410, "Expired", EXPIRED, metadata={"continue": fresh.token()}) from None
        after = (start.namespace, start.name)
        items = [item for item in items if (namespace_of(item), name_of(item)) > after]
    count = int(number(limit) or 0)
    if count <= 0 or len(items) <= count:
        return Page(items, str(rv), {})
    page, rest = items[:count], len(items) - count
    last = Position(rv, namespace_of(page[-1]), name_of(page[-1]))
    return Page(page, str(rv), {"continue": last.token(), "remainingItemCount": rest})
