"""Reading a Canary tick after tick without parsing its unchanged spec again.

The operator reads every Canary at every tick, and its status changes at nearly every tick, but
its spec only when someone edits it. Parsing the spec is most of the cost of parsing a Canary
(every nested model runs :meth:`serinus.apis.base.ApiModel.check`), so :class:`SpecCache` keeps,
per Canary, the last spec that parsed together with its exact JSON bytes; when a manifest's spec
serializes to the same bytes, the parsed spec is handed to pydantic as it is, and only the
metadata and the status are parsed. Equal bytes mean equal JSON (the same keys, values and
types), so the result is the Canary a full parse gives; any edit, even one that only reorders
keys, changes the bytes and parses the whole Canary again at the next read. A spec that does not
parse is never held (its problems are found again at each read, as without the cache).

The spec held is shared by the Canaries read from it, so nothing may change a parsed spec in
place (nothing in serinus does: models are copied with ``model_copy``, and the controller and
routers only read the spec). A parsed spec weighs about 6 KB, 6 MB at 1,000 Canaries, so the
operator keeps only the last ``limit`` (least recently read out): enough for the ticks in flight,
whose status write reads the Canary again moments after the tick's first read, which is then
never parsed whole; :meth:`SpecCache.forget` drops a deleted Canary's entry.
"""

from __future__ import annotations

import collections
from typing import Any

import orjson

from serinus.apis.canary import Canary, CanarySpec
from serinus.apis.documents import Problem, parse_canary

Key = tuple[str, str]


class SpecCache:
    """The last parsed spec of each Canary, reused while its bytes are unchanged."""

    def __init__(self, limit: int | None = None) -> None:
        """``limit``: the most specs held (the least recently read go first); None: no limit."""
        self._limit = limit
        self._held: collections.OrderedDict[Key, tuple[bytes, CanarySpec]] = (
            collections.OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._held)

    def parse(self, manifest: dict[str, Any]) -> tuple[Canary | None, list[Problem]]:
        """What :func:`~serinus.apis.documents.parse_canary` returns for ``manifest``."""
        spec = manifest.get("spec")
        metadata = manifest.get("metadata")
        if not isinstance(spec, dict) or not isinstance(metadata, dict):
            return parse_canary(manifest)
        key = (str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))
        try:
            fingerprint = orjson.dumps(spec)
        except TypeError:  # an integer beyond 64 bits, say: parsed whole every time
            return parse_canary(manifest)
        held = self._held.get(key)
        if held is not None and held[0] == fingerprint:
            self._held.move_to_end(key)
            return parse_canary({**manifest, "spec": held[1]})
        canary, problems = parse_canary(manifest)
        if canary is None:
            self._held.pop(key, None)
        else:  # copied: orjson's bytes keep their whole write buffer
            self._held[key] = (memoryview(fingerprint).tobytes(), canary.spec)
            self._held.move_to_end(key)
            while self._limit is not None and len(self._held) > self._limit:
                self._held.popitem(last=False)
        return canary, problems

    def forget(self, namespace: str, name: str) -> None:
        """The Canary is gone."""
        self._held.pop((namespace, name), None)
