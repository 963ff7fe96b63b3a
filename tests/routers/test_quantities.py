"""Mesh weights as numbers and Kubernetes quantities, and as whole percentages.

Covers: integers, floats, plain and suffixed quantity strings parse exactly; negative, boolean
and malformed weights are errors naming the field; relative weights become percentages that add
up to 100 (rounded half up); a zero total is an error.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from serinus.routers.quantities import parse, percent


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10, Fraction(10)),
        ("100", Fraction(100)),
        ("900m", Fraction(9, 10)),
        (0.5, Fraction(1, 2)),
        ("1k", Fraction(1000)),
        ("1Ki", Fraction(1024)),
        (" 25 ", Fraction(25)),
    ],
)
def test_weights_parse_exactly(value: object, expected: Fraction) -> None:
    assert parse(value, field="w") == expected


@pytest.mark.parametrize("value", [-1, "-5", True, "ten", None, "10x", [10]])
def test_bad_weights_name_the_field(value: object) -> None:
    with pytest.raises(ValueError, match=r"^spec\.backends\[0\]\.weight: expected a non-negative"):
        parse(value, field="spec.backends[0].weight")


def test_percentages() -> None:
    assert percent(Fraction(1, 10), Fraction(1)) == 10
    assert percent(Fraction(1), Fraction(3)) == 33
    assert percent(Fraction(1), Fraction(8)) == 13  # 12.5 rounds up
    with pytest.raises(ValueError, match="positive"):
        percent(Fraction(0), Fraction(0))


def _exact_percent(part: Fraction, total: Fraction) -> int:
    return int(part * 100 / total + Fraction(1, 2))


def test_whole_weights_give_the_exact_percentage() -> None:
    """Whole weights take a shortcut in integers: the same rounding as in fractions."""
    for total in range(1, 260):
        for part in range(total + 1):
            assert percent(Fraction(part), Fraction(total)) == _exact_percent(
                Fraction(part), Fraction(total)
            )
    assert percent(Fraction(10**30), Fraction(3 * 10**30)) == 33
    assert percent(Fraction(1, 3), Fraction(2)) == _exact_percent(Fraction(1, 3), Fraction(2))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("007", Fraction(7)), ("0", Fraction(0)), ("\u0663", Fraction(3)), ("10\n", Fraction(10))],
)
def test_digit_strings_parse_as_the_quantity_grammar_reads_them(value: str, expected: Fraction):
    assert parse(value, field="w") == expected


@pytest.mark.parametrize("value", ["\u00b2", "1_000", "+-1"])
def test_digit_like_strings_that_are_no_quantity_are_errors(value: str) -> None:
    with pytest.raises(ValueError, match=r"^w: expected a non-negative"):
        parse(value, field="w")
