"""The object helpers: the copier every write goes through.

Covers: a copy equals the original and shares no dict or list with it (a change to either side,
at any depth, leaves the other alone), for random JSON documents too; integers beyond 64 bits,
floats, booleans and None come through exactly; values that are not JSON (a tuple holding a
list) are still copied deeply; ``copy_value`` copies lists and scalars too. ``now`` is the
current second as the server writes timestamps.
"""

from __future__ import annotations

import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from serinus.sandbox.apiserver.objects import copy_value, deep_copy, format_time, now, parse_time
from tests.sandbox.apiserver.support import containers


def test_copy_is_independent_at_every_depth() -> None:
    original: dict[str, Any] = {
        "metadata": {"name": "a", "labels": {"app": "a"}, "finalizers": ["x"]},
        "spec": {"ports": [{"port": 80, "names": [["deep"]]}]},
    }
    copied = deep_copy(original)
    assert copied == original
    copied["metadata"]["labels"]["app"] = "b"
    copied["metadata"]["finalizers"].append("y")
    copied["spec"]["ports"][0]["names"][0].append("deeper")
    assert original["metadata"] == {"name": "a", "labels": {"app": "a"}, "finalizers": ["x"]}
    assert original["spec"]["ports"][0]["names"] == [["deep"]]
    original["spec"]["ports"][0]["port"] = 81
    assert copied["spec"]["ports"][0]["port"] == 80


def test_scalars_come_through_exactly() -> None:
    original = {"big": 2**70, "negative": -(2**80), "float": 0.1, "flag": False, "none": None}
    copied = deep_copy(original)
    assert copied == original
    assert [type(v) for v in copied.values()] == [int, int, float, bool, type(None)]


def test_values_that_are_not_json_are_copied_deeply() -> None:
    inner: list[int] = [1]
    copied = deep_copy({"pair": (inner, 2)})
    inner.append(2)
    assert copied == {"pair": ([1], 2)}


def test_any_value_is_copied() -> None:
    items: list[Any] = [{"a": [1]}, 2**65]
    copied = copy_value(items)
    items[0]["a"].append(2)
    assert copied == [{"a": [1]}, 2**65]
    text = "shared"
    assert copy_value(text) is text
    assert copy_value(None) is None


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(), _JSON))
def test_random_documents_copy_equal_and_unshared(original: dict[str, Any]) -> None:
    copied = deep_copy(original)
    assert copied == original
    originals = {id(c) for c in containers(original)}
    assert not originals & {id(c) for c in containers(copied)}


def test_now_is_the_current_second_in_rfc3339() -> None:
    before = datetime.datetime.now(tz=datetime.UTC).replace(microsecond=0)
    stamp = now()
    after = datetime.datetime.now(tz=datetime.UTC)
    moment = parse_time(stamp)
    assert moment is not None
    assert before <= moment <= after
    assert stamp == format_time(moment)
