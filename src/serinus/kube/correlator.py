"""What becomes of each Event before it is sent: combined with similar ones, or held back.

Flagger records its Events through client-go's event recorder, whose correlator does two things
that every Flagger user sees in ``kubectl describe canary``, and that keep a busy controller from
flooding the API server and etcd with Events:

* **Similar events are combined.** Events about one object from one source with the same type
  and reason but different messages ("Advance podinfo.test canary weight 5", "... weight 10")
  are similar. Once :data:`SIMILAR` different messages have been seen within
  :data:`SIMILAR_WINDOW` seconds of each other, each further one is recorded on a single Event
  whose message is the newest one prefixed with :data:`COMBINED` and whose ``count`` grows.
* **Each object gets a budget.** Events about one object from one source spend a token bucket of
  :data:`BURST` tokens refilled at one every :data:`REFILL_SECONDS`; an Event (a new one or a
  count update) that finds the bucket empty is not sent. Nothing is lost from the operator's own
  record: every message is logged, goes to event webhooks and notifiers, and the run history
  keeps each step; an Event held back still counts, and the next one sent carries the count.

With a 10 s interval a long analysis records its first steps one by one, then one combined
Event, and after 25 writes about one Canary one Event write every five minutes: at 1,000
progressing Canaries that is ~3 Event writes a second instead of 100 (the figure in
``benchmarks/operator_scale.py``'s "requests per tick"). The numbers are client-go's defaults,
so a Flagger user switching to serinus sees the same Events.

Pure logic with the time passed in; :class:`serinus.kube.events.EventRecorder` applies it.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import TypeVar

BURST = 25
"""Event writes about one object a source may make at once (client-go's spam filter burst)."""
REFILL_SECONDS = 300.0
"""Seconds for one more write to become available (client-go: 1/300 per second)."""
SIMILAR = 10
"""Different messages of one kind of event on one object after which they are combined."""
SIMILAR_WINDOW = 600.0
"""Seconds within which similar events are counted together (the window moves with each)."""
COMBINED = "(combined from similar events): "
"""The prefix of a combined Event's message."""
REMEMBERED = 4096
"""Objects (and kinds of event) remembered, least recently used first out."""

V = TypeVar("V")

Source = tuple[str, ...]
"""An Event's source and the identity of the object it is about."""


@dataclasses.dataclass
class _Bucket:
    tokens: float
    at: float


@dataclasses.dataclass
class _Similar:
    messages: set[int]
    """The hashes of the different messages seen (a thousand Canaries' ten messages each would
    hold a megabyte and a half as text)."""
    last: float


class Correlator:
    """Combining and budgets, per source and object (see the module docstring)."""

    def __init__(
        self,
        *,
        burst: int = BURST,
        refill_seconds: float = REFILL_SECONDS,
        similar: int = SIMILAR,
        similar_window: float = SIMILAR_WINDOW,
        remembered: int = REMEMBERED,
    ) -> None:
        self._burst = burst
        self._refill = refill_seconds
        self._similar = similar
        self._window = similar_window
        self._limit = remembered
        self._buckets: collections.OrderedDict[Source, _Bucket] = collections.OrderedDict()
        self._kinds: collections.OrderedDict[Source, _Similar] = collections.OrderedDict()

    def combine(self, source: Source, kind: tuple[str, str], message: str, now: float) -> str:
        """The message to record: ``message``, or the combined form once it is one of many
        similar ones (``kind``: the Event's type and reason)."""
        key = (*source, *kind)
        similar = self._kinds.get(key)
        if similar is None or now - similar.last > self._window:
            similar = _Similar(set(), now)
        similar.messages.add(hash(message))
        similar.last = now
        _remember(self._kinds, key, similar, self._limit)
        if len(similar.messages) < self._similar:
            return message
        similar.messages.pop()  # the set stays at the threshold
        return f"{COMBINED}{message}"

    def allow(self, source: Source, now: float) -> bool:
        """Whether one more Event write about ``source`` may be sent now (it takes a token)."""
        bucket = self._buckets.get(source)
        if bucket is None:
            bucket = _Bucket(float(self._burst), now)
        else:
            refilled = (now - bucket.at) / self._refill if self._refill > 0 else self._burst
            bucket.tokens = min(float(self._burst), bucket.tokens + max(refilled, 0.0))
            bucket.at = now
        _remember(self._buckets, source, bucket, self._limit)
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True


def _remember(found: collections.OrderedDict[Source, V], key: Source, value: V, limit: int) -> None:
    found[key] = value
    found.move_to_end(key)
    while len(found) > limit:
        found.popitem(last=False)
