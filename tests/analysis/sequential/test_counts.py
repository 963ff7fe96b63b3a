"""The count judge: what it decides for error rates, and how it explains itself.

Covers: a zero-error primary against new canary errors is a regression; tiny samples and no
traffic are NOT_YET, never REGRESSION; a healthy canary on plenty of traffic is a clear pass and a
3x worse one rarely is (at most alpha of the runs); over whole simulated releases (the seed's
schedule, state carried from tick to tick as the controller will) A/A runs roll back in at most
alpha of the runs and the seed's 30 % fault is caught on its first tick; the state is JSON and
a lost state still gives valid verdicts; the reason sentence carries the numbers; the anytime
upper bound for zero events matches its closed form; bad config and impossible counts are
refused with the field named.
"""

from __future__ import annotations

import json
import math
import random

import pytest

from serinus.analysis.sequential.counts import (
    CountConfig,
    Counts,
    judge_counts,
    rate_upper_bound,
)
from serinus.analysis.sequential.decision import Outcome
from serinus.errors import InvalidCanaryError, MetricsError

DEFAULT = CountConfig()


def _poisson(rng: random.Random, mean: float) -> int:
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def test_zero_error_primary_against_new_canary_errors_is_a_regression() -> None:
    # Kayenta #426/#377: an all-zero baseline made Mann-Whitney pass. Here 8 canary errors on 5 %
    # of the traffic against none on the primary: under "no worse" each error lands on the canary
    # with probability 0.05, so 8 of 8 has likelihood ratio up to 20^8.
    decision = judge_counts(Counts(2_000, 8), Counts(38_000, 0), config=DEFAULT).decision
    assert decision.outcome is Outcome.REGRESSION
    assert decision.primary_rate == 0.0
    assert decision.ratio is None
    assert "primary has none" in decision.reason


@pytest.mark.parametrize(
    ("canary", "primary"),
    [
        (Counts(0, 0), Counts(0, 0)),
        (Counts(0, 0), Counts(5_000, 40)),
        (Counts(1, 1), Counts(1_000, 0)),
        (Counts(3, 1), Counts(100, 0)),
        (Counts(4, 4), Counts(10_000, 0)),
        (Counts(50, 1), Counts(50_000, 0)),
    ],
)
def test_tiny_samples_are_not_yet(canary: Counts, primary: Counts) -> None:
    decision = judge_counts(canary, primary, config=DEFAULT).decision
    assert decision.outcome is Outcome.NOT_YET
    assert decision.reason.endswith("not yet")


def test_no_traffic_is_not_yet_and_says_so() -> None:
    decision = judge_counts(Counts(0, 0), Counts(0, 0), config=DEFAULT).decision
    assert decision.outcome is Outcome.NOT_YET
    assert decision.reason == "no canary requests yet (0 primary requests): not yet"


def test_healthy_canary_on_plenty_of_traffic_is_a_clear_pass() -> None:
    decision = judge_counts(Counts(30_000, 150), Counts(30_000, 160), config=DEFAULT).decision
    assert decision.outcome is Outcome.NO_REGRESSION
    assert decision.ratio_upper is not None
    assert decision.ratio_upper < 2.0
    assert "an increase to 2.00x or more is ruled out" in decision.reason


def _release(rng: random.Random, *, canary_error: float, rps: float, fault_from: int = 1):
    """One release on the seed's schedule; yields the decision of every tick (state carried)."""
    state = None
    c_n = c_x = p_n = p_x = 0
    for k in range(1, 21):
        share = min(5 * k, 100) / 100
        n_c, n_p = _poisson(rng, rps * 10 * share), _poisson(rng, rps * 10 * (1 - share))
        rate = canary_error if k >= fault_from else 0.005
        c_n, p_n = c_n + n_c, p_n + n_p
        c_x += min(_poisson(rng, n_c * rate), n_c)
        p_x += min(_poisson(rng, n_p * 0.005), n_p)
        judgement = judge_counts(Counts(c_n, c_x), Counts(p_n, p_x), config=DEFAULT, state=state)
        state = json.loads(json.dumps(judgement.state))
        yield k, judgement.decision


