"""The rate-ratio e-process against results worked out by hand and against simulation.

Covers: the likelihood ratio of one interval equals the closed form; intervals multiply (add in
log); intervals without events, or with traffic on one side only, carry no evidence; counts that
go down add nothing; the state survives a JSON round trip and malformed state is refused; under
A/A traffic the regression e-value crosses 1/alpha in at most alpha of the runs however often it
is looked at (Ville's inequality), while a 4x regression is caught; the confidence bounds cover
the true ratio; more canary events never lower the regression evidence.
"""

from __future__ import annotations

import json
import math
import random

import pytest

from serinus.analysis.sequential import evidence as ev


def _poisson(rng: random.Random, mean: float) -> int:
    """Poisson by inversion: exact for the small means these tests use."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _at(evidence: ev.Evidence, rho: float) -> float:
    return evidence.log_lr[evidence.grid.index(rho)]


def test_one_interval_matches_the_closed_form() -> None:
    # Equal traffic (s = 1/2) and all 3 errors on the canary:
    # L(rho) = rho^3 / ((1 + rho) / 2)^3 = (2 rho / (1 + rho))^3, so L(2) = (4/3)^3 = 64/27.
    e = ev.update(ev.start(), canary=(100, 3), primary=(100, 0))
    assert math.exp(_at(e, 2.0)) == pytest.approx(64 / 27)
    # And L(1/2) = (2/3)^3 = 8/27: the data speak against a better canary.
    assert math.exp(_at(e, 0.5)) == pytest.approx(8 / 27)
    assert _at(e, 1.0) == 0.0


def test_intervals_multiply() -> None:
    # Interval 1: s = 0.1, canary 1 of 2 errors. Interval 2: s = 0.5, canary 2 of 2.
    # L(4) = 4^1 / (1 + 3 * 0.1)^2 * 4^2 / (1 + 3 * 0.5)^2 = (4 / 1.69) * (16 / 6.25).
    e = ev.update(ev.start(), canary=(10, 1), primary=(90, 1))
    e = ev.update(e, canary=(60, 3), primary=(140, 1))
    assert math.exp(_at(e, 4.0)) == pytest.approx((4 / 1.69) * (16 / 6.25))
    assert e.intervals == 2
    assert e.seen == (60, 3, 140, 1)


@pytest.mark.parametrize(
    ("canary", "primary"),
    [((500, 0), (500, 0)), ((0, 0), (900, 7)), ((900, 7), (0, 0))],
    ids=["no-events", "no-canary-traffic", "no-primary-traffic"],
)
def test_intervals_without_information_leave_the_evidence_alone(canary, primary) -> None:
    e = ev.update(ev.start(), canary=canary, primary=primary)
    assert all(v == 0.0 for v in e.log_lr)
    assert ev.regression_e_value(e, 2.0) == pytest.approx(1.0)


def test_counts_that_go_down_add_nothing() -> None:
    e = ev.update(ev.start(), canary=(100, 5), primary=(900, 5))
    again = ev.update(e, canary=(98, 4), primary=(880, 5))
    assert again.log_lr == e.log_lr
    assert again.seen == (100, 5, 900, 5)


def test_state_round_trips_through_json_and_bad_state_is_refused() -> None:
    e = ev.update(ev.start(), canary=(100, 5), primary=(900, 5))
    stored = json.loads(json.dumps(e.to_dict()))
    restored = ev.restore(stored)
    assert restored is not None
    assert restored.seen == e.seen
    assert restored.log_lr == pytest.approx(e.log_lr)
    for broken in (
        {},
        {**stored, "version": 99},
        {**stored, "logLR": stored["logLR"][:-1]},
        {**stored, "seen": [1, 2, 3]},
        {**stored, "seen": [-1, 0, 0, 0]},
        {**stored, "grid": [1.0] * len(stored["grid"])},
    ):
        assert ev.restore(broken) is None


def _release(rng: random.Random, *, ratio: float, looks: int, rps: float = 20.0):
    """Evidence after each tick of the seed's schedule (weights 5 %, 10 %, ... 100 %)."""
    e = ev.start()
    c_n = c_x = p_n = p_x = 0
    base = 0.005
    for k in range(1, looks + 1):
        share = min(5 * k, 100) / 100
        n_c, n_p = round(rps * 10 * share), round(rps * 10 * (1 - share))
        c_n, p_n = c_n + n_c, p_n + n_p
        c_x += min(_poisson(rng, n_c * base * ratio), n_c)
        p_x += min(_poisson(rng, n_p * base), n_p)
        e = ev.update(e, canary=(c_n, c_x), primary=(p_n, p_x))
        yield e


def test_aa_false_alarms_stay_below_alpha_however_often_checked() -> None:
    # 1,500 A/A releases at 200 requests/s, looked at on all 30 ticks. A fixed-horizon test at
    # 5 % checked 30 times would alarm far more often; Ville's inequality says <= 5 %.
    # For contrast, the textbook fixed-horizon test (one-sided z-test of the canary's share of
    # the errors, 5 %) run at every look: repeated significance testing inflates its false
    # alarms (Armitage, McPherson & Rowe 1969), here to about 30 %.
    rng = random.Random(20220814)
    alarms = naive_alarms = 0
    for _ in range(1500):
        alarm = naive = False
        for e in _release(rng, ratio=1.0, looks=30, rps=200):
            alarm = alarm or ev.regression_e_value(e, 2.0) >= 20
            naive = naive or _z_score(e) > 1.645
        alarms += alarm
        naive_alarms += naive
    assert alarms / 1500 <= 0.05
    assert naive_alarms / 1500 >= 0.20


def _z_score(e: ev.Evidence) -> float:
    c_n, c_x, p_n, p_x = e.seen
    share, events = c_n / (c_n + p_n), c_x + p_x
    if events == 0:
        return 0.0
    return (c_x - events * share) / math.sqrt(events * share * (1 - share))


def test_a_four_fold_regression_is_caught() -> None:
    rng = random.Random(7)
    caught = sum(
        any(
            ev.regression_e_value(e, 2.0) >= 20 for e in _release(rng, ratio=4.0, looks=10, rps=200)
        )
        for _ in range(200)
    )
    assert caught / 200 >= 0.95


def test_confidence_bounds_cover_the_true_ratio_at_every_look() -> None:
    rng = random.Random(11)
    misses = 0
    for _ in range(300):
        for e in _release(rng, ratio=3.0, looks=20, rps=200):
            lower, upper = ev.confidence_bounds(e, 0.05)
            if (lower is not None and lower > 3.0) or (upper is not None and upper < 3.0):
                misses += 1
                break
    # Each side errs with probability <= 5 % over the whole run.
    assert misses / 300 <= 0.10


def test_more_canary_events_never_weaken_the_case_for_regression() -> None:
    previous_reg, previous_pass = 0.0, math.inf
    for canary_errors in range(30):
        e = ev.update(ev.start(), canary=(1000, canary_errors), primary=(9000, 45))
        reg, passing = ev.regression_e_value(e, 2.0), ev.pass_e_value(e, 2.0)
        assert reg >= previous_reg
        assert passing <= previous_pass
        previous_reg, previous_pass = reg, passing


def test_pass_e_value_grows_with_clean_traffic_and_bounds_narrow() -> None:
    e = ev.update(ev.start(), canary=(20_000, 100), primary=(20_000, 100))
    lower, upper = ev.confidence_bounds(e, 0.05)
    assert ev.pass_e_value(e, 2.0) >= 20
    assert lower is not None
    assert upper is not None
    assert lower < 1.0 < upper < 2.0
