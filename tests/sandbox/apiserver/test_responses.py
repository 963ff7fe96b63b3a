"""Content negotiation: Table and aggregated-discovery Accept headers, boolean parameters.

Covers: kubectl's Table Accept (with and without v1beta1 fallbacks) is recognised, plain JSON is
not; the aggregated discovery version prefers v2, accepts v2beta1 alone, and is None for plain
JSON; query booleans follow Go's ParseBool. Encoding writes exactly the standard library's
compact ASCII JSON, for random documents (any text, floats with NaN and infinities, integers
beyond 64 bits, non-string keys) and for the cases where orjson alone would differ.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serinus.sandbox.apiserver.responses import aggregated_discovery, encode, flag, wants_table

KUBECTL_TABLE = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
    "application/json"
)


def test_table_accept() -> None:
    assert wants_table(KUBECTL_TABLE)
    assert wants_table("application/json; as=Table; g=meta.k8s.io; v=v1")
    assert not wants_table("application/json, */*")
    assert not wants_table("")


def test_aggregated_discovery_accept() -> None:
    both = (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
    )
    assert aggregated_discovery(both) == "v2"
    assert (
        aggregated_discovery(
            "application/json;as=APIGroupDiscoveryList;v=v2beta1;g=apidiscovery.k8s.io"
        )
        == "v2beta1"
    )
    assert aggregated_discovery("application/json") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("1", True),
        ("True", True),
        ("t", True),
        ("false", False),
        ("yes", False),
        (None, False),
    ],
)
def test_flag(value: str | None, expected: bool) -> None:
    assert flag(value) is expected


def _standard(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "Canary", "spec": {"replicas": 2, "ports": [80, 443]}, "status": None},
        {"small": 1e-05, "large": 1e16, "plain": 99.5, "negative": -0.0},
        {"tiny": [2.5e-08, -7.5e-06, 0.0001, 5e-324], "text": "time-e-5 0.00001"},
        {"nan": float("nan"), "inf": float("-inf"), "why": None},
        {"text": 'caf\u00e9 \u2028 \x7f \x00 "quoted" \\ /', "emoji": "\U0001f600"},
        {"big": 2**64, "negative": -(2**63) - 1},
        {2: "int key", None: "none key", True: "bool key"},
        {"tuple": (1, [2, {"x": 3}]), "image": "app:1.0.0", "ip": "10.96.0.1,10.96.0.2"},
        {"embedded": '{"replicas":1.5,"ratio":[0.25]}'},
    ],
)
def test_encoding_is_the_standard_librarys(body: dict[Any, Any]) -> None:
    assert encode(body) == _standard(body)


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 4, max_value=2**65)
    | st.floats()
    | st.text()
)
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text() | st.integers(), _DOCUMENTS))
def test_random_documents_encode_as_the_standard_library_does(body: dict[Any, Any]) -> None:
    assert encode(body) == _standard(body)
