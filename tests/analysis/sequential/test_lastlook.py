"""The last look at promotion: one exact test over the whole release.

Covers: on healthy releases (independent errors, and per-second bursts with the burst correction
estimated from the primary's history as the controller does) the last look rolls back no more
than its alpha allows, on 2,000 simulated releases at 200 requests/s with a fixed seed and a
bound three standard errors above alpha (measured: 4.4 % and 0.8 % at alpha 5 %), while without
the burst correction bursts exceed that bound (21 %: the correction is what keeps it); it
catches a regression the sequential test at the same data does not; its stored intervals survive
a JSON round trip and stay bounded, with merged intervals giving nearly the same answer; the
p-value is exact (the brute-force tail of the binomials); its sentence names what it found and
ends with the verdict it gives.
"""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from serinus.analysis import sequential
from serinus.analysis.sequential import lastlook, release

SEQUENTIAL, LAST = release.split(0.0225)


def _release(
    rng: np.random.Generator, dispersion: sequential.Dispersion, *, burst: float | None
) -> sequential.Judgement:
    """A healthy release to weight 50 at 200 requests/s, 0.5 % errors: per-second error rates
    Beta(mean 0.5 %, concentration ``burst``) drawn for each side, or constant (None)."""
    intervals = []
    for weight in range(5, 55, 5):
        canary = rng.binomial(200, weight / 100, 10)
        primary = 200 - canary
        if burst is None:
            rate_c = rate_p = np.full(10, 0.005)
        else:
            rate_c, rate_p = rng.beta(0.005 * burst, 0.995 * burst, (2, 10))
        x_c, x_p = rng.binomial(canary, rate_c).sum(), rng.binomial(primary, rate_p).sum()
        intervals.append(
            sequential.Interval(
                sequential.Counts(float(canary.sum()), float(x_c)),
                sequential.Counts(float(primary.sum()), float(x_p)),
                10.0,
            )
        )
    config = sequential.CountConfig(alpha=SEQUENTIAL)
    return sequential.judge_counts(intervals, config=config, dispersion=dispersion)


def _history(rng: np.random.Generator, burst: float) -> sequential.Dispersion:
    """The primary's hour before the release, 10 s windows, as the controller reads it."""
    rates = rng.beta(0.005 * burst, 0.995 * burst, (360, 10))
    errors = rng.binomial(200, rates).sum(1)
    return sequential.estimate([(2000.0, float(e)) for e in errors], 10.0)


def _false_rollbacks(*, burst: float | None, corrected: bool, runs: int = 2000) -> float:
    rng = np.random.default_rng(20261206)
    alpha = 0.05  # a larger share than the seed's, so the bound below has power
    rolled = 0
    for _ in range(runs):
        dispersion = sequential.Dispersion()
        if burst is not None and corrected:
            dispersion = _history(rng, burst)
        judgement = _release(rng, dispersion, burst=burst)
        rolled += sequential.last_look(judgement.state, alpha=alpha).regression
    return rolled / runs


BOUND = 0.05 + 3 * math.sqrt(0.05 * 0.95 / 2000)  # 6.5 %: alpha plus three standard errors


def test_a_healthy_release_is_rolled_back_at_most_alpha_of_the_time() -> None:
    assert _false_rollbacks(burst=None, corrected=False) <= BOUND


def test_with_bursts_the_correction_from_the_history_keeps_the_last_look_within_alpha() -> None:
    assert _false_rollbacks(burst=20.0, corrected=True) <= BOUND


def test_without_the_burst_correction_bursts_break_the_bound() -> None:
    assert _false_rollbacks(burst=20.0, corrected=False) > BOUND


def _doubled_twice() -> sequential.Judgement:
    """Ten intervals at a 50/50 split: the canary fails 2 % of its requests, the primary 0.5 %."""
    intervals = [
        sequential.Interval(sequential.Counts(100, 2), sequential.Counts(100, i % 2), 10.0)
        for i in range(10)
    ]
    return sequential.judge_counts(intervals, config=sequential.CountConfig(alpha=SEQUENTIAL))


def test_it_catches_a_regression_the_sequential_test_does_not() -> None:
    judgement = _doubled_twice()
    assert judgement.decision.outcome is sequential.Outcome.NOT_YET
    finding = sequential.last_look(judgement.state, alpha=LAST)
    assert finding.regression
    assert finding.reason == (
        "last look before promotion, over the whole release: the canary had 20 of the 25 errors "
        "where its share of the traffic predicts 12.5; that many or more happen by chance with "
        "p = 0.002 <= alpha = 0.0135, so its rate is at least 1.31x the primary's: regression"
    )
    assert finding.lower == pytest.approx(1.31, abs=0.005)
    at_bound = lastlook.tail(lastlook.entries_from(judgement.state["intervals"]), finding.lower)
    assert at_bound.p_value == pytest.approx(LAST, rel=1e-3)  # the same test, shifted


def test_its_intervals_survive_a_json_round_trip() -> None:
    state = json.loads(json.dumps(_doubled_twice().state))
    again = sequential.last_look(state, alpha=LAST)
    assert again.look == sequential.last_look(_doubled_twice().state, alpha=LAST).look


def test_the_stored_intervals_stay_bounded_and_merging_keeps_the_answer() -> None:
    rng = random.Random(5)
    entries: list[lastlook.Entry] = []
    full: list[lastlook.Entry] = []
    for i in range(300):
        n_c = 100 + (i // 30) * 10
        canary, primary = (n_c, rng.randrange(0, 4)), (400 - n_c, rng.randrange(0, 4))
        entries = lastlook.record(entries, canary, primary, 1.0)
        full.append([float(v) for v in (*canary, *primary)] + [1.0])
    assert len(entries) == lastlook.MAX_ENTRIES
    assert sum(e[1] for e in entries) == sum(e[1] for e in full)
    merged, exact = lastlook.tail(entries).p_value, lastlook.tail(full).p_value
    assert merged == pytest.approx(exact, rel=0.05)


def test_the_p_value_is_the_exact_tail_of_the_binomials() -> None:
    entries = [[30.0, 2.0, 70.0, 1.0, 1.0], [50.0, 3.0, 50.0, 2.0, 1.0]]
    exact = 0.0
    for a in range(4):
        for b in range(6):
            if a + b >= 5:
                exact += math.comb(3, a) * 0.3**a * 0.7 ** (3 - a) * math.comb(5, b) * 0.5**5
    assert lastlook.tail(entries).p_value == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("seed", range(40))
def test_the_sentence_ends_with_the_verdict_it_gives(seed: int) -> None:
    rng = random.Random(seed)
    intervals = [
        sequential.Interval(
            sequential.Counts(rng.randrange(0, 200), rng.randrange(0, 6)),
            sequential.Counts(rng.randrange(0, 200), rng.randrange(0, 6)),
            10.0,
        )
        for _ in range(rng.randrange(0, 12))
    ]
    state = sequential.judge_counts(intervals, config=sequential.CountConfig()).state
    finding = sequential.last_look(state, alpha=0.05)
    assert finding.reason.startswith("last look before promotion")
    assert finding.reason.endswith(": regression" if finding.regression else ": promote")
    assert ("<= alpha" in finding.reason) == finding.regression
