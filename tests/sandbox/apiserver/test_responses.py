"""Content negotiation: Table and aggregated-discovery Accept headers, boolean parameters.

Covers: kubectl's Table Accept (with and without v1beta1 fallbacks) is recognised, plain JSON is
not; the aggregated discovery version prefers v2, accepts v2beta1 alone, and is None for plain
JSON; query booleans follow Go's ParseBool.
"""

from __future__ import annotations

import pytest

from serinus.sandbox.apiserver.responses import aggregated_discovery, flag, wants_table

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
