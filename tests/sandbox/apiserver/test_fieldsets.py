"""managedFields sets by side-by-side walks give what path-by-path lookups give.

``fieldsets`` replaced building every leaf path of a write and looking each up again from the
object's root; these generated objects (maps, atomic lists, sets and keyed lists, with fields
added, removed and changed between two versions) check that the changed fields and the fields
of a ``fieldsV1`` tree that still exist are exactly the sets the plain definitions give.
"""

from __future__ import annotations

from typing import Any, Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from serinus.sandbox.apiserver import fieldsets
from serinus.sandbox.apiserver.apply import (
    Path,
    fields_of,
    from_fields_v1,
    lookup,
    to_fields_v1,
)


def rule(names: tuple[str, ...], items: list[Any]) -> tuple[str, ...] | Literal["set"] | None:
    field = names[-1] if names else ""
    if field == "items":
        return ("name",)
    if field == "tags":
        return "set"
    return None


def plain_changed(old: dict[str, Any], new: dict[str, Any]) -> set[Path]:
    """The definition: every path of ``new`` absent from ``old`` or with another value there."""
    changed = set()
    for path in fields_of(new, rule):
        found, before = lookup(old, path)
        if not found or before != lookup(new, path)[1]:
            changed.add(path)
    return changed


scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["a", "b"]))
keys = st.sampled_from(["spec", "x", "y", "z"])


def values(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return scalars
    inner = values(depth - 1)
    keyed = st.lists(st.fixed_dictionaries({"v": inner}, optional={"w": inner}), max_size=3).map(
        lambda items: [{"name": str(i), **item} for i, item in enumerate(items)]
    )
    return st.one_of(
        scalars,
        st.dictionaries(keys, inner, max_size=3),
        st.fixed_dictionaries({"items": keyed}),
        st.fixed_dictionaries({"tags": st.lists(st.sampled_from(["p", "q", "r"]), max_size=3)}),
        st.lists(scalars, max_size=2),
    )


objects = st.dictionaries(keys, values(3), max_size=3).map(
    lambda spec: {"apiVersion": "v1", "kind": "K", "metadata": {"name": "n"}, **spec}
)


@settings(max_examples=300, deadline=None)
@given(objects, objects)
def test_changed_fields_are_the_plain_definitions(old: dict[str, Any], new: Any) -> None:
    assert fieldsets.changed(old, new, rule) == plain_changed(old, new)
    assert fieldsets.changed(None, new, rule) == fields_of(new, rule)


@settings(max_examples=300, deadline=None)
@given(objects, objects)
def test_present_fields_are_the_ones_found(written: dict[str, Any], now: Any) -> None:
    tree = to_fields_v1(fields_of(written, rule))
    paths = from_fields_v1(tree)
    present, complete = fieldsets.present(tree, now)
    assert present == {path for path in paths if lookup(now, path)[0]}
    assert complete == (present == paths)