def test_three_fold_worse_canary_is_rarely_a_clear_pass() -> None:
    # A 3x regression is beyond the 2x margin: "no regression" may be said in <= alpha of runs.
    rng = random.Random(3)
    passes = sum(
        any(
            d.outcome is Outcome.NO_REGRESSION
            for _, d in _release(rng, canary_error=0.015, rps=200)
        )
        for _ in range(300)
    )
    assert passes / 300 <= 0.05


def test_aa_releases_roll_back_at_most_alpha_of_the_time() -> None:
    rng = random.Random(1)
    rollbacks = sum(
        any(d.outcome is Outcome.REGRESSION for _, d in _release(rng, canary_error=0.005, rps=20))
        for _ in range(600)
    )
    assert rollbacks / 600 <= 0.05


def test_seed_fault_is_caught_on_its_first_tick() -> None:
    # The seed's story: 30 % errors from weight 15 on, 20 requests/s.
    rng = random.Random(2)
    first_tick = []
    for _ in range(100):
        for k, decision in _release(rng, canary_error=0.30, rps=20, fault_from=3):
            if decision.outcome is Outcome.REGRESSION:
                first_tick.append(k)
                break
    assert len(first_tick) == 100
    assert sum(k == 3 for k in first_tick) >= 90


def test_losing_the_state_still_gives_a_valid_verdict() -> None:
    with_state = judge_counts(Counts(600, 14), Counts(5_400, 27), config=DEFAULT)
    assert with_state.decision.outcome is Outcome.REGRESSION
    again = judge_counts(Counts(600, 14), Counts(5_400, 27), config=DEFAULT, state={"junk": 1})
    assert again.decision.outcome is Outcome.REGRESSION


def test_reason_carries_the_numbers() -> None:
    decision = judge_counts(Counts(3_412, 72), Counts(64_830, 311), config=DEFAULT).decision
    assert decision.outcome is Outcome.REGRESSION
    for text in ("2.11%", "0.48%", "3,412", "64,830", "4.40x higher", "1/alpha = 20"):
        assert text in decision.reason
    assert f"e-value {decision.e_value:.1e}" in decision.reason
    assert decision.reason.endswith(": regression")
    assert decision.canary_requests == 3_412
    assert decision.primary_events == 311


def test_absolute_margin_passes_a_clean_canary_and_gates_tiny_excesses() -> None:
    config = CountConfig(min_absolute_increase=0.002)
    clean = judge_counts(Counts(20_000, 0), Counts(20_000, 0), config=config).decision
    assert clean.outcome is Outcome.NO_REGRESSION
    # 6 errors in 60,000 against none: real, but 0.01 points is below the 0.2-point margin.
    tiny = judge_counts(Counts(60_000, 6), Counts(600_000, 0), config=config).decision
    assert tiny.outcome is Outcome.NOT_YET
    assert "below the smallest effect worth catching" in tiny.reason


def test_zero_event_upper_bound_matches_its_closed_form() -> None:
    # With no events the uniform-prior mixture is 1 / ((n + 1)(1 - p)^n); it reaches 1/alpha at
    # p = 1 - (alpha / (n + 1))^(1/n). For n = 1000, alpha = 0.05: 0.00991 (the fixed-sample
    # "rule of three" gives 0.003: the anytime bound pays for being valid at every look).
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
        judge_counts(Counts(-1, 0), Counts(10, 0), config=DEFAULT)
    with pytest.raises(MetricsError, match=r"primary.events"):
        judge_counts(Counts(10, 0), Counts(10, math.nan), config=DEFAULT)


def test_overwhelming_evidence_saturates_instead_of_overflowing() -> None:
    """A long run with a clear regression has an e-value beyond float range: it is inf, no crash."""
    from serinus.analysis.sequential import CountConfig, Counts, Outcome, judge_counts

    state = None
    for step in range(1, 60):
        judgement = judge_counts(
            Counts(20_000 * step, 6_000 * step),
            Counts(180_000 * step, 900 * step),
            config=CountConfig(),
            state=state,
        )
        state = judgement.state
    assert judgement.decision.outcome is Outcome.REGRESSION
    assert judgement.decision.e_value == float("inf")
