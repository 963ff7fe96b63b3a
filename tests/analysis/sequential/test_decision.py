"""How a decision's numbers read in its reason sentence.

Covers: rates as percentages, e-values and ratios at a readable precision (large ones in
scientific notation), "higher"/"lower"/undefined ratios, and the confidence-sequence phrase with
unbounded sides.
"""

from __future__ import annotations

import math

from serinus.analysis.sequential.decision import bounds_text, number, percent, times


def test_rates_read_as_percentages() -> None:
    assert percent(0.021) == "2.10%"
    assert percent(0.0) == "0.00%"
    assert percent(None) == "n/a"


def test_numbers_keep_a_readable_precision() -> None:
    assert number(27.34) == "27.3"
    assert number(4.4) == "4.40"
    assert number(0.0413) == "0.041"
    assert number(1.3e19) == "1.3e+19"
    assert number(math.inf) == "inf"


def test_ratios_say_which_way() -> None:
    assert times(4.4) == "4.40x higher"
    assert times(0.52) == "0.52x (lower)"
    assert times(None) == "primary has none, ratio undefined"


def test_bounds_phrase_shows_open_sides() -> None:
    assert bounds_text(2.0, 9.51, 0.05) == "ratio in [2.00x, 9.51x] (95% anytime-valid)"
    assert bounds_text(None, None, 0.01) == "ratio in [0, unbounded] (99% anytime-valid)"
