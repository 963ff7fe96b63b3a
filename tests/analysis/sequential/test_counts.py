"""The count judge: what it decides for error rates from intervals, and how it explains itself.

Covers: a zero-error primary against new canary errors is a regression; tiny samples and no
traffic are NOT_YET; a healthy canary on plenty of traffic is a clear pass; the dispersion from
the history is kept in the state and tempers later intervals; the state is JSON and the next tick
continues the same e-value; the reason carries the rates, the estimate inside its bounds, the
real two-sided level and the bar; bad config and impossible counts are refused with the field
named; overwhelming evidence saturates at infinity.
"""

from __future__ import annotations

import json
import math

import pytest

from serinus.analysis.sequential import Dispersion
from serinus.analysis.sequential.counts import (
    CountConfig,
    Counts,
    Interval,
    judge_counts,
    rate_upper_bound,
)
from serinus.analysis.sequential.decision import Outcome
from serinus.errors import InvalidCanaryError, MetricsError

DEFAULT = CountConfig()


def _one(canary: Counts, primary: Counts, config: CountConfig = DEFAULT, **kwargs):
    return judge_counts([Interval(canary, primary, 10.0)], config=config, **kwargs)


def test_zero_error_primary_against_new_canary_errors_is_a_regression() -> None:
    # Kayenta #426/#377: an all-zero baseline made Mann-Whitney pass. 8 canary errors on 5 % of
    # the traffic against none on the primary is a regression.
    decision = _one(Counts(2_000, 8), Counts(38_000, 0)).decision
    assert decision.outcome is Outcome.REGRESSION
    assert decision.primary_rate == 0.0
    assert decision.ratio_lower is not None
    assert decision.ratio_lower >= 1


@pytest.mark.parametrize(
    ("canary", "primary"),
    [
        (Counts(0, 0), Counts(0, 0)),
        (Counts(0, 0), Counts(5_000, 40)),
        (Counts(1, 1), Counts(1_000, 0)),
        (Counts(3, 1), Counts(100, 0)),
        (Counts(50, 1), Counts(50_000, 0)),
    ],
)
def test_tiny_samples_are_not_yet(canary: Counts, primary: Counts) -> None:
    decision = _one(canary, primary).decision
    assert decision.outcome is Outcome.NOT_YET
    assert decision.reason.endswith("not yet")


def test_no_traffic_is_not_yet_and_says_so() -> None:
    decision = judge_counts([], config=DEFAULT).decision
    assert decision.outcome is Outcome.NOT_YET
    assert decision.reason == "no canary requests yet (0 primary requests): not yet"


def test_healthy_canary_on_plenty_of_traffic_is_a_clear_pass() -> None:
    decision = _one(Counts(30_000, 150), Counts(30_000, 160)).decision
    assert decision.outcome is Outcome.NO_REGRESSION
    assert decision.ratio_upper is not None
    assert decision.ratio_upper <= 2.0
    assert "an increase to 2.00x or more is ruled out" in decision.reason


def test_the_dispersion_is_kept_and_tempers_later_intervals() -> None:
    bursty = Dispersion(beta=0.5)
    first = _one(Counts(500, 5), Counts(500, 2), dispersion=bursty)
    state = json.loads(json.dumps(first.state))
    assert state["dispersion"]["beta"] == 0.5
    # The next tick gets no dispersion argument: the stored one applies.
    later = _one(Counts(500, 12), Counts(500, 2), state=state)
    plain = _one(Counts(500, 12), Counts(500, 2), state=_one(Counts(500, 5), Counts(500, 2)).state)
    assert later.decision.e_value < plain.decision.e_value


def test_the_next_tick_continues_the_same_e_value() -> None:
    both = judge_counts(
        [
            Interval(Counts(100, 3), Counts(900, 4), 10),
            Interval(Counts(150, 5), Counts(850, 3), 10),
        ],
        config=DEFAULT,
    )
    first = _one(Counts(100, 3), Counts(900, 4))
    second = _one(Counts(150, 5), Counts(850, 3), state=json.loads(json.dumps(first.state)))
    assert second.decision.e_value == pytest.approx(both.decision.e_value)


def test_reason_carries_the_numbers_and_the_real_level() -> None:
    config = CountConfig(alpha=0.02)
    decision = _one(Counts(3_412, 72), Counts(64_830, 311), config).decision
    assert decision.outcome is Outcome.REGRESSION
    for text in ("2.11%", "0.48%", "3,412", "64,830", "1 interval:", "(96% anytime-valid)"):
        assert text in decision.reason
    assert "1/alpha = 50" in decision.reason
    assert decision.ratio is not None
    assert decision.ratio_lower is not None
    assert decision.ratio_lower <= decision.ratio <= (decision.ratio_upper or math.inf)
    assert decision.ratio_lower >= 1
    assert decision.level == pytest.approx(0.96)
    assert decision.reason.endswith(": regression")


def test_absolute_margin_passes_a_clean_canary_and_gates_tiny_excesses() -> None:
    config = CountConfig(min_absolute_increase=0.002)
    clean = _one(Counts(20_000, 0), Counts(20_000, 0), config).decision
    assert clean.outcome is Outcome.NO_REGRESSION
    tiny = _one(Counts(60_000, 6), Counts(600_000, 0), config).decision
    assert tiny.outcome is Outcome.NOT_YET
    assert "below the smallest effect worth catching" in tiny.reason


def test_zero_event_upper_bound_matches_its_closed_form() -> None:
    expected = 1 - (0.05 / 1001) ** (1 / 1000)
    assert rate_upper_bound(1000, 0, 0.05) == pytest.approx(expected, rel=1e-6)
    assert rate_upper_bound(0, 0, 0.05) == 1.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 0.9}, "alpha"),
        ({"min_relative_increase": 0.0}, "min_relative_increase"),
        ({"min_absolute_increase": 1.5}, "min_absolute_increase"),
        ({"min_events": 0}, "min_events"),
        ({"min_requests": 0}, "min_requests"),
    ],
)
def test_bad_config_names_the_field(kwargs, field) -> None:
    with pytest.raises(InvalidCanaryError, match=f"^{field}: expected"):
        CountConfig(**kwargs)


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(MetricsError, match=r"canary.requests: expected a count >= 0, got -1"):
        _one(Counts(-1, 0), Counts(10, 0))
    with pytest.raises(MetricsError, match=r"primary.events"):
        _one(Counts(10, 0), Counts(10, math.nan))


def test_overwhelming_evidence_saturates_instead_of_overflowing() -> None:
    state = None
    for _ in range(60):
        judgement = _one(Counts(20_000, 6_000), Counts(180_000, 900), state=state)
        state = judgement.state
    assert judgement.decision.outcome is Outcome.REGRESSION
    assert judgement.decision.e_value == math.inf
