"""Reading manifests: Kubernetes quantities as weights, integer weights, keys.

Covers: SMI weights in every shape they are written in (JSON numbers, integer strings,
milli-quantities, decimals, binary and decimal suffixes) parse exactly; bad values are refused
with the field named; fractional weights become integers in the same proportion; an object's key
defaults its namespace.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from serinus.sandbox.mesh.objects import integer_weights, key_of, parse_quantity


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10, Fraction(10)),
        ("10", Fraction(10)),
        ("900m", Fraction(9, 10)),
        ("0.5", Fraction(1, 2)),
        (0.25, Fraction(1, 4)),
        ("1k", Fraction(1000)),
        ("1Ki", Fraction(1024)),
        ("0", Fraction(0)),
    ],
)
def test_quantities_parse_exactly(value: object, expected: Fraction) -> None:
    assert parse_quantity(value, field="spec.backends[0].weight") == expected


@pytest.mark.parametrize("value", ["ten", "", None, True, "-5", -1, "5x", [5]])
def test_bad_quantities_are_refused_naming_the_field(value: object) -> None:
    with pytest.raises(ValueError, match=r"spec\.backends\[1\]\.weight"):
        parse_quantity(value, field="spec.backends[1].weight")


def test_fractional_weights_become_integers_in_proportion() -> None:
    assert integer_weights([Fraction(9, 10), Fraction(1, 10)]) == [9, 1]
    assert integer_weights([Fraction(1, 3), Fraction(1, 2)]) == [2, 3]
    assert integer_weights([Fraction(90), Fraction(10)]) == [90, 10]


def test_the_key_defaults_the_namespace() -> None:
    assert key_of({"metadata": {"name": "a"}}) == ("default", "a")
    assert key_of({"metadata": {"name": "a", "namespace": "prod"}}) == ("prod", "a")
