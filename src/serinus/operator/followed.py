"""What the operator reads of a Canary's watch event: :class:`Followed`.

With ``--shards auto`` every replica receives every Canary status write in the cluster (a
progressing Canary's, at each of its ticks), to know each Canary's phase (the queue of runs of
``--max-concurrent-runs``) and to take a dead replica's Canaries over. Of each event it needs a
handful of fields, so an informer's event (:class:`~serinus.kube.watch.Seen`) is read for those
alone, not decoded into the whole document (:meth:`Followed.of`); a document (the first list, a
watch of the operator's own) is read the same way (:meth:`Followed.of_manifest`), and that is
what the former gives for every Canary, or it falls back to the latter.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec

from serinus.apis.base import Manifest
from serinus.apis.control import ANNOTATION
from serinus.kube.watch import Seen, Watched


@dataclasses.dataclass(frozen=True, slots=True)
class Followed:
    """A Canary as its watch event shows it, for the scheduler and the queue of runs."""

    key: tuple[str, str]
    phase: str
    queued: Any
    deleting: bool
    finalizers: tuple[Any, ...]
    target: str
    interval: str
    request: Any

    @classmethod
    def of_manifest(cls, manifest: Manifest) -> Followed:
        meta = manifest.get("metadata") or {}
        status = manifest.get("status") or {}
        spec = manifest.get("spec") or {}
        analysis = spec.get("analysis") or spec.get("canaryAnalysis") or {}
        return cls(
            key=(str(meta.get("namespace") or "default"), str(meta.get("name") or "")),
            phase=str(status.get("phase") or ""),
            queued=status.get("queued"),
            deleting=bool(meta.get("deletionTimestamp")),
            finalizers=tuple(meta.get("finalizers") or []),
            target=str((spec.get("targetRef") or {}).get("name", "")),
            interval=str(analysis.get("interval") or "60s"),
            request=(meta.get("annotations") or {}).get(ANNOTATION),
        )

    @classmethod
    def of(cls, obj: Watched) -> Followed:
        """The fields of an event's object, read from its bytes when it has them."""
        if not isinstance(obj, Seen):
            return cls.of_manifest(obj)
        try:
            head = _CANARY.decode(obj.raw)
            meta, status, spec = head.metadata, head.status, head.spec
            analysis = _analysis(spec.analysis) or _analysis(spec.canaryAnalysis)
        except msgspec.ValidationError:  # not shaped as a Canary: read as the document is
            return cls.of_manifest(obj.manifest)
        return cls(
            key=(str(meta.namespace or "default"), str(meta.name or "")),
            phase=str(status.phase or ""),
            queued=status.queued,
            deleting=bool(meta.deletionTimestamp),
            finalizers=tuple(meta.finalizers or []),
            target=str(spec.targetRef.get("name", "")) if spec.targetRef else "",
            interval=str((analysis.interval if analysis else None) or "60s"),
            request=(meta.annotations or {}).get(ANNOTATION),
        )


class _Meta(msgspec.Struct):
    name: Any = None
    namespace: Any = None
    deletionTimestamp: Any = None
    finalizers: list[Any] | None = None
    annotations: dict[str, Any] | None = None


class _Status(msgspec.Struct):
    phase: Any = None
    queued: Any = None


class _Analysis(msgspec.Struct):
    interval: Any = None


class _Spec(msgspec.Struct):
    targetRef: dict[str, Any] | None = None
    analysis: msgspec.Raw | None = None
    canaryAnalysis: msgspec.Raw | None = None


class _Canary(msgspec.Struct):  # null for any of them: read as the document is
    metadata: _Meta = msgspec.field(default_factory=_Meta)
    status: _Status = msgspec.field(default_factory=_Status)
    spec: _Spec = msgspec.field(default_factory=_Spec)


_CANARY = msgspec.json.Decoder(_Canary)
_ANALYSIS = msgspec.json.Decoder(_Analysis | None)
_EMPTY = b" \t\r\n{}"


def _analysis(raw: msgspec.Raw | None) -> _Analysis | None:
    """An analysis as ``spec.get(...) or`` reads it: None when absent, null or empty."""
    if raw is None or not bytes(raw).strip(_EMPTY):
        return None
    return _ANALYSIS.decode(raw)
