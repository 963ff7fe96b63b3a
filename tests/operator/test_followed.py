"""``Followed``: what the operator reads of a Canary's watch event, from its bytes or its document.

Covers: read from an informer's event (a ``Seen``: the bytes as sent), every field is what the
document gives (the reference the operator used before), for Canaries as users write them and
as malformed ones an API server may still hold (v1alpha3's ``canaryAnalysis``, both analyses, an
empty one, nulls, no status, a request annotation, a deletion with and without the finalizer);
an object not shaped as a Canary is read from its document.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from serinus.kube.watch import Seen, parse_seen
from serinus.operator.followed import Followed

CANARY: dict[str, Any] = {
    "apiVersion": "flagger.app/v1beta1",
    "kind": "Canary",
    "metadata": {
        "name": "podinfo",
        "namespace": "test",
        "resourceVersion": "41",
        "managedFields": [{"manager": "serinus", "operation": "Update"}],
    },
    "spec": {
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
        "analysis": {"interval": "15s", "threshold": 5, "metrics": [{"name": "x"}]},
    },
    "status": {"phase": "Progressing", "canaryWeight": 10},
}


def _with(**changes: Any) -> dict[str, Any]:
    obj = json.loads(json.dumps(CANARY))
    for path, value in changes.items():
        *parents, last = path.split("__")
        where = obj
        for parent in parents:
            where = where.setdefault(parent, {})
        if value is _DROP:
            where.pop(last, None)
        else:
            where[last] = value
    return obj


_DROP = object()

CASES = {
    "as written": _with(),
    "waiting": _with(status={"phase": "Waiting", "queued": "2026-12-07T06:00:00Z"}),
    "no status": _with(status=_DROP),
    "null status": _with(status=None),
    "v1alpha3": _with(spec__analysis=_DROP, spec__canaryAnalysis={"interval": "30s"}),
    "both analyses": _with(spec__canaryAnalysis={"interval": "30s"}),
    "empty analysis": _with(spec__analysis={}, spec__canaryAnalysis={"interval": "30s"}),
    "analysis without interval": _with(
        spec__analysis={"threshold": 2}, spec__canaryAnalysis={"interval": "30s"}
    ),
    "null analysis": _with(spec__analysis=None),
    "numeric interval": _with(spec__analysis={"interval": 30}),
    "no target": _with(spec__targetRef=_DROP),
    "no namespace": _with(metadata__namespace=_DROP),
    "request": _with(metadata__annotations={"serinus.io/request": "promote", "a": "b"}),
    "deleting": _with(metadata__deletionTimestamp="2026-12-07T06:00:00Z"),
    "deleting, finalizer": _with(
        metadata__deletionTimestamp="2026-12-07T06:00:00Z",
        metadata__finalizers=["finalizer.flagger.app"],
    ),
    "analysis an empty list": _with(spec__analysis=[]),
    "null metadata fields": _with(metadata__annotations=None, metadata__finalizers=None),
}


def _seen(obj: dict[str, Any]) -> Seen:
    line = json.dumps({"type": "MODIFIED", "object": obj}, separators=(",", ":"))
    _, seen = parse_seen(line.encode(), action="watch")
    assert isinstance(seen, Seen)
    return seen


@pytest.mark.parametrize("obj", CASES.values(), ids=CASES.keys())
def test_an_event_read_from_its_bytes_gives_what_its_document_gives(obj: dict[str, Any]) -> None:
    assert Followed.of(_seen(obj)) == Followed.of_manifest(obj)


def test_the_fields_read() -> None:
    followed = Followed.of(_seen(CASES["waiting"]))
    assert followed.key == ("test", "podinfo")
    assert (followed.phase, followed.queued) == ("Waiting", "2026-12-07T06:00:00Z")
    assert (followed.target, followed.interval) == ("podinfo", "15s")
    assert Followed.of(_seen(CASES["v1alpha3"])).interval == "30s"
    assert Followed.of(_seen(CASES["no namespace"])).key == ("default", "podinfo")
    assert Followed.of(_seen(CASES["request"])).request == "promote"
    deleting = Followed.of(_seen(CASES["deleting, finalizer"]))
    assert deleting.deleting
    assert deleting.finalizers == ("finalizer.flagger.app",)
