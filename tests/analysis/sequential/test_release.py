"""One alpha per release: the shares of the judged tests add up to the release's alpha."""

from __future__ import annotations

import pytest

from serinus.analysis.sequential.release import Kind, shares
from serinus.errors import InvalidCanaryError


def test_shares_add_up_and_comparisons_weigh_more() -> None:
    tests = [Kind.COMPARISON, Kind.GUARD, Kind.COMPARISON, Kind.GUARD]
    split = shares(0.05, tests)
    assert sum(split) == pytest.approx(0.05)
    assert split == pytest.approx([0.0225, 0.0025, 0.0225, 0.0025])  # 9:1
    assert shares(0.05, [Kind.COMPARISON]) == [0.05]


def test_a_bad_alpha_is_refused() -> None:
    with pytest.raises(InvalidCanaryError, match="alpha: expected a probability"):
        shares(0.9, [Kind.COMPARISON])
