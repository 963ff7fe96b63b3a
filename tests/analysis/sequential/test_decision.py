"""How a decision's numbers read in its reason sentence.

Covers: rates as percentages, e-values and ratios at a readable precision, and the bounds phrase
with its real two-sided level (each side at 1 - alpha) and open sides.
"""

from __future__ import annotations

import math

from serinus.analysis.sequential.decision import bounds_text, level, number, percent


def test_rates_read_as_percentages() -> None:
    assert percent(0.021) == "2.10%"
    assert percent(None) == "n/a"


def test_numbers_keep_a_readable_precision() -> None:
    assert number(27.34) == "27.3"
    assert number(4.4) == "4.40"
    assert number(0.0413) == "0.041"
    assert number(1.3e19) == "1.3e+19"
    assert number(math.inf) == "inf"


def test_bounds_phrase_says_the_real_level() -> None:
    # Each side is the verdict's own test at alpha, so the pair holds with 1 - 2 alpha.
    assert level(0.05) == 0.9
    assert bounds_text(2.0, 9.51, 0.05) == "in [2.00x, 9.51x] (90% anytime-valid)"
    assert bounds_text(None, None, 0.0125) == "in [0, unbounded] (97.5% anytime-valid)"
