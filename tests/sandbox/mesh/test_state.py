"""The proxy's cluster cache.

Covers: apply, delete and replace keep the latest object per kind and key and bump the version
only on a real change, calling the change listener each time; an unknown kind is refused by name.
"""

from __future__ import annotations

import pytest

from serinus.sandbox.mesh.state import ClusterState
from tests.sandbox.mesh import manifests as m


def test_changes_are_kept_counted_and_reported() -> None:
    calls: list[int] = []
    state = ClusterState(lambda: calls.append(state.version))

    state.apply(m.service("a", "127.96.0.1"))
    state.apply(m.service("a", "127.96.0.2"))
    state.delete(m.service("a", ""))
    state.delete(m.service("a", ""))  # already gone: no change
    state.replace("Service", [m.service("b", "127.96.0.3")])
    state.replace("Service", [m.service("b", "127.96.0.3")])  # the same: no change

    assert calls == [1, 2, 3, 4]
    assert list(state.objects("Service")) == [("prod", "b")]


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match=r"kind: expected one of Service, .* got 'Secret'"):
        ClusterState().apply({"kind": "Secret", "metadata": {"name": "x"}})
